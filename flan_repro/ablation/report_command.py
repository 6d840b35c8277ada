"""Rebuild the reports of finished ablation runs and compare them side by side.

  flan-repro report runs/ablation_nli_toy [runs/ablation_nli_toy_seed1 ...]
"""
from __future__ import annotations


def add_arguments(p):
    p.add_argument("dirs", nargs="+", help="ablation output folders (with summary.json)")


def run(args) -> int:
    from flan_repro.ablation.report import compare
    print(compare(args.dirs))
    return 0
