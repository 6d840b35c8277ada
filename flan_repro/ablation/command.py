"""Run FLAN's instruction ablation for one held-out cluster, end to end.

  flan-repro ablation --cluster nli [--profile toy] [--shots 0] [--seeds 1] [--out DIR]
      [--data_dir ...]

Trains the instruction, no-template and dataset-name variants with the cluster held
out (from a shared base model), evaluates them and writes OUT/report.md, report.csv,
summary.json and figures/. Re-running skips finished stages.
"""
from __future__ import annotations


def add_arguments(p):
    p.add_argument("--cluster", required=True, help="held-out cluster, e.g. nli")
    p.add_argument("--profile", default="toy",
                   help="gin/ablation/<profile>.gin (toy, control, paper_t5_xl) or a .gin path")
    p.add_argument("--shots", type=int, default=0, help="exemplars for the tuned variants, in tuning "
                   "(the k-shot mixture: few-shot FLAN) and evaluation")
    p.add_argument("--out", default=None, help="output folder (default runs/ablation_<c>_<p>)")
    p.add_argument("--data_dir", default=None, help="toy | jsonl:DIR | TFDS data dir")
    p.add_argument("--seeds", type=int, default=1,
                   help="tune every variant with this many seeds (data order, dropout); the "
                        "report averages them and its intervals include their spread")


def run(args) -> int:
    from flan_repro.ablation import report, runner
    from flan_repro.ablation.profile import RunConfig
    s = runner.run_ablation(args.cluster, RunConfig.load(args.profile, args.data_dir),
                            args.shots, args.out, seeds=args.seeds)
    print(report.markdown(s))
    return 0
