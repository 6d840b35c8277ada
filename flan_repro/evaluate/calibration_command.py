"""Compare the calibration of two or more checkpoints on the same held-out examples.

  flan-repro calibration --checkpoint hf:/models/t5-v1_1-base \\
      --checkpoint hf:/models/flan-t5-base --vocabulary /models/flan-t5-base/spiece.model \\
      --cluster nli --datasets rte,cb --data_dir jsonl:/data/flan_jsonl --out results/cal

Each checkpoint is evaluated as `flan-repro eval` does (every template, zero-shot, its
files in OUT/models/<name>/), then ECE, MCE and Brier with 95% intervals and the paired
ECE difference of each model against the first (`evaluate.calibration_study`) go to
OUT/calibration.json, OUT/calibration.md and OUT/figures/calibration_<cluster>.png.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from flan_repro.registry.config import add_source_arguments, source_overrides


def add_arguments(p):
    p.add_argument("--checkpoint", action="append", required=True,
                   help="model dir | hf:DIR | t5x:DIR; give two or more, the first is the "
                        "reference (e.g. the untuned base)")
    p.add_argument("--name", action="append", default=None,
                   help="a name per checkpoint for the tables (default: its folder name)")
    p.add_argument("--cluster", required=True, help="held-out cluster, e.g. nli")
    p.add_argument("--datasets", default=None,
                   help="comma-separated subset of the cluster's reported datasets")
    p.add_argument("--out", required=True, help="output folder")
    add_source_arguments(p)
    p.add_argument("--max_examples", type=int, default=None,
                   help="at most N examples per split and template (fast runs)")
    p.add_argument("--batch_size", type=int, default=16, help="examples per batch")
    p.add_argument("--max_input_length", type=int, default=1024,
                   help="inputs longer than this are trimmed at the start (tokens)")


def model_names(checkpoints: list[str], names: list[str] | None) -> list[str]:
    if names:
        if len(names) != len(checkpoints):
            raise ValueError(f"{len(names)} --name for {len(checkpoints)} --checkpoint; give "
                             f"one name per checkpoint or none")
        out = list(names)
    else:
        out = [os.path.basename(os.path.normpath(c.split(":", 1)[-1])) or c for c in checkpoints]
    if len(set(out)) != len(out):
        raise ValueError(f"model names {out} repeat; pass --name for each checkpoint")
    return out


def run(args) -> int:
    if len(args.checkpoint) < 2:
        raise ValueError("give at least two --checkpoint to compare (the first is the "
                         "reference)")
    names = model_names(args.checkpoint, args.name)
    from flan_repro.model.loading import check_checkpoint
    for c in args.checkpoint:
        check_checkpoint(c)                     # every typo fails before any work
    from flan_repro.evaluate import calibration_study
    from flan_repro.evaluate.runner import evaluate_cluster, write_json
    from flan_repro.registry import configure
    cfg = configure(**source_overrides(args))
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()] \
        if args.datasets else None
    out = Path(args.out)
    records = {}
    for name, ckpt in zip(names, args.checkpoint):
        r = evaluate_cluster(ckpt, args.cluster, "instruction", 0, out / "models" / name,
                             args.max_examples, datasets=datasets, registry=cfg,
                             batch_size=args.batch_size, max_input_length=args.max_input_length,
                             plots=False)
        records[name] = r["records"]
    s = calibration_study.study(records)
    s.update(cluster=args.cluster, checkpoints=dict(zip(names, args.checkpoint)))
    write_json(out / "calibration.json", s)
    md = [f"# Calibration: {args.cluster}", "",
          *[f"- `{n}`: {c}" for n, c in zip(names, args.checkpoint)], "",
          *calibration_study.markdown(s)]
    (out / "calibration.md").write_text("\n".join(md) + "\n")
    calibration_study.plot(out / "figures" / f"calibration_{args.cluster}.png", s,
                           f"{args.cluster}: calibration")
    print("\n".join(calibration_study.markdown(s)))
    print(f"wrote {out}")
    return 0
