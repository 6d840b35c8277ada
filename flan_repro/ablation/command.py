"""Run FLAN's instruction ablation for one held-out cluster, end to end.

  flan-repro ablation --cluster nli [--profile toy] [--shots 0] [--seeds 1] [--out DIR]
      [--data_dir ...] [--gin.BASE_CHECKPOINT=...] [--dry_run] [--distributed]

Trains the instruction, no-template and dataset-name variants with the cluster held
out (from a shared base model), evaluates them and writes OUT/report.md, report.csv,
summary.json and figures/. Re-running skips finished stages.

`--gin.NAME=VALUE` binds the profile's gin: its REQUIRED macros (the paper profiles'
`BASE_CHECKPOINT`) or an `AblationProfile.*` field. `--dry_run` prints the plan (stages,
steps, mixtures, evaluations, mesh, memory per device) and reads no data or weights.
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
    p.add_argument("--dry_run", action="store_true",
                   help="print the plan (stages, mixtures, evaluations, mesh, memory per "
                        "device) and run nothing; no data or weights are read")
    from flan_repro.train.dry_run import add_device_arguments    # imports no jax
    add_device_arguments(p)
    p.add_argument("--distributed", action="store_true",
                   help="call jax.distributed.initialize() first (every worker of a TPU pod "
                        "slice runs the same command)")


def run(args, unknown=()) -> int:
    from pathlib import Path
    from flan_repro.ablation.profile import RunConfig, profile_bindings
    from flan_repro.train.dry_run import check_device_arguments
    check_device_arguments(args)
    run_config = RunConfig.load(args.profile, args.data_dir, profile_bindings(unknown))
    if args.dry_run:
        from flan_repro.ablation import dry_run
        out = Path(args.out or f"runs/ablation_{args.cluster}_{run_config.profile.name}")
        print(dry_run.plan_text(args.cluster, run_config, args.shots, out, args.seeds,
                                args.device_memory, args.device_kind))
        return 0
    if args.distributed:
        import jax
        jax.distributed.initialize()
    from flan_repro.ablation import report, runner
    s = runner.run_ablation(args.cluster, run_config, args.shots, args.out, seeds=args.seeds)
    print(report.markdown(s))
    return 0
