"""Packing efficiency: the share of non-padding tokens the model sees per batch.

Measured with the training input pipeline itself (flan_repro.train.input_pipeline:
DataConfig -> stream() -> packing_efficiency, the batches the trainer reads) on a
training mixture built from the toy source, at the toy profile's lengths (inputs 256 /
targets 64) and at FLAN's (inputs 1024 / targets 256), unpacked and packed by `packer`
("best_fit", the default, or "seqio" for seqio's next-fit packer).
"""
from __future__ import annotations

import time

import numpy as np

TOY_LENGTHS = (256, 64)
FLAN_LENGTHS = (1024, 256)


def bench_packing(mixture: str = "flan_heldout_nli_instruction", *, num_batches: int = 20,
                  batch_size: int = 8, lengths=(("toy", TOY_LENGTHS), ("flan", FLAN_LENGTHS)),
                  toy_train_size: int = 200, toy_eval_size: int = 20, seed: int = 0,
                  packer: str = "best_fit") -> dict:
    """{"mixture", "num_batches", "batch_size", "rows": [{profile, inputs_length,
    targets_length, pack, packer, inputs_efficiency, targets_efficiency,
    tokens_efficiency, examples_per_batch, seconds}]}; efficiencies are non-padding
    shares in [0, 1]."""
    from flan_repro.registry import configure
    from flan_repro.train import input_pipeline as ip
    configure(toy_train_size=toy_train_size, toy_eval_size=toy_eval_size)
    rows = []
    for profile, (inputs_length, targets_length) in lengths:
        for pack in (False, True):
            cfg = ip.DataConfig(mixture=mixture, inputs_length=inputs_length,
                                targets_length=targets_length, batch_size=batch_size,
                                pack=pack, seed=seed, packer=packer)
            t = time.perf_counter()
            got: dict[str, list] = {}
            for i, batch in enumerate(ip.stream(cfg)):
                if i == num_batches:
                    break
                for k, v in batch.items():
                    got.setdefault(k, []).append(v)
            arrays = {k: np.stack(v) for k, v in got.items()}
            eff = ip.packing_efficiency(arrays)
            enc, dec = arrays["encoder_input_tokens"], arrays["decoder_target_tokens"]
            tokens = float(((enc != 0).sum() + (dec != 0).sum()) / (enc.size + dec.size))
            if "encoder_segment_ids" in arrays:
                segs = arrays["encoder_segment_ids"]
                examples = float(np.mean([len(np.unique(row[row > 0])) for row in
                                          segs.reshape(-1, segs.shape[-1])])) * batch_size
            else:
                examples = float(batch_size)
            rows.append({"profile": profile, "inputs_length": inputs_length,
                         "targets_length": targets_length, "pack": pack,
                         "packer": packer if pack else None,
                         "inputs_efficiency": eff["encoder_input_tokens"],
                         "targets_efficiency": eff["decoder_target_tokens"],
                         "tokens_efficiency": tokens, "examples_per_batch": examples,
                         "batches": int(enc.shape[0]),
                         "seconds": time.perf_counter() - t})
    return {"mixture": mixture, "num_batches": num_batches, "batch_size": batch_size,
            "toy_train_size": toy_train_size, "rows": rows}
