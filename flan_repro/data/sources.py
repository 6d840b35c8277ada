"""Example sources: real TFDS, TFDS-schema JSONL files, or the offline toy generators.

All three yield raw examples in the dataset's TFDS schema (decoded to Python), sliced
into FLAN's train / validation / test as `tasks/catalogue.yaml` says, train cut to its
first `recipe.max_train_examples` (`tasks/clusters.yaml`: 30k). Everything downstream
(converters, formats, seqio tasks) is the same whichever source is used, which is what
makes the toy profile a faithful rehearsal.

`--data_dir` values:  `toy` (default) | `toy:SEED` | `jsonl:DIR` | a TFDS data dir.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Mapping

import numpy as np

FLAN_SPLITS = ("train", "validation", "test")
_SLICE = re.compile(r"^([\w.-]+)(?:\[(-?\d*)(%?):(-?\d*)(%?)\])?$")


class DataNotFoundError(FileNotFoundError):
    """A dataset split is not available from the chosen source."""


def decode(value):
    """TFDS numpy example -> plain Python (bytes -> str, arrays -> lists)."""
    if isinstance(value, Mapping):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [decode(v) for v in value.tolist()] if value.ndim else decode(value.item())
    if isinstance(value, (list, tuple)):
        return [decode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def parse_split(spec: str) -> tuple[str, int | None, int | None, bool]:
    """'train[-200:]' -> ('train', -200, None, False); percent slices set the flag."""
    m = _SLICE.match(spec.replace(" ", ""))
    if not m:
        raise ValueError(f"split {spec!r} is not NAME or NAME[a:b] (TFDS slicing syntax)")
    name, a, pa, b, pb = m.groups()
    return name, int(a) if a not in (None, "") else None, int(b) if b not in (None, "") else None, \
        bool(pa or pb)


def slice_examples(examples: list, spec: str) -> list:
    _, a, b, percent = parse_split(spec)
    if percent:
        n = len(examples)
        a = None if a is None else int(round(a * n / 100))
        b = None if b is None else int(round(b * n / 100))
    return examples[a:b]


def resolve_split(ds_spec, split: str) -> str:
    """A FLAN split name -> its TFDS slice; `raw:NAME` (or any other name) is a TFDS split."""
    if split.startswith("raw:"):
        return split[len("raw:"):]
    if split in FLAN_SPLITS:
        if split not in ds_spec.splits:
            raise DataNotFoundError(
                f"dataset {ds_spec.name!r} has no {split!r} split in FLAN's recipe "
                f"(it has {', '.join(ds_spec.splits)})")
        return ds_spec.splits[split]
    return split


def max_train_examples(ds_spec) -> int:
    """The recipe's cut of every train split (FLAN: its first 30k examples)."""
    from flan_repro.catalogue import load
    return load(ds_spec.suite).recipe["max_train_examples"]


class Source:
    name = "source"

    def raw(self, ds_spec, tfds_split: str) -> list[dict]:
        raise NotImplementedError

    def examples(self, ds_spec, split: str) -> list[dict]:
        """Raw examples of a FLAN split (train/validation/test) or a raw TFDS split."""
        tfds_split = resolve_split(ds_spec, split)
        try:
            out = self.raw(ds_spec, tfds_split)
        except DataNotFoundError as e:
            if split not in FLAN_SPLITS or parse_split(tfds_split)[0] == split:
                raise
            # FLAN's split names mean other TFDS splits (RTE's "validation" is
            # train[-200:]); say so, and how to ask for the file by its own name.
            raise DataNotFoundError(
                f"{str(e).splitlines()[0]} FLAN's {split!r} split of {ds_spec.name} is "
                f"TFDS {tfds_split!r}; to use the TFDS split named {split!r} as it is, "
                f"pass --split raw:{split}.") from None
        return out[:max_train_examples(ds_spec)] if split == "train" else out

    def num_examples(self, ds_spec, split: str) -> int:
        return len(self.examples(ds_spec, split))


@dataclasses.dataclass(frozen=True)
class ToySource(Source):
    """Procedural examples in each dataset's TFDS schema; never touches the network.

    Each FLAN split is generated directly at its toy size (FLAN's absolute slices such
    as ParaCrawl's `train[30200:60200]` would otherwise force huge toy splits); the seed
    covers (builder, split), so train, dev and test never share generated examples.
    """
    train_size: int = 1000
    eval_size: int = 100
    seed: int = 0
    name = "toy"

    def raw(self, ds_spec, tfds_split: str) -> list[dict]:
        return self._generate(ds_spec.tfds_name, tfds_split, self.train_size)

    def examples(self, ds_spec, split: str) -> list[dict]:
        if split in FLAN_SPLITS:
            resolve_split(ds_spec, split)   # same error as real data for a missing split
            n = self.train_size if split == "train" else self.eval_size
            return self._generate(ds_spec.tfds_name, f"flan_{split}", n)
        return self._generate(ds_spec.tfds_name, resolve_split(ds_spec, split), self.eval_size)

    def num_examples(self, ds_spec, split: str) -> int:
        """Known without generating: the configured toy size."""
        if split in FLAN_SPLITS:
            resolve_split(ds_spec, split)
            return self.train_size if split == "train" else self.eval_size
        return self.eval_size

    @functools.lru_cache(maxsize=512)
    def _generate(self, tfds_name: str, split: str, n: int) -> list[dict]:
        from flan_repro.data.toy import toy_examples, toy_split_names
        base = parse_split(split)[0]
        raw_split = base if base in toy_split_names(tfds_name) else toy_split_names(tfds_name)[0]
        # The split label seeds the generator so flan_train / flan_validation differ.
        return toy_examples(tfds_name, raw_split, n, seed=hash_seed(self.seed, split))


def hash_seed(seed: int, split: str) -> int:
    import hashlib
    return int.from_bytes(hashlib.sha256(f"{seed}:{split}".encode()).digest()[:4], "little")


@dataclasses.dataclass(frozen=True)
class JsonlSource(Source):
    """`DIR/<tfds_name>/<split>.jsonl`, one TFDS-schema example a line (air-gapped data)."""
    root: str
    name = "jsonl"

    def path(self, tfds_name: str, split: str) -> Path:
        return Path(self.root) / tfds_name / f"{split}.jsonl"

    @functools.lru_cache(maxsize=256)
    def _read(self, tfds_name: str, split: str) -> list[dict]:
        path = self.path(tfds_name, split)
        if not path.exists():
            there = sorted(p.stem for p in path.parent.glob("*.jsonl")) if path.parent.exists() else []
            raise DataNotFoundError(
                f"{path} does not exist (dataset {tfds_name}, split {split!r}). "
                + (f"Splits present there: {', '.join(there)}." if there else
                   f"Write that split as TFDS-schema JSONL, one example a line."))
        out = []
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
        return out

    def raw(self, ds_spec, tfds_split: str) -> list[dict]:
        name = parse_split(tfds_split)[0]
        return slice_examples(self._read(ds_spec.tfds_name, name), tfds_split)

    def available_splits(self, tfds_name: str) -> list[str]:
        folder = Path(self.root) / tfds_name
        return sorted(p.stem for p in folder.glob("*.jsonl")) if folder.exists() else []


@dataclasses.dataclass(frozen=True)
class TfdsSource(Source):
    """Prepared TFDS datasets in `data_dir` (None: TFDS's default ~/tensorflow_datasets)."""
    data_dir: str | None = None
    name = "tfds"

    @functools.lru_cache(maxsize=128)
    def _builder(self, tfds_name: str, version: str):
        import tensorflow_datasets as tfds
        try:
            builder = tfds.builder(f"{tfds_name}:{version}", data_dir=self.data_dir, try_gcs=False)
        except Exception:   # version not known to this TFDS release: use its default
            builder = tfds.builder(tfds_name, data_dir=self.data_dir, try_gcs=False)
        if not builder.is_prepared():
            manual = " (it needs a manual download; see its TFDS catalogue page)" \
                if getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None) else ""
            raise DataNotFoundError(
                f"TFDS dataset {tfds_name} is not prepared in "
                f"{builder.data_dir_root if hasattr(builder, 'data_dir_root') else self.data_dir}"
                f"{manual}. Prepare it with: tfds build {tfds_name} "
                f"{'--data_dir ' + self.data_dir if self.data_dir else ''}".rstrip())
        return builder

    @functools.lru_cache(maxsize=256)
    def _load(self, tfds_name: str, version: str, tfds_split: str) -> list[dict]:
        import tensorflow_datasets as tfds
        ds = self._builder(tfds_name, version).as_dataset(split=tfds_split, shuffle_files=False)
        return [decode(ex) for ex in tfds.as_numpy(ds)]

    def raw(self, ds_spec, tfds_split: str) -> list[dict]:
        return self._load(ds_spec.tfds_name, ds_spec.tfds_version, tfds_split)

    def num_examples(self, ds_spec, split: str) -> int:
        """From the builder's metadata, without reading the data (for mixing rates)."""
        tfds_split = resolve_split(ds_spec, split)
        name, a, b, percent = parse_split(tfds_split)
        info = self._builder(ds_spec.tfds_name, ds_spec.tfds_version).info
        n = len(range(info.splits[name].num_examples)[
            slice(*(None if x is None else (int(round(x * info.splits[name].num_examples / 100))
                                            if percent else x) for x in (a, b)))])
        return min(n, max_train_examples(ds_spec)) if split == "train" else n


def from_data_dir(data_dir: str | None, toy_train_size: int = 1000,
                  toy_eval_size: int = 100) -> Source:
    """Parses a `--data_dir` value into a Source."""
    if data_dir in (None, "", "toy") or str(data_dir).startswith("toy:"):
        seed = int(str(data_dir).split(":", 1)[1]) if data_dir and ":" in str(data_dir) else 0
        return ToySource(toy_train_size, toy_eval_size, seed)
    if str(data_dir).startswith("jsonl:"):
        root = str(data_dir)[len("jsonl:"):]
        if not Path(root).is_dir():
            raise DataNotFoundError(f"--data_dir {data_dir}: {root} is not a folder "
                                    f"(expected DIR/<tfds_name>/<split>.jsonl)")
        return JsonlSource(root)
    return TfdsSource(str(data_dir))
