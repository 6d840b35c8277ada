"""Run sets for the paper's figures over the same machinery as `make ablation`.

  FIGURE=8  role of instructions: the ablation with NLI, reading comprehension,
            closed-book QA and translation held out in turn, averaged over the four
            (tasks/clusters.yaml `role_of_instructions` says why four)
  FIGURE=5  every cluster held out in turn: base model vs instruction-tuned
  FIGURE=6  number of training clusters: 1..7 clusters in the paper's order, evaluated
            on NLI, closed-book QA and commonsense (held out from all of them)
  FIGURE=9  few-shot FLAN: per held-out cluster, instruction-tuned and evaluated zero-shot
            vs tuned and evaluated with k exemplars from train (k the recipe's max_shots),
            with the spread over templates that exemplars shrink
  FIGURE=10 prompt tuning from the untuned base and from FLAN (the dataset's cluster
            held out), 32 examples and all, per SuperGLUE dataset (`figure10.py`)

  flan-repro reproduce --figure 8 [--profile toy] [--out DIR] [--plan [--json]]
      [--gin.BASE_CHECKPOINT=...]   (the paper profiles' base model)

`--plan` prints the run set (held-out clusters, stages, variants, formats, shots, the
checkpoint each stage writes or scores, what is cached) and runs nothing; it is built by
the same planners the run executes (`runner.plan_ablation`, `plan_figure6`,
`figure10.plan_figure10`).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from flan_repro.ablation import figure10, runner
from flan_repro.ablation.profile import RunConfig, profile_bindings
from flan_repro.ablation.runner import Row, Stage
from flan_repro.catalogue import FORMATS, load

# the tuned variants each figure's per-cluster ablations train
ABLATION_FORMATS = {"8": FORMATS, "5": ("instruction",), "9": ("instruction",)}


def held_out_clusters(figure: str, run: RunConfig | None = None) -> tuple[str, ...]:
    """The clusters a figure holds out (declared in tasks/clusters.yaml; Fig. 10: the
    clusters of its datasets in `run`'s settings, each held out by the FLAN model whose
    prompt it tunes)."""
    cat = load()
    if figure == "10":
        settings, _ = figure10.load_settings(run.profile.name)
        datasets, _ = figure10.select_datasets(settings, cat)
        return tuple(dict.fromkeys(cat.dataset(d).cluster for d in datasets))
    return {"8": cat.role_of_instructions, "5": tuple(cat.clusters),
            "6": tuple(cat.cluster_count_ablation["held_out"]), "9": cat.few_shot_exemplars}[figure]


def ablation_runs(figure: str, run: RunConfig) -> dict[str, tuple[str, int]]:
    """A per-cluster figure's ablations, (held-out cluster, shots) by run name, which is
    also the run's folder. Fig. 9: each cluster zero-shot and k-shot, in folders of their
    own (each ablation writes one report)."""
    if figure == "9":
        k = run.registry.max_shots
        return {f"{c}_{s}shot": (c, s) for c in held_out_clusters(figure) for s in (0, k)}
    return {c: (c, 0) for c in held_out_clusters(figure)}


def plan_figure6(run: RunConfig, out: Path) -> dict[str, list[Stage]]:
    """Fig. 6's runs: per k, instruction-tune on the first k clusters of the paper's order
    (from the shared base), then evaluate every held-out cluster; nothing runs."""
    from flan_repro.registry.mixtures import MixtureName
    base, stages = runner.base_stages(run)
    plans = {}
    for k in range(1, len(load().cluster_count_ablation["order"]) + 1):
        name = f"clusters{k}"
        model = out / "models" / name
        mixture = str(MixtureName.cluster_count(k))
        stages.append(Stage(
            f"tune_{name}", f"tune instruction, {k} training cluster{'s' * (k > 1)}",
            lambda results, label, model=model, mixture=mixture: str(runner.train_model(
                model, mixture, run.profile.finetune_steps, run,
                [f"train.init_from = '{base}'"], label)),
            done=model / "DONE", steps=run.profile.finetune_steps, checkpoint=str(model),
            mixture=mixture))
        for c in held_out_clusters("6"):
            row_file = out / "eval" / "rows" / f"{name}_{c}.json"
            stages.append(Stage(
                f"eval_{name}_{c}", f"eval {k}-cluster model on {c}, instruction prompts",
                lambda results, label, f=row_file, m=model, c=c, n=name: runner.evaluate_row(
                    f, str(m), c, "instruction", 0, out / "eval" / n, run),
                done=row_file, row=Row(name, "instruction", "instruction", 0),
                checkpoint=str(model)))
        plans[name], stages = stages, []
    return plans


def plan(figure: str, run: RunConfig, out: Path) -> dict[str, list[Stage]]:
    """Every run of a figure, by name (the held-out cluster, or `clusters<k>` for Fig. 6),
    each as the list of stages it will execute. The shared base model's stage appears in
    every ablation's list (it runs once; later runs find it cached)."""
    if figure == "6":
        return plan_figure6(run, out)
    if figure == "10":
        settings, recipe = figure10.load_settings(run.profile.name)
        return {"figure10": figure10.plan_figure10(run, settings, recipe, out)[1]}
    return {name: runner.plan_ablation(c, run, shots, out / name, ABLATION_FORMATS[figure])
            for name, (c, shots) in ablation_runs(figure, run).items()}


def plan_json(figure: str, run: RunConfig, out: Path) -> dict:
    """`--plan --json`: {figure, clusters, runs: [one entry per run, with its stages]}."""
    def stage(st: Stage) -> dict:
        r = st.row
        return {"stage": st.name, "label": st.label,
                "kind": "train" if st.steps else "eval" if r else "report",
                "steps": st.steps, "mixture": st.mixture, "checkpoint": st.checkpoint,
                "cached": st.cached,
                "variant": r and r.variant, "train_format": r and r.train_format,
                "eval_format": r and r.eval_format, "shots": r and r.shots}
    return {"figure": figure, "profile": run.profile.name, "out": str(out),
            "clusters": list(held_out_clusters(figure, run)),
            "runs": [{"name": name, "out": str(out if figure in ("6", "10") else out / name),
                      "stages": [stage(st) for st in stages]}
                     for name, stages in plan(figure, run, out).items()]}


def plan_text(figure: str, run: RunConfig, out: Path) -> str:
    p = plan_json(figure, run, out)
    lines = [f"Figure {figure}, profile {p['profile']}, output {out}; held-out clusters: "
             + ", ".join(p["clusters"])]
    for r in p["runs"]:
        lines.append(f"{r['name']} -> {r['out']}")
        for i, st in enumerate(r["stages"], 1):
            steps = f": {st['steps']} steps" if st["steps"] else ""
            model = "  [" + " -> ".join(filter(None, (st["mixture"], st["checkpoint"]))) + "]" \
                if st["checkpoint"] else ""
            cached = "  cached" if st["cached"] else ""
            lines.append(f"  {i}. {st['label']}{steps}{model}{cached}")
    return "\n".join(lines)


def figure8(run: RunConfig, out: Path) -> str:
    from flan_repro.ablation.report import paper_numbers
    from flan_repro.ablation.runner import run_ablation
    clusters = held_out_clusters("8")
    sums = [run_ablation(c, run, out=out / c, formats=ABLATION_FORMATS["8"]) for c in clusters]
    lines = [f"Each row's cluster average per held-out cluster (translation: BLEU) and their "
             f"mean, the quantity of the paper's Fig. 8 ({len(clusters)} clusters).", "",
             "| row | paper (FLAN 137B) | " + " | ".join(clusters) + " | ours, mean |",
             "|" + "---|" * (len(clusters) + 3)]
    for p in paper_numbers()["role_of_instructions"]["rows"]:
        key = (p["train_format"], p["eval_format"])
        vals = [next(r["cluster_average"] for r in s["rows"]
                     if (r["train_format"], r["eval_format"]) == key and r["shots"] == 0)
                for s in sums]
        lines.append(f"| {p['name']} | {p['value']:.1f} | " +
                     " | ".join(f"{v:.1f}" for v in vals) +
                     f" | {statistics.fmean(vals):.1f} |")
    return _write(out, "figure8", lines)


def figure5(run: RunConfig, out: Path) -> str:
    from flan_repro.ablation.runner import run_ablation
    lines = ["| held-out cluster | untuned base | instruction-tuned |", "|---|---|---|"]
    for c in held_out_clusters("5"):
        s = run_ablation(c, run, out=out / c, formats=ABLATION_FORMATS["5"])
        avg = {r["variant"]: r["cluster_average"] for r in s["rows"]}
        lines.append(f"| {c} | {avg['base']:.1f} | {avg['instruction']:.1f} |")
    return _write(out, "figure5", lines)


def figure6(run: RunConfig, out: Path) -> str:
    held_out = held_out_clusters("6")
    runner.prepare(run)
    plans = plan_figure6(run, out)
    out.mkdir(parents=True, exist_ok=True)
    results = runner.run_stages([st for stages in plans.values() for st in stages], out)
    lines = ["| training clusters | " + " | ".join(held_out) + " | average |",
             "|" + "---|" * (len(held_out) + 2)]
    for k, name in enumerate(plans, 1):
        avgs = [results[f"eval_{name}_{c}"]["summary"]["mean"]["average"] for c in held_out]
        lines.append(f"| {k} | " + " | ".join(f"{a:.1f}" for a in avgs) +
                     f" | {statistics.fmean(avgs):.1f} |")
    return _write(out, "figure6", lines)


def figure9(run: RunConfig, out: Path) -> str:
    from flan_repro.ablation.runner import run_ablation
    k = run.registry.max_shots
    sums = {name: run_ablation(c, run, shots, out / name, ABLATION_FORMATS["9"])
            for name, (c, shots) in ablation_runs("9", run).items()}
    lines = [f"The FLAN row (instruction-tuned, instruction prompts) tuned and evaluated "
             f"zero-shot vs with {k} exemplars from train in tuning and evaluation: the "
             f"cluster average with its 95% interval (bootstrap over test examples; n per "
             f"dataset and template in brackets after it), then the std over templates "
             f"averaged over the cluster's datasets (the paper's Fig. 9: exemplars shrink "
             f"it).", "",
             f"| held-out cluster | zero-shot FLAN | few-shot FLAN ({k}-shot) |", "|---|---|---|"]
    for c in held_out_clusters("9"):
        cells = [figure9_cell(next(
            r for r in sums[f"{c}_{shots}shot"]["rows"]
            if (r["variant"], r["eval_format"]) == ("instruction", "instruction")))
            for shots in (0, k)]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return _write(out, "figure9", lines)


def figure9_cell(r: dict) -> str:
    """One report row as Fig. 9's cell: average [95% interval] (n), template std."""
    lo, hi = r["cluster_average_ci95"]
    ns = sorted({d["n"] for d in r["datasets"].values()})
    n = str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
    spread = statistics.fmean(d["std_over_templates"] for d in r["datasets"].values())
    left_out = f" (without {', '.join(r['zero_shot_only'])})" if r.get("zero_shot_only") else ""
    return f"{r['cluster_average']:.1f} [{lo:.1f}, {hi:.1f}] (n {n}); std {spread:.1f}{left_out}"


def _write(out: Path, name: str, lines: list[str]) -> str:
    text = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text + "\n")
    (out / f"{name}.json").write_text(json.dumps({"table": lines}))
    return text


FIGURES = {"8": figure8, "5": figure5, "6": figure6, "9": figure9, "10": figure10.figure10}


def add_arguments(p):
    p.add_argument("--figure", required=True, help=", ".join(FIGURES))
    p.add_argument("--profile", default="toy",
                   help="gin/ablation/<profile>.gin (toy, control, paper_t5_xl) or a .gin path")
    p.add_argument("--out", default=None)
    p.add_argument("--plan", action="store_true",
                   help="print the run set (clusters, stages, formats, shots, checkpoints) "
                        "and run nothing")
    p.add_argument("--json", action="store_true", help="with --plan: print it as JSON")


def run(args, unknown=()) -> int:
    """Reproduce one of the paper's figures (8, 5, 6, 9 or 10) with a profile; `unknown`:
    the profile's `--gin.NAME=VALUE` bindings (the paper profiles' BASE_CHECKPOINT)."""
    if args.figure not in FIGURES:
        raise ValueError(f"unknown figure {args.figure!r}; valid: {', '.join(FIGURES)}")
    if args.json and not args.plan:
        raise ValueError("--json prints the plan: use it with --plan")
    run = RunConfig.load(args.profile, bindings=profile_bindings(unknown))
    out = Path(args.out or f"runs/figure{args.figure}_{run.profile.name}")
    if args.plan:
        print(json.dumps(plan_json(args.figure, run, out), indent=1) if args.json
              else plan_text(args.figure, run, out))
        return 0
    print(FIGURES[args.figure](run, out))
    return 0
