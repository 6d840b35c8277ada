"""Inspect the catalogue, render a dataset's examples, or show a mixture's composition.

  flan-repro tasks --json
  flan-repro tasks --dataset rte --format instruction --split test --show 3 [--shots 2] [--json]
  flan-repro tasks --stats --cluster nli --format instruction
  flan-repro tasks --suite control --dataset animal_or_sport --format shuffled_instruction
  flan-repro tasks --dataset copa --format baseline --split test     # the untuned LM's prompts
"""
from __future__ import annotations

import json
import sys

from flan_repro.catalogue import DEFAULT_SUITE, EVAL_FORMATS, load
from flan_repro.registry.config import add_source_arguments, source_overrides


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--dataset", help="registry entry to render, e.g. rte, anli_r1")
    p.add_argument("--format", default="instruction", help=f"one of {', '.join(EVAL_FORMATS)}")
    p.add_argument("--split", default="validation",
                   help="train | validation | test (FLAN's splits), or raw:NAME for a source split")
    p.add_argument("--show", type=int, default=3, help="number of examples to render")
    p.add_argument("--shots", type=int, default=0, help="few-shot exemplars (0 to the recipe's max_shots)")
    p.add_argument("--template", type=int, default=None, help="fix one template index")
    p.add_argument("--stats", action="store_true", help="training mixture composition")
    p.add_argument("--cluster", help="held-out cluster for --stats")
    add_source_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--suite", default=DEFAULT_SUITE,
                   help="task suite: flan (tasks/) or control (tasks/control/, the positive "
                        "control)")


def catalogue_json(suite: str = DEFAULT_SUITE) -> dict:
    from flan_repro.prompts.templates import templates_for
    cat = load(suite)
    datasets = {}
    for name, spec in cat.datasets.items():
        templates = templates_for(spec)
        datasets[name] = {
            "paper_name": spec.paper_name, "cluster": spec.cluster, "tfds_name": spec.tfds_name,
            "tfds_version": spec.tfds_version, "splits": dict(spec.splits),
            "templates": len(templates),
            "inverted_templates": sum(t.turned_around for t in templates),
            "classification": spec.classification, "few_shot": spec.few_shot,
            "options": list(spec.options) if isinstance(spec.options, tuple) else spec.options,
            "metrics": list(spec.metrics)}
    return {
        "clusters": {c: list(s.datasets) for c, s in cat.clusters.items()},
        "datasets": datasets,
        "heldout": {c: {"excluded_clusters": cat.excluded_clusters(c),
                        "train_datasets": cat.train_datasets(c),
                        "eval_datasets": cat.eval_datasets(c)} for c in cat.clusters},
    }


def mixture_stats(cluster: str, fmt: str) -> list[dict]:
    """Per training dataset: its train size and mixing rate (from the source, as FLAN's
    rates are), and `empty_targets`, the examples left out of training because their
    target renders empty (`registry.examples.render_split`)."""
    from flan_repro.registry.config import current
    from flan_repro.registry.examples import empty_targets
    from flan_repro.registry.mixtures import mixing_rate
    cfg = current()
    cat = cfg.catalogue
    cat.check_format(fmt, training=True)
    rows = []
    for entry in cat.train_datasets(cluster):
        spec = cat.datasets[entry]
        rows.append({"dataset": entry, "cluster": spec.cluster,
                     "train_examples": cfg.source.num_examples(spec, "train"),
                     "empty_targets": empty_targets(cfg, entry, "train", fmt=fmt),
                     "rate": mixing_rate(entry)})
    total = sum(r["rate"] for r in rows) or 1.0
    for r in rows:
        r["share"] = r["rate"] / total
    return rows


def run(args) -> int:
    from flan_repro.registry import configure
    cat = configure(**source_overrides(args), seed=args.seed, suite=args.suite).catalogue
    if args.stats:
        if not args.cluster:
            raise ValueError("--stats needs --cluster (one of " + ", ".join(cat.clusters) + ")")
        cat.cluster(args.cluster)
        from flan_repro.registry.mixtures import MixtureName
        rows = mixture_stats(args.cluster, args.format)
        name = str(MixtureName.held_out(args.cluster, args.format))
        if args.json:
            print(json.dumps({"mixture": name,
                              "excluded_clusters": cat.excluded_clusters(args.cluster),
                              "datasets": rows}))
        else:
            print(f"{name}: {len(rows)} datasets; excluded "
                  f"clusters: {', '.join(cat.excluded_clusters(args.cluster))}")
            print(f"{'dataset':36s} {'cluster':40s} {'train':>7s} {'empty':>6s} {'rate':>6s} "
                  f"{'share':>6s}")
            for r in rows:
                print(f"{r['dataset']:36s} {r['cluster']:40s} {r['train_examples']:7d} "
                      f"{r['empty_targets']:6d} {r['rate']:6.0f} {100 * r['share']:5.1f}%")
            print(f"empty: train examples whose {args.format} target renders empty, left out "
                  f"of training ({sum(r['empty_targets'] for r in rows)} in all)")
        return 0
    if args.dataset:
        from flan_repro.registry import examples as ex_lib
        from flan_repro.registry.config import current
        cat.dataset(args.dataset)
        cat.check_format(args.format)
        records = ex_lib.render_split(current(), args.dataset, args.split, fmt=args.format,
                                      shots=args.shots, template=args.template)
        raws = ex_lib.converted(current(), args.dataset, args.split)
        for rec in records[: args.show]:
            if args.json:
                print(json.dumps({"inputs": rec["inputs"], "targets": rec["targets"],
                                  "options": rec["options"], "template": rec["template"],
                                  "shots": rec["shots"], "example": raws[rec["idx"]][0]},
                                 default=str))
            else:
                print(f"--- {args.dataset} [{args.split} #{rec['idx']}, template "
                      f"{rec['template']}, {rec['shots']} shots]\n{rec['inputs']}\n"
                      f">>> {rec['targets']}")
        return 0
    if args.json:
        print(json.dumps(catalogue_json(args.suite)))
        return 0
    for c, spec in cat.clusters.items():
        print(f"{c} ({spec.display_name}): {', '.join(spec.datasets)}")
    print(f"{len(cat.datasets)} registry entries, {len(cat.paper_datasets)} paper datasets, "
          f"{len(cat.clusters)} clusters", file=sys.stderr)
    return 0
