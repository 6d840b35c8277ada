"""Run sets for the paper's figures over the same machinery as `make ablation`.

  FIGURE=8  role of instructions: the ablation with NLI, reading comprehension and
            closed-book QA held out in turn, averaged over the three (the paper's Fig. 8)
  FIGURE=5  every cluster held out in turn: base model vs instruction-tuned
  FIGURE=6  number of training clusters: 1..7 clusters in the paper's order, evaluated
            on NLI, closed-book QA and commonsense (held out from all of them)
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from flan_repro.ablation.profile import RunConfig
from flan_repro.catalogue import load

FIG8_CLUSTERS = load().role_of_instructions     # tasks/clusters.yaml


def figure8(run: RunConfig, out: Path) -> str:
    from flan_repro.ablation.runner import run_ablation
    sums = [run_ablation(c, run, out=out / c) for c in FIG8_CLUSTERS]
    paper = {(p["train_format"], p["eval_format"]): p for p in
             sums[0]["paper"]["role_of_instructions"]["rows"]}
    lines = ["| row | paper (FLAN 137B) | ours, mean over " + ", ".join(FIG8_CLUSTERS) + " |",
             "|---|---|---|"]
    for key, p in paper.items():
        vals = [next(r["cluster_average"] for r in s["rows"]
                     if (r["train_format"], r["eval_format"]) == key and r["shots"] == 0)
                for s in sums]
        lines.append(f"| {p['name']} | {p['value']:.1f} | {statistics.fmean(vals):.1f} |")
    return _write(out, "figure8", lines)


def figure5(run: RunConfig, out: Path) -> str:
    from flan_repro.ablation.runner import run_ablation
    lines = ["| held-out cluster | untuned base | instruction-tuned |", "|---|---|---|"]
    for c in load().clusters:
        s = run_ablation(c, run, out=out / c, formats=("instruction",))
        avg = {r["variant"]: r["cluster_average"] for r in s["rows"]}
        lines.append(f"| {c} | {avg['base']:.1f} | {avg['instruction']:.1f} |")
    return _write(out, "figure5", lines)


def figure6(run: RunConfig, out: Path) -> str:
    from flan_repro.ablation import runner
    from flan_repro.registry.mixtures import MixtureName
    cat = load()
    runner.prepare(run)
    base = runner.base_model(run)
    held_out = cat.cluster_count_ablation["held_out"]
    lines = ["| training clusters | " + " | ".join(held_out) + " | average |",
             "|" + "---|" * (len(held_out) + 2)]
    for k in range(1, len(cat.cluster_count_ablation["order"]) + 1):
        model = runner.train_model(out / "models" / f"clusters{k}",
                                   str(MixtureName.cluster_count(k)), run.profile.finetune_steps,
                                   run, [f"train.init_from = '{base}'"])
        avgs = []
        for c in held_out:
            r = runner.evaluate_row(out / "eval" / "rows" / f"clusters{k}_{c}.json",
                                    str(model), c, "instruction", 0, out / "eval" / f"clusters{k}",
                                    run)
            avgs.append(r["summary"]["mean"]["average"])
        lines.append(f"| {k} | " + " | ".join(f"{a:.1f}" for a in avgs) +
                     f" | {statistics.fmean(avgs):.1f} |")
    return _write(out, "figure6", lines)


def _write(out: Path, name: str, lines: list[str]) -> str:
    text = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text + "\n")
    (out / f"{name}.json").write_text(json.dumps({"table": lines}))
    return text


FIGURES = {"8": figure8, "5": figure5, "6": figure6}


def add_arguments(p):
    p.add_argument("--figure", required=True, help="8, 5 or 6")
    p.add_argument("--profile", default="toy",
                   help="gin/ablation/<profile>.gin (toy, control, paper_t5_xl) or a .gin path")
    p.add_argument("--out", default=None)


def run(args) -> int:
    """Reproduce one of the paper's figures (8, 5 or 6) with a profile."""
    if args.figure not in FIGURES:
        raise ValueError(f"unknown figure {args.figure!r}; valid: {', '.join(FIGURES)}")
    run = RunConfig.load(args.profile)
    out = Path(args.out or f"runs/figure{args.figure}_{run.profile.name}")
    print(FIGURES[args.figure](run, out))
    return 0
