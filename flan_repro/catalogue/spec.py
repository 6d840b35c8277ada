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
# These are the formats a model is tuned with (one training mixture each).
FORMATS = ("instruction", "no_template", "dataset_name")
# Formats a model can also be evaluated with, never trained on: the instruction-tuned
# model under an instruction taken from another task (Webson & Pavlick 2022's negative
# control), and `baseline`, the continuation prompts the paper gives the untuned LM
# (GPT-3 style; `prompts/formats.py` says how each is rendered).
EVAL_FORMATS = FORMATS + ("shuffled_instruction", "baseline")

# Task suites: "flan" is `tasks/` (FLAN's clusters and datasets); every other suite is a
# folder `tasks/<suite>/` with the same files (clusters.yaml, catalogue.yaml, templates/),
# read by the same code, e.g. `tasks/control/`, the positive control.
DEFAULT_SUITE = "flan"


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


def suite_names() -> list[str]:
    return [DEFAULT_SUITE] + sorted(p.parent.name for p in tasks_dir().glob("*/catalogue.yaml"))


def suite_dir(suite: str = DEFAULT_SUITE) -> Path:
    """The folder holding a suite's clusters.yaml, catalogue.yaml and templates/."""
    if suite == DEFAULT_SUITE:
        return tasks_dir()
    folder = tasks_dir() / suite
    if suite in ("", ".", "..") or "/" in suite or not (folder / "catalogue.yaml").exists():
        raise UnknownNameError("suite", suite, suite_names(),
                               hint=f"(a suite is {tasks_dir()}/<suite>/catalogue.yaml)")
    return folder


@functools.lru_cache(maxsize=8)
def suite_digest(suite: str = DEFAULT_SUITE) -> str:
    """A digest of a suite's declarations (its YAML files and templates): caches of data
    rendered from a suite (the trainer's batch store) key on it, so an edited template or
    catalogue entry is never served from a stale cache."""
    import hashlib
    base = suite_dir(suite)
    h = hashlib.sha256()
    for f in sorted([*base.glob("*.yaml"), *(base / "templates").glob("*.yaml")]):
        h.update(str(f.relative_to(base)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


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
    converter: str | None                   # a function of converters.py, or None with `fields`
    inputs: tuple[str, ...]
    target: str
    options: tuple[str, ...] | str | None   # fixed strings, "example", or None
    metrics: tuple[str, ...]
    primary: str                            # the result key reported (tasks/metrics.yaml)
    fields: Mapping[str, str] | None = None  # template field -> raw field, instead of a converter
    languages: tuple[str, ...] = ()
    suite: str = DEFAULT_SUITE              # whose templates/ folder `templates` keys into

    @property
    def classification(self) -> bool:
        return self.options is not None

    @property
    def fixed_options(self) -> tuple[str, ...] | None:
        return self.options if isinstance(self.options, tuple) else None

    @property
    def few_shot(self) -> bool:
        """Whether k-shot prompts exist: their exemplars come from the train split only
        (FLAN's rule), never from the split being scored."""
        return "train" in self.splits


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
    role_of_instructions: tuple[str, ...] = ()   # Fig. 8's held-out clusters
    few_shot_exemplars: tuple[str, ...] = ()     # Fig. 9's held-out clusters
    suite: str = DEFAULT_SUITE

    # ---------------------------------------------------------------- lookups
    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            raise UnknownNameError("dataset", name, self.datasets,
                                   hint=self._other_suite_hint("datasets", name))
        return self.datasets[name]

    def cluster(self, name: str) -> ClusterSpec:
        if name not in self.clusters:
            raise UnknownNameError("cluster", name, self.clusters,
                                   hint=self._other_suite_hint("clusters", name))
        return self.clusters[name]

    def _other_suite_hint(self, kind: str, name: str) -> str:
        """Names are per suite: say so when the name belongs to another one."""
        others = [s for s in suite_names() if s != self.suite
                  and name in getattr(load(s), kind)]
        return (f"({name!r} belongs to suite {others[0]!r}: select it with --suite "
                f"{others[0]} (tasks, eval) or a profile of that suite (ablation))"
                if others else "")

    @property
    def paper_datasets(self) -> dict[str, list[str]]:
        """paper_name -> registry entries (ANLI -> [anli_r1, anli_r2, anli_r3], ...)."""
        out: dict[str, list[str]] = {}
        for spec in self.datasets.values():
            out.setdefault(spec.paper_name, []).append(spec.name)
        return out

    # ---------------------------------------------------------------- held-out rules
    def excluded_clusters(self, held_out_cluster: str) -> list[str]:
        """The held-out cluster plus the clusters FLAN drops with it (Sec. 2.2)."""
        spec = self.cluster(held_out_cluster)
        return [held_out_cluster, *[c for c in spec.also_excludes if c != held_out_cluster]]

    def train_datasets(self, held_out_cluster: str) -> list[str]:
        """Entries with a train split in every cluster not excluded by the held-out one."""
        excluded = set(self.excluded_clusters(held_out_cluster))
        return [d.name for d in self.datasets.values()
                if d.cluster not in excluded and "train" in d.splits]

    def eval_datasets(self, held_out_cluster: str, shots: int = 0) -> list[str]:
        """The reported entries; with shots > 0 only those with k-shot prompts (a train
        split to draw exemplars from), so a few-shot row never scores WSC273."""
        reported = self.cluster(held_out_cluster).reported
        return [d for d in reported if not shots or self.datasets[d].few_shot]

    def check_format(self, fmt: str, training: bool = False) -> str:
        """`training`: a format a model is tuned with (a mixture); otherwise any format a
        model can be evaluated with."""
        valid = FORMATS if training else EVAL_FORMATS
        if fmt not in valid:
            hint = (f"({fmt!r} is an evaluation-only format: no model is trained with it)"
                    if fmt in EVAL_FORMATS else "")
            raise UnknownNameError("training format" if training else "format", fmt, valid,
                                   hint=hint)
        return fmt


def _as_tuple(value) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _suite_label(suite: str) -> str:
    """How errors name a suite's folder: `tasks` or `tasks/control`."""
    return "tasks" if suite == DEFAULT_SUITE else f"tasks/{suite}"


DATASET_KEYS = ("paper_name", "cluster", "tfds_name", "tfds_version", "splits", "templates",
                "converter", "fields", "inputs", "target", "options", "metrics", "primary",
                "languages")
REQUIRED_DATASET_KEYS = ("paper_name", "cluster", "tfds_name", "tfds_version", "splits",
                         "templates", "inputs", "target", "metrics")
RECIPE_KEYS = ("max_train_examples", "mixing_rate_cap", "max_shots", "few_shot_input_budget")


def _check_keys(kind: str, given, valid: Sequence[str], where: str) -> None:
    for key in given:
        if key not in valid:
            raise UnknownNameError(kind, key, valid, hint=f"(in {where})")


def _converter_of(name: str, raw: Mapping, where: str) -> str | None:
    """The converter function's name, None for a dataset declared by a `fields` map."""
    from flan_repro.catalogue.converters import CONVERTERS
    if "fields" in raw:
        if "converter" in raw:
            raise ValueError(f"{where}: dataset {name!r} has both a converter and a fields "
                             f"map; a converter builds every field itself")
        if not isinstance(raw["fields"], Mapping) or not raw["fields"]:
            raise ValueError(f"{where}: dataset {name!r}: fields must map template fields "
                             f"to raw fields, got {raw['fields']!r}")
        return None
    converter = raw.get("converter", raw["templates"])
    if converter not in CONVERTERS:
        raise UnknownNameError("converter", converter, CONVERTERS,
                               hint=f"(in {where}, dataset {name!r}: a function of "
                                    f"flan_repro/catalogue/converters.py, or a `fields` map)")
    return converter


def _parse_dataset(name: str, raw: Mapping, clusters: Mapping, rules,
                   suite: str = DEFAULT_SUITE) -> DatasetSpec:
    where = f"{_suite_label(suite)}/catalogue.yaml"
    _check_keys("dataset field", raw, DATASET_KEYS, f"{where}, dataset {name!r}")
    missing = [k for k in REQUIRED_DATASET_KEYS if k not in raw]
    if missing:
        raise ValueError(f"{where}: dataset {name!r} lacks {', '.join(missing)}")
    if raw["cluster"] not in clusters:
        raise UnknownNameError("cluster", raw["cluster"], clusters,
                               hint=f"(in {where}, dataset {name!r})")
    bad_splits = set(raw["splits"]) - {"train", "validation", "test"}
    if bad_splits or "test" not in raw["splits"]:
        raise ValueError(f"{where}: dataset {name!r} splits must be a subset of "
                         f"train/validation/test and include test; got {sorted(raw['splits'])}")
    options = raw.get("options")
    if isinstance(options, list):
        options = tuple(str(o) for o in options)
    elif options not in (None, "example"):
        raise ValueError(f"{where}: dataset {name!r}: options must be a list "
                         f"or 'example', got {options!r}")
    metrics = _as_tuple(raw["metrics"])
    return DatasetSpec(
        name=name, paper_name=str(raw["paper_name"]), cluster=raw["cluster"],
        tfds_name=raw["tfds_name"], tfds_version=str(raw["tfds_version"]),
        splits=dict(raw["splits"]), templates=raw["templates"],
        converter=_converter_of(name, raw, where),
        fields=dict(raw["fields"]) if "fields" in raw else None,
        inputs=_as_tuple(raw["inputs"]), target=raw["target"], options=options,
        metrics=metrics, primary=rules.primary(metrics, raw.get("primary"),
                                               f"{where}, dataset {name!r}"),
        languages=_as_tuple(raw.get("languages")), suite=suite)


def _parse_recipe(raw: Mapping, where: str) -> dict[str, int]:
    _check_keys("recipe field", raw, RECIPE_KEYS, where)
    missing = [k for k in RECIPE_KEYS if k not in raw]
    bad = [k for k in RECIPE_KEYS if k in raw and not (isinstance(raw[k], int) and raw[k] > 0)]
    if missing or bad:
        raise ValueError(f"{where}: recipe lacks {missing} or has non-positive-integer {bad}")
    return {k: raw[k] for k in RECIPE_KEYS}


def _cluster_list(names, clusters: Mapping, where: str) -> tuple[str, ...]:
    for c in names:
        if c not in clusters:
            raise UnknownNameError("cluster", c, clusters, hint=f"(in {where})")
    return tuple(names)


@functools.lru_cache(maxsize=8)
def load(suite: str = DEFAULT_SUITE) -> Catalogue:
    """Loads and validates a suite's `clusters.yaml` and `catalogue.yaml` (`tasks/` for
    FLAN, `tasks/<suite>/` for another suite such as the positive control)."""
    base = suite_dir(suite)
    with open(base / "clusters.yaml") as f:
        cl = yaml.safe_load(f)
    with open(base / "catalogue.yaml") as f:
        cat = yaml.safe_load(f)
    from flan_repro.catalogue.tables import metric_rules
    raw_clusters = cl["clusters"]
    label = _suite_label(suite)
    _check_keys("section", cat, ("defaults", "datasets"), f"{label}/catalogue.yaml")
    defaults = cat.get("defaults") or {}   # every entry's, unless it sets its own
    _check_keys("dataset field", defaults, DATASET_KEYS, f"{label}/catalogue.yaml, defaults")
    datasets = {n: _parse_dataset(n, {**defaults, **r}, raw_clusters, metric_rules(), suite)
                for n, r in cat["datasets"].items()}
    clusters = {}
    for cname, raw in raw_clusters.items():
        members = tuple(d.name for d in datasets.values() if d.cluster == cname)
        reported = _as_tuple(raw.get("reported")) or members
        for r in reported:
            if r not in members:
                raise ValueError(f"{_suite_label(suite)}/clusters.yaml: cluster {cname!r} "
                                 f"reports {r!r}, which is not one of its datasets {members}")
        for other in raw.get("also_excludes", []):
            if other not in raw_clusters:
                raise UnknownNameError("cluster", other, raw_clusters,
                                       hint=f"(in {_suite_label(suite)}/clusters.yaml, "
                                            f"{cname}.also_excludes)")
        clusters[cname] = ClusterSpec(cname, raw["display_name"],
                                      _as_tuple(raw.get("also_excludes")), reported, members)
    where = f"{label}/clusters.yaml"
    _check_keys("section", cl, ("clusters", "recipe", "cluster_count_ablation",
                                "template_count_ablation", "role_of_instructions",
                                "few_shot_exemplars"), where)
    # the Fig. 6, Fig. 8 and template-count ablations are FLAN's; another suite may omit them
    fig6 = cl.get("cluster_count_ablation", {"order": [], "groups": {}})
    _cluster_list(fig6.get("held_out", []), raw_clusters, f"{where}, cluster_count_ablation")
    fig8 = cl.get("role_of_instructions", {}).get("held_out", [])
    return Catalogue(datasets=datasets, clusters=clusters,
                     recipe=_parse_recipe(cl.get("recipe", {}), f"{where}, recipe"),
                     cluster_count_ablation=fig6,
                     template_count_ablation=_as_tuple(cl.get("template_count_ablation")),
                     role_of_instructions=_cluster_list(
                         fig8, raw_clusters, f"{where}, role_of_instructions"),
                     few_shot_exemplars=_cluster_list(
                         cl.get("few_shot_exemplars", {}).get("held_out", []), raw_clusters,
                         f"{where}, few_shot_exemplars"),
                     suite=suite)
