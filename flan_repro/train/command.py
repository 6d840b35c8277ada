"""Train a model on a mixture, configured by gin files and --gin.NAME=VALUE bindings.

  flan-repro train --gin_file=gin/train/toy.gin \\
      --gin.MIXTURE=flan_heldout_nli_instruction --gin.MODEL_DIR=runs/nli
  flan-repro train --gin_file=gin/train/toy.gin --dry_run      # shapes and memory only
  flan-repro train --gin_file=gin/train/paper_flan.gin --gin_file=gin/model/t5_1_1_xxl.gin \\
      --gin_file=gin/mesh/tpu_v4_64.gin --dry_run --device_kind tpu_v4   # does it fit?

Re-running the same command resumes from MODEL_DIR's latest checkpoint.
"""
from __future__ import annotations

import sys

from flan_repro.gin_config import gin_bindings, parse_gin


def add_arguments(p):
    p.add_argument("--gin_file", action="append", default=[], help="gin file(s), in order")
    p.add_argument("--dry_run", action="store_true",
                   help="build the model and the mesh abstractly (no devices needed); print "
                        "the parameter count and the memory per device")
    from flan_repro.train.dry_run import add_device_arguments    # imports no jax
    add_device_arguments(p)
    p.add_argument("--data_dir", default=None, help="toy | jsonl:DIR | TFDS data dir")
    p.add_argument("--coordinator", default=None,
                   help="host:port of process 0 for a multi-process run on CPU/GPU "
                        "(TPU pods find it themselves: pass --distributed)")
    p.add_argument("--num_processes", type=int, default=None)
    p.add_argument("--process_id", type=int, default=None)
    p.add_argument("--distributed", action="store_true",
                   help="call jax.distributed.initialize() with auto-detection (TPU pods)")


def run(args, unknown=()) -> int:
    import gin
    from flan_repro.train.dry_run import check_device_arguments
    check_device_arguments(args)
    if args.coordinator or args.distributed:
        import jax
        if args.coordinator:
            # CPU processes need gloo for cross-process collectives
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
            jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
        else:
            jax.distributed.initialize()
    parse_gin(args.gin_file, gin_bindings(list(unknown)))
    from flan_repro.registry.config import configure, configure_from_gin
    configure_from_gin()
    if args.data_dir:
        configure(data_dir=args.data_dir)
    from flan_repro.train import trainer
    if args.dry_run:
        from flan_repro.train.dry_run import dry_run
        print(dry_run(device_memory=args.device_memory, device_kind=args.device_kind))
        return 0
    try:
        result = trainer.train()
    except TypeError as e:
        if "gin.REQUIRED" in str(e) or "Required bindings" in str(e) or "REQUIRED" in str(e):
            raise ValueError(f"bad gin configuration: {str(e).splitlines()[0]}") from None
        raise
    print(f"trained {result.model_dir} to step {result.step}, loss {result.final_loss:.4f}"
          + (" (stopped by signal; re-run to resume)" if result.stopped_by_signal else ""))
    del gin
    return 0
