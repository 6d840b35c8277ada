"""Typed view of the catalogue YAML, with the held-out-cluster rules of FLAN.

Why a typed view: the YAML is the single source of truth, but every consumer
(tasks, mixtures, evaluator, report) needs the same validated facts, and an
error in the YAML should surface once, at load, naming the entry.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from pathlib import Path
from typing import Mapping, Sequence

import yaml

# The three prompt formats of the paper's Sec. 4.3 ablation: one parameter, three values.
FORMATS = ("instruction", "no_template", "dataset_name")


class UnknownNameError(ValueError):
    """A user-supplied name (cluster, dataset, format, field...) is not valid."""

    def __init__(self, kind: str, name: str, valid: Sequence[str], hint: str = ""):
        close = difflib.get_close_matches(str(name), list(valid), n=1)
        maybe = f" Did you mean {close[0]!r}?" if close else ""
        msg = (f"unknown {kind} {name!r}.{maybe} Valid {kind}s: {', '.join(sorted(valid))}."
               + (f" {hint}" if hint else ""))
        super().__init__(msg)
        self.kind, self.name, self.valid = kind, name, list(valid)


def tasks_dir() -> Path:
    """The `tasks/` data folder (override with FLAN_REPRO_TASKS_DIR)."""
    env = os.environ.get("FLAN_REPRO_TASKS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "tasks"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One registry entry (a TFDS builder config, as FLAN registers it)."""
    name: str
    paper_name: str
    cluster: str
    tfds_name: str
    tfds_version: str
    splits: Mapping[str, str]
    templates: str
    converter: str
    inputs: tuple[str, ...]
    target: str
    options: tuple[str, ...] | str | None   # fixed strings, "example", or None
    metrics: tuple[str, ...]
    languages: tuple[str, ...] = ()

    @property
    def classification(self) -> bool:
        return self.options is not None

    @property
    def fixed_options(self) -> tuple[str, ...] | None:
        return self.options if isinstance(self.options, tuple) else None


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    name: str
    display_name: str
    also_excludes: tuple[str, ...]
    reported: tuple[str, ...]          # filled with all entries when the YAML omits it
    datasets: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Catalogue:
    datasets: Mapping[str, DatasetSpec]
    clusters: Mapping[str, ClusterSpec]
    recipe: Mapping[str, int]
    cluster_count_ablation: Mapping
    template_count_ablation: tuple[int, ...]

    # ---------------------------------------------------------------- lookups
    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            raise UnknownNameError("dataset", name, self.datasets)
        return self.datasets[name]

    def cluster(self, name: str) -> ClusterSpec:
        if name not in self.clusters:
            raise UnknownNameError("cluster", name, self.clusters)
        return self.clusters[name]

    @property
    def paper_datasets(self) -> dict[str, list[str]]:
        """paper_name -> registry entries (ANLI -> [anli_r1, anli_r2, anli_r3], ...)."""
        out: dict[str, list[str]] = {}
        for spec in self.datasets.values():
            out.setdefault(spec.paper_name, []).append(spec.name)
        return out

    # ---------------------------------------------------------------- held-out rules
    def excluded_clusters(self, held_out_cluster: str) -> list[str]:
        """The held-out cluster plus the clusters FLAN drops with it (Sec. 2.3)."""
        spec = self.cluster(held_out_cluster)
        return [held_out_cluster, *[c for c in spec.also_excludes if c != held_out_cluster]]

    def train_datasets(self, held_out_cluster: str) -> list[str]:
        """Entries with a train split in every cluster not excluded by the held-out one."""
        excluded = set(self.excluded_clusters(held_out_cluster))
        return [d.name for d in self.datasets.values()
                if d.cluster not in excluded and "train" in d.splits]

    def eval_datasets(self, held_out_cluster: str) -> list[str]:
        return list(self.cluster(held_out_cluster).reported)

    def check_format(self, fmt: str) -> str:
        if fmt not in FORMATS:
            raise UnknownNameError("format", fmt, FORMATS)
        return fmt


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _parse_dataset(name: str, raw: Mapping, clusters: Mapping) -> DatasetSpec:
    required = ("paper_name", "cluster", "tfds_name", "tfds_version", "splits",
                "templates", "inputs", "target", "metrics")
    missing = [k for k in required if k not in raw]
    if missing:
        raise ValueError(f"tasks/catalogue.yaml: dataset {name!r} lacks {', '.join(missing)}")
    if raw["cluster"] not in clusters:
        raise UnknownNameError("cluster", raw["cluster"], clusters,
                               hint=f"(in tasks/catalogue.yaml, dataset {name!r})")
    bad_splits = set(raw["splits"]) - {"train", "validation", "test"}
    if bad_splits or "test" not in raw["splits"]:
        raise ValueError(f"tasks/catalogue.yaml: dataset {name!r} splits must be a subset of "
                         f"train/validation/test and include test; got {sorted(raw['splits'])}")
    options = raw.get("options")
    if isinstance(options, list):
        options = tuple(str(o) for o in options)
    elif options not in (None, "example"):
        raise ValueError(f"tasks/catalogue.yaml: dataset {name!r}: options must be a list "
                         f"or 'example', got {options!r}")
    return DatasetSpec(
        name=name, paper_name=str(raw["paper_name"]), cluster=raw["cluster"],
        tfds_name=raw["tfds_name"], tfds_version=str(raw["tfds_version"]),
        splits=dict(raw["splits"]), templates=raw["templates"],
        converter=raw.get("converter", raw["templates"]),
        inputs=_as_tuple(raw["inputs"]), target=raw["target"], options=options,
        metrics=_as_tuple(raw["metrics"]), languages=_as_tuple(raw.get("languages")))


@functools.lru_cache(maxsize=4)
def load(root: str | None = None) -> Catalogue:
    """Loads and validates `tasks/clusters.yaml` and `tasks/catalogue.yaml`."""
    base = Path(root) if root else tasks_dir()
    with open(base / "clusters.yaml") as f:
        cl = yaml.safe_load(f)
    with open(base / "catalogue.yaml") as f:
        cat = yaml.safe_load(f)
    raw_clusters = cl["clusters"]
    datasets = {n: _parse_dataset(n, r, raw_clusters) for n, r in cat["datasets"].items()}
    clusters = {}
    for cname, raw in raw_clusters.items():
        members = tuple(d.name for d in datasets.values() if d.cluster == cname)
        reported = _as_tuple(raw.get("reported")) or members
        for r in reported:
            if r not in members:
                raise ValueError(f"tasks/clusters.yaml: cluster {cname!r} reports {r!r}, "
                                 f"which is not one of its datasets {members}")
        for other in raw.get("also_excludes", []):
            if other not in raw_clusters:
                raise UnknownNameError("cluster", other, raw_clusters,
                                       hint=f"(in tasks/clusters.yaml, {cname}.also_excludes)")
        clusters[cname] = ClusterSpec(cname, raw["display_name"],
                                      _as_tuple(raw.get("also_excludes")), reported, members)
    return Catalogue(datasets=datasets, clusters=clusters, recipe=dict(cl["recipe"]),
                     cluster_count_ablation=cl["cluster_count_ablation"],
                     template_count_ablation=_as_tuple(cl["template_count_ablation"]))
