"""Evaluate a checkpoint on a held-out cluster: every dataset, every template, FLAN style.

  flan-repro eval --checkpoint runs/nli --cluster nli --format instruction --shots 0
  flan-repro eval --checkpoint hf:/models/flan-t5-small --vocabulary t5 --cluster nli \\
      --data_dir /data/tfds --out results/nli
  flan-repro eval --checkpoint runs/nli --cluster nli --max_examples 20   # quick look

A checkpoint is one of our model dirs (config.gin + checkpoints/), hf:DIR (a
HuggingFace T5 folder) or t5x:DIR (a t5x / orbax T5 checkpoint). Results go to
OUT/<dataset>/<format>_<k>shot.json (per-template metrics, mean and best-dev
aggregates, calibration, first predictions), a reliability diagram per
classification dataset, and OUT/<cluster>_<format>_<k>shot.json; OUT defaults to
MODEL_DIR/eval (our model dirs) or eval_results/<name> (hf:/t5x:).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from flan_repro.catalogue import DEFAULT_SUITE, EVAL_FORMATS
from flan_repro.registry.config import add_source_arguments, source_overrides


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="model dir | hf:DIR | t5x:DIR")
    p.add_argument("--cluster", required=True, help="held-out cluster, e.g. nli")
    p.add_argument("--format", default="instruction",
                   help=f"one of {', '.join(EVAL_FORMATS)}")
    p.add_argument("--shots", type=int, default=0, help="few-shot exemplars (0 to the recipe's max_shots)")
    p.add_argument("--out", default=None, help="output folder (see above for the default)")
    p.add_argument("--max_examples", type=int, default=None,
                   help="at most N examples per split and template (fast runs)")
    p.add_argument("--datasets", default=None,
                   help="comma-separated subset of the cluster's reported datasets")
    add_source_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="template draws and few-shot exemplars")
    p.add_argument("--suite", default=DEFAULT_SUITE,
                   help="task suite the cluster belongs to: flan, or control (the positive "
                        "control, tasks/control/)")
    p.add_argument("--batch_size", type=int, default=16, help="examples per batch")
    p.add_argument("--max_input_length", type=int, default=1024,
                   help="inputs longer than this are trimmed at the start (tokens)")
    p.add_argument("--max_decode_length", type=int, default=64,
                   help="generation tasks: at most this many tokens")
    p.add_argument("--length_normalized", action="store_true",
                   help="rank options by mean token log-prob instead of FLAN's sum")
    p.add_argument("--num_predictions", type=int, default=10,
                   help="predictions per template written to the JSON")
    p.add_argument("--no_plots", action="store_true", help="skip the reliability diagrams")
    p.add_argument("--json", action="store_true", help="print the cluster summary as JSON")


def default_out(checkpoint: str) -> Path:
    from flan_repro.model.loading import check_checkpoint
    ref = check_checkpoint(checkpoint)
    if ref.kind == "model_dir":
        return Path(ref.path) / "eval"
    return Path("eval_results") / os.path.basename(os.path.normpath(ref.path))


def run(args) -> int:
    from flan_repro.model.loading import check_checkpoint
    check_checkpoint(args.checkpoint)          # a typo fails here, before any data work
    from flan_repro.registry import configure
    from flan_repro.evaluate.runner import evaluate_cluster
    cfg = configure(**source_overrides(args), seed=args.seed, suite=args.suite)
    out = Path(args.out) if args.out else default_out(args.checkpoint)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()] \
        if args.datasets else None
    result = evaluate_cluster(
        args.checkpoint, args.cluster, args.format, args.shots, out, args.max_examples,
        datasets=datasets, registry=cfg, batch_size=args.batch_size,
        max_input_length=args.max_input_length, max_decode_length=args.max_decode_length,
        length_normalized=args.length_normalized, num_predictions=args.num_predictions,
        plots=not args.no_plots)
    if args.json:
        print(json.dumps({k: result[k] for k in ("cluster", "format", "shots", "checkpoint",
                                                 "datasets", "summary", "scores",
                                                 "calibration", "files")}))
        return 0
    print(f"{args.cluster} ({args.format}, {args.shots}-shot) {args.checkpoint}")
    print(f"{'dataset':34s} {'metric':10s} {'mean':>8s} {'best-dev':>8s} {'ECE':>6s}")
    for name in result["datasets"]:
        s, cal = result["scores"][name], result["calibration"].get(name)
        ece = f"{100 * cal['ece']:6.1f}" if cal else f"{'-':>6s}"
        print(f"{name:34s} {result['primary'][name]:10s} {s['mean']:8.2f} "
              f"{s['best_dev']:8.2f} {ece}")
    m, b = result["summary"]["mean"], result["summary"]["best_dev"]
    print(f"{'cluster average':34s} {'':10s} {m['average']:8.2f} {b['average']:8.2f}")
    print(f"wrote {out} ({result['elapsed_s']:.0f}s)")
    return 0
