"""Run FLAN's instruction ablation for one held-out cluster, end to end.

  flan-repro ablation --cluster nli [--profile toy] [--shots 0] [--out DIR] [--data_dir ...]

Trains the instruction, no-template and dataset-name variants with the cluster held
out (from a shared base model), evaluates them and writes OUT/report.md, report.csv,
summary.json and figures/. Re-running skips finished stages.
"""
from __future__ import annotations

import logging


def add_arguments(p):
    p.add_argument("--cluster", required=True, help="held-out cluster, e.g. nli")
    p.add_argument("--profile", default="toy", help="gin/ablation/<profile>.gin (toy, ci, ...)")
    p.add_argument("--shots", type=int, default=0, help="exemplars for the tuned rows")
    p.add_argument("--out", default=None, help="output folder (default runs/ablation_<c>_<p>)")
    p.add_argument("--data_dir", default=None, help="toy | jsonl:DIR | TFDS data dir")


def run(args) -> int:
    from flan_repro.ablation import report, runner
    from flan_repro.catalogue import load
    load().cluster(args.cluster)          # fail at once on a bad name
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("flan_repro").setLevel(logging.INFO)
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.WARNING)
    except ImportError:
        pass
    s = runner.run_ablation(args.cluster, args.profile, args.shots, args.out, args.data_dir)
    print(report.markdown(s))
    return 0
