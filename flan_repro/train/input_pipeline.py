"""seqio mixture -> packed, batched numpy arrays, in a fixed order that survives restarts.

Why a batch store: the toy profile trains on 2 CPU cores, and a tf.data pipeline
rendering and tokenizing in background threads would compete with the train step for
them. So the batches of a run are produced once, written to one .npz file named by a
hash of everything that determines them, and read by step index. Resuming at step s
reads batch s: the data position needs no checkpointing of its own. Streaming
(`cache=False`) serves paper-scale runs, skipping `start_step` batches on resume.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np


@dataclasses.dataclass(frozen=True)
class DataConfig:
    mixture: str
    inputs_length: int = 256
    targets_length: int = 64
    batch_size: int = 32           # per host
    pack: bool = True
    seed: int = 0
    model_type: str = "encoder_decoder"     # or "prefix_lm"
    shard_index: int = 0
    num_shards: int = 1


def feature_converter(model_type: str, pack: bool):
    import seqio
    if model_type == "encoder_decoder":
        return seqio.EncDecFeatureConverter(pack=pack)
    if model_type == "prefix_lm":
        return seqio.PrefixLMFeatureConverter(pack=pack)
    raise ValueError(f"model_type must be 'encoder_decoder' or 'prefix_lm', got {model_type!r}")


def task_feature_lengths(cfg: DataConfig) -> dict:
    return {"inputs": cfg.inputs_length, "targets": cfg.targets_length}


def dataset(cfg: DataConfig, split: str = "train", num_epochs: int | None = None,
            shuffle: bool = True):
    import seqio
    from flan_repro.registry.mixtures import ensure_registered
    ensure_registered(cfg.mixture)
    return seqio.get_dataset(
        cfg.mixture, task_feature_lengths(cfg), feature_converter(cfg.model_type, cfg.pack),
        dataset_split=split, shuffle=shuffle, num_epochs=num_epochs, seed=cfg.seed,
        shard_info=seqio.ShardInfo(cfg.shard_index, cfg.num_shards),
        batch_size=cfg.batch_size, verbose=False)


def stream(cfg: DataConfig, start_step: int = 0) -> Iterator[dict]:
    """Endless batches from `start_step` on (same order on every run with the same seed)."""
    ds = dataset(cfg).skip(start_step)
    for batch in ds.as_numpy_iterator():
        yield batch


def cache_key(cfg: DataConfig, num_steps: int) -> str:
    from flan_repro.registry.config import current
    reg = current()
    blob = json.dumps({"data": dataclasses.asdict(cfg), "steps": num_steps,
                       "registry": {k: getattr(reg, k) for k in reg.__dataclass_fields__},
                       "vocab": str(getattr(reg.vocab, "sentencepiece_model_file", ""))},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class BatchStore:
    """All batches of a run, indexed by step; built once, atomically."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self.num_steps = len(next(iter(arrays.values())))

    def __getitem__(self, step: int) -> dict[str, np.ndarray]:
        return {k: v[step % self.num_steps] for k, v in self.arrays.items()}

    @classmethod
    def build(cls, cfg: DataConfig, num_steps: int, cache_dir: str | os.PathLike) -> "BatchStore":
        path = Path(cache_dir) / f"batches-{cache_key(cfg, num_steps)}.npz"
        if path.exists():
            with np.load(path) as z:
                return cls({k: z[k] for k in z.files})
        rows: dict[str, list] = {}
        for i, batch in enumerate(stream(cfg)):
            if i == num_steps:
                break
            for k, v in batch.items():
                rows.setdefault(k, []).append(v)
        arrays = {k: np.stack(v) for k, v in rows.items()}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
        return cls(arrays)


def packing_efficiency(batches: dict[str, np.ndarray]) -> dict[str, float]:
    """Share of non-padding tokens in the model's input and target arrays."""
    out = {}
    for key in ("encoder_input_tokens", "decoder_target_tokens"):
        if key in batches:
            out[key] = float(np.mean(batches[key] != 0))
    return out
