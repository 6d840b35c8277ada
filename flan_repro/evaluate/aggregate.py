"""FLAN's aggregation of per-template scores into dataset and cluster numbers.

Why two dataset numbers: the paper evaluates every dataset under each of its
templates and reports (Sec. 3 / Table 2)
  - the mean over templates, as a proxy for the performance a user with a
    typical natural-language instruction would get ("average template"), and
  - the test score of the single template that did best on the dev split, since
    a small dev set is sometimes available for prompt engineering ("best dev
    template"; the dev split is FLAN's 200-example `validation`).
A cluster's number is the plain average of its reported datasets' numbers, where a
"dataset" is a registry entry as listed (ANLI R1, R2 and R3 count separately;
`tasks/clusters.yaml: reported`). Each dataset contributes its primary metric
(`metric_table.primary_metric`).

Everything here is plain data: dicts keyed by template id (a list's position when
templates come as a list) and frozen dataclasses with `to_dict()`, so results can be
written as JSON (integer template ids become string keys there).
"""
from __future__ import annotations

import dataclasses
import statistics
from typing import Hashable, Mapping, Sequence, Union

import numpy as np

from flan_repro.evaluate.metric_table import is_better

TemplateId = Hashable
Metrics = Mapping[str, float]
PerTemplate = Union[Mapping[TemplateId, Metrics], Sequence[Metrics]]

SCORE_MODES = ("mean", "best_dev")


def as_template_dict(per_template: PerTemplate) -> dict[TemplateId, dict[str, float]]:
    """Template id -> metrics; a list's templates are numbered by position."""
    items = per_template.items() if isinstance(per_template, Mapping) else enumerate(per_template)
    out = {tid: {k: float(v) for k, v in m.items()} for tid, m in items}
    if not out:
        raise ValueError("no templates")
    return out


def _common_keys(d: Mapping[TemplateId, Metrics]) -> list[str]:
    keys = None
    for tid, m in d.items():
        if keys is None:
            keys = list(m)
        elif set(m) != set(keys):
            raise ValueError(f"template {tid!r} reports {sorted(m)}, others {sorted(keys)}")
    return keys


def mean_over_templates(per_template: PerTemplate) -> dict[str, float]:
    """Per metric key, the unweighted mean over templates (the paper's 'average template')."""
    d = as_template_dict(per_template)
    return {k: float(np.mean([m[k] for m in d.values()])) for k in _common_keys(d)}


def std_over_templates(per_template: PerTemplate) -> dict[str, float]:
    """Per metric key, the sample standard deviation over templates (0 for one template)."""
    d = as_template_dict(per_template)
    n = len(d)
    return {k: float(np.std([m[k] for m in d.values()], ddof=1)) if n > 1 else 0.0
            for k in _common_keys(d)}


def per_template(per_template: PerTemplate, key: str) -> dict[TemplateId, float]:
    """Template id -> value of one metric key."""
    d = as_template_dict(per_template)
    missing = [tid for tid, m in d.items() if key not in m]
    if missing:
        raise KeyError(f"templates {missing} do not report {key!r}")
    return {tid: m[key] for tid, m in d.items()}


def best_dev_template(dev: PerTemplate, key: str) -> TemplateId:
    """The template with the best dev score on `key` (lower wins for edit distances).

    Ties go to the first template in order, so the choice is deterministic; NaN dev
    scores never win unless every template is NaN (then the first is returned).
    """
    scores = per_template(dev, key)
    best = None
    for tid, v in scores.items():
        if best is None or is_better(v, scores[best], key):
            best = tid
    return best


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    dataset: str
    primary: str                                     # the metric key reported
    per_template: dict                               # test: template id -> metrics
    mean: dict                                       # test: mean over templates
    std: dict                                        # test: std over templates
    dev_primary: dict | None = None                  # dev: template id -> primary value
    best_dev_template: TemplateId | None = None
    best_dev: dict | None = None                     # test metrics of that template

    @property
    def num_templates(self) -> int:
        return len(self.per_template)

    def score(self, mode: str = "mean") -> float:
        """The dataset's number for a cluster average under `mode` (see SCORE_MODES).

        "best_dev" falls back to the mean for a dataset without a dev split (WSC273),
        where FLAN has nothing to choose a template with.
        """
        if mode not in SCORE_MODES:
            raise ValueError(f"unknown score mode {mode!r}; valid: {', '.join(SCORE_MODES)}")
        if mode == "best_dev" and self.best_dev is not None:
            return self.best_dev[self.primary]
        return self.mean[self.primary]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def summarize_dataset(dataset: str, primary: str, test: PerTemplate,
                      dev: PerTemplate | None = None) -> DatasetSummary:
    """Mean, spread and best-dev-template numbers of one dataset's per-template results."""
    t = as_template_dict(test)
    if primary not in _common_keys(t):
        raise KeyError(f"{dataset}: test results lack the primary metric {primary!r}")
    summary = dict(dataset=dataset, primary=primary, per_template=t,
                   mean=mean_over_templates(t), std=std_over_templates(t))
    if dev is not None:
        d = as_template_dict(dev)
        if set(d) != set(t):
            raise ValueError(f"{dataset}: dev templates {sorted(map(str, d))} differ from "
                             f"test templates {sorted(map(str, t))}")
        best = best_dev_template(d, primary)
        summary.update(dev_primary=per_template(d, primary), best_dev_template=best,
                       best_dev=dict(t[best]))
    return DatasetSummary(**summary)


def cluster_average(scores: Mapping[str, float], datasets: Sequence[str] | None = None) -> float:
    """Unweighted mean over the listed registry entries (all of `scores` by default).

    `statistics.fmean` sums exactly (fsum), so the average does not depend on the order
    or grouping of the datasets, and the report's rows equal the evaluator's to the bit."""
    names = list(scores) if datasets is None else list(datasets)
    if not names:
        raise ValueError("no datasets to average")
    missing = [n for n in names if n not in scores]
    if missing:
        raise KeyError(f"no score for {missing}")
    return statistics.fmean(float(scores[n]) for n in names)


@dataclasses.dataclass(frozen=True)
class ClusterSummary:
    cluster: str
    mode: str
    datasets: tuple[str, ...]
    scores: dict                     # dataset -> its number under `mode`
    average: float
    mean_fallbacks: tuple[str, ...] = ()   # best_dev mode: datasets without a dev split

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def summarize_cluster(cluster: str, summaries: Mapping[str, DatasetSummary],
                      datasets: Sequence[str], mode: str = "mean") -> ClusterSummary:
    """A held-out cluster's number: the average of its reported datasets' scores."""
    missing = [n for n in datasets if n not in summaries]
    if missing:
        raise KeyError(f"cluster {cluster!r}: no results for {missing}")
    scores = {n: summaries[n].score(mode) for n in datasets}
    fallbacks = tuple(n for n in datasets
                      if mode == "best_dev" and summaries[n].best_dev is None)
    avg = cluster_average(scores, datasets)
    return ClusterSummary(cluster=cluster, mode=mode, datasets=tuple(datasets),
                          scores=scores, average=avg, mean_fallbacks=fallbacks)

