"""Export a T5 checkpoint as a HuggingFace folder (config.json + model.safetensors).

  flan-repro export --checkpoint runs/ablation_nli_toy/models/instruction --out exported/
  flan-repro export --checkpoint t5x:/ckpts/flan_t5_xl --out flan_t5_xl_hf --dtype bfloat16

--checkpoint is anything `eval` loads (one of our model dirs, hf:DIR, t5x:DIR), so a
trained model reaches transformers (`T5ForConditionalGeneration.from_pretrained(OUT)`)
through the same loader the evaluator uses. Decoder-only models have no T5 equivalent
and are refused. An existing non-empty --out is refused unless --overwrite, which then
replaces only config.json and model.safetensors there. --dtype is that of the written
tensors and of config.json's `dtype`, which transformers 5 loads the model in by default.

Checkpoints are resolved and loaded by `model/loading.py`, as for eval and score; the
format itself is `model/hf_import.py`.
"""
from __future__ import annotations

import os
from pathlib import Path

DTYPES = ("float32", "bfloat16")


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="model dir | hf:DIR | t5x:DIR")
    p.add_argument("--out", required=True, help="folder to write the HuggingFace T5 into")
    p.add_argument("--dtype", default="float32", help=f"one of {', '.join(DTYPES)}")
    p.add_argument("--overwrite", action="store_true",
                   help="write into a non-empty --out (replaces config.json, model.safetensors)")


def check_out(out: str, checkpoint_path: str, overwrite: bool) -> None:
    """Refuses, before loading anything, an --out that would lose work."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ValueError(f"--out {out}: exists and is not a directory")
    if os.path.realpath(out) == os.path.realpath(checkpoint_path):
        raise ValueError(f"--out {out} is the checkpoint being exported; choose another folder")
    if p.is_dir() and any(p.iterdir()) and not overwrite:
        raise ValueError(f"--out {out}: directory is not empty (pass --overwrite to replace "
                         f"its config.json and model.safetensors)")


def run(args) -> int:
    if args.dtype not in DTYPES:
        raise ValueError(f"--dtype {args.dtype}: expected one of {', '.join(DTYPES)}")
    from flan_repro.model import loading as ck
    ref = ck.check_checkpoint(args.checkpoint)
    check_out(args.out, ref.path, args.overwrite)
    if ref.kind == "model_dir":   # hf: and t5x: load as T5 or not at all
        kind = ck.model_type(ck.model_config_from_gin(Path(ref.path) / "config.gin"))
        if kind != "encoder_decoder":   # known from config.gin, before reading any weights
            raise ValueError(f"checkpoint {ref.spec} is a decoder-only ({kind}) model: only "
                             f"T5 encoder-decoder models export to a HuggingFace T5")
    model = ck.load_checkpoint(ref)
    import ml_dtypes
    import numpy as np
    from flan_repro.model.hf_import import export_hf_t5
    dtype = np.float32 if args.dtype == "float32" else ml_dtypes.bfloat16
    export_hf_t5(model.params, model.config, args.out, dtype=dtype)
    print(f"exported {ref.spec} ({args.dtype}) -> {args.out}")
    return 0
