"""Tune a soft prompt on one dataset in front of a frozen model, then evaluate it.

  flan-repro prompt-tune --checkpoint runs/base --dataset rte --prompt_length 10 \\
      --train_examples 32 --steps 200 --out runs/pt_rte_32
  flan-repro prompt-tune --checkpoint hf:/models/t5-base --vocabulary t5 --data_dir /tfds \\
      --gin_file gin/prompt_tuning/paper.gin --dataset rte --train_examples all --out OUT

The recipe comes from --gin_file (default gin/prompt_tuning/toy.gin); the flags below
override its fields. The model (a model dir, hf:DIR or t5x:DIR) is never updated or
copied: OUT gets prompt.npy, checkpoints/ (re-running the command resumes), the
evaluator's per-template JSON and per-example records, and results.json.
"""
from __future__ import annotations

import dataclasses

from flan_repro.catalogue import DEFAULT_SUITE
from flan_repro.registry.config import add_source_arguments, source_overrides

DEFAULT_GIN = "gin/prompt_tuning/toy.gin"


def _examples(value: str) -> int | None:
    if value == "all":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"--train_examples must be a number or 'all', got {value!r}") from None


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="model dir | hf:DIR | t5x:DIR")
    p.add_argument("--dataset", required=True, help="a reported dataset, e.g. rte")
    p.add_argument("--out", required=True, help="output folder (re-run to resume)")
    p.add_argument("--gin_file", default=DEFAULT_GIN, help="the prompt-tuning recipe")
    p.add_argument("--prompt_length", type=int, default=None, help="soft-prompt tokens L")
    p.add_argument("--train_examples", default=None, help="N train examples, or all")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps")
    p.add_argument("--lr", type=float, default=None, help="learning rate")
    p.add_argument("--seed", type=int, default=None,
                   help="prompt init, training-example draw and batch order")
    add_source_arguments(p)
    p.add_argument("--suite", default=DEFAULT_SUITE, help="task suite: flan or control")
    p.add_argument("--max_examples", type=int, default=None,
                   help="evaluation: at most N examples per split and template")
    p.add_argument("--batch_size", type=int, default=16, help="evaluation batch size")
    p.add_argument("--no_plots", action="store_true", help="skip the reliability diagram")


def run(args) -> int:
    from flan_repro.model.loading import check_checkpoint
    check_checkpoint(args.checkpoint)          # a typo fails here, before any data work
    from flan_repro.gin_config import parse_gin
    from flan_repro.prompt_tuning.run import prompt_tune
    from flan_repro.prompt_tuning.train import PromptTuningConfig
    from flan_repro.registry import configure
    parse_gin([args.gin_file], [])
    flags = {"prompt_length": args.prompt_length, "steps": args.steps,
             "learning_rate": args.lr, "seed": args.seed}
    recipe = dataclasses.replace(PromptTuningConfig(),
                                 **{k: v for k, v in flags.items() if v is not None})
    if args.train_examples is not None:
        recipe = dataclasses.replace(recipe, train_examples=_examples(args.train_examples))
    cfg = configure(**source_overrides(args), suite=args.suite)
    cfg.catalogue.dataset(args.dataset)        # an unknown name fails before the model loads
    out = prompt_tune(args.checkpoint, args.dataset, args.out, recipe, registry=cfg,
                      max_examples=args.max_examples, batch_size=args.batch_size,
                      plots=not args.no_plots)
    print(f"prompt-tuned {args.checkpoint} on {args.dataset}: {out['num_train_examples']} "
          f"examples, {out['steps']} steps, loss {out['final_loss']:.4f}")
    for name, e in out["entries"].items():
        print(f"{name}: {e['primary']} {e['score']['mean']:.2f} (mean over templates), "
              f"{e['score']['best_dev']:.2f} (best dev)")
    print(f"wrote {args.out} ({out['elapsed_s']:.0f}s)")
    return 0
