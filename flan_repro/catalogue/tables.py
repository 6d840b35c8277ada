"""The project-wide tables of `tasks/`: how a dataset's number is chosen
(`tasks/metrics.yaml`) and what the report calls its rows (`tasks/report.yaml`).

Unlike a suite's clusters and datasets, these hold for every suite (the positive control
is scored and reported as FLAN is), so they are read from `tasks/` once. They are
validated on load like the catalogue, naming the entry and the valid choices.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Mapping, Sequence

import yaml

from flan_repro.catalogue.spec import EVAL_FORMATS, FORMATS, UnknownNameError, tasks_dir


def _read(name: str) -> dict:
    with open(tasks_dir() / name) as f:
        return yaml.safe_load(f)


def _check_sections(raw: Mapping, valid: Sequence[str], where: str) -> None:
    for key in raw:
        if key not in valid:
            raise UnknownNameError("section", key, valid, hint=f"(in {where})")


@dataclasses.dataclass(frozen=True)
class MetricRules:
    primary_keys: Mapping[str, str]     # metric name -> result key, first listed wins
    secondary: tuple[str, ...]
    lower_is_better: frozenset

    @property
    def metric_names(self) -> tuple[str, ...]:
        return (*self.primary_keys, *self.secondary)

    def primary(self, metrics: Sequence[str], declared: str | None = None,
                where: str = "") -> str:
        """The result key reported for a dataset with these metrics (see metrics.yaml)."""
        hint = f"(in {where})" if where else "(tasks/metrics.yaml lists the metric names)"
        for name in metrics:
            if name not in self.metric_names:
                raise UnknownNameError("metric", name, self.metric_names, hint=hint)
        if declared is not None:
            return declared
        for name, key in self.primary_keys.items():
            if name in metrics:
                return key
        raise ValueError(f"no primary key covers metrics {list(metrics)} {hint}: list one of "
                         f"{', '.join(self.primary_keys)}, or name the key with `primary:`")


@functools.lru_cache(maxsize=1)
def metric_rules() -> MetricRules:
    raw = _read("metrics.yaml")
    _check_sections(raw, ("primary_keys", "secondary", "lower_is_better"), "tasks/metrics.yaml")
    return MetricRules(primary_keys=dict(raw["primary_keys"]),
                       secondary=tuple(raw.get("secondary") or ()),
                       lower_is_better=frozenset(raw.get("lower_is_better") or ()))


def _check_format(fmt: str, valid: Sequence[str], where: str) -> str:
    if fmt not in valid:
        raise UnknownNameError("format", fmt, valid, hint=f"(in {where})")
    return fmt


@functools.lru_cache(maxsize=1)
def row_titles() -> dict:
    """Report row titles: a variant name ("base") or a (train format, eval format) pair."""
    where = "tasks/report.yaml"
    raw = _read("report.yaml")
    _check_sections(raw, ("variants", "tuned", "calibration_models"), where)
    titles: dict = dict(raw["variants"])
    for row in raw["tuned"]:
        pair = (_check_format(row["train_format"], FORMATS, f"{where}, tuned"),
                _check_format(row["eval_format"], EVAL_FORMATS, f"{where}, tuned"))
        titles[pair] = row["title"]
    return titles


@functools.lru_cache(maxsize=1)
def calibration_titles() -> dict[str, str]:
    """Titles of the calibration study's models: "base", a tuned format, or
    "<tuned format>/<eval format>"."""
    where = "tasks/report.yaml, calibration_models"
    models = dict(_read("report.yaml")["calibration_models"])
    for name in models:
        for part in name.split("/"):
            if part != "base":
                _check_format(part, EVAL_FORMATS, where)
    return models
