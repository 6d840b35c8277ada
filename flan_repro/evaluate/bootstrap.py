"""Intervals and paired comparisons for FLAN's aggregated scores, by the bootstrap.

What is uncertain: a dataset's number is its metric averaged over templates (and over
tuning seeds, when there are several), measured on a finite test set. The bootstrap
redraws the test examples with replacement (a multinomial count per example), and,
when there are several seeds, the seeds; the templates are kept fixed by default (they
are FLAN's templates, the population the paper averages over), and are redrawn too
with `resample_templates=True` (to ask whether a difference would survive other
templates of the same kind). A cluster's number is the mean over its datasets, each
redrawn independently.

Paired: every row of an ablation scores the same examples under the same templates,
so a comparison uses the *same* redraw of examples (and templates) for both rows; the
noise the rows share cancels, which makes the paired interval of a difference much
narrower than the two unpaired intervals suggest. Seeds belong to a row's models, so
each row redraws its own.

Randomness is local and seeded: the draws of a dataset depend only on (seed, dataset
name, its example count, replicate count), never on numpy's global state, on other
datasets or on the order rows are compared in.

Intervals are percentile intervals of the replicates; a comparison's two-sided p-value
is the share of replicates whose difference is at least as far from the observed one
as the observed one is from 0 (the bootstrap's null, centred on the estimate), with
the +1 correction so it is never 0.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import Callable, Mapping, Sequence

import numpy as np

from flan_repro.evaluate import example_scores

DEFAULT_REPLICATES = 1000
DEFAULT_SEED = 0
Z_95 = 1.959964
Z_80_POWER = 0.841621


Combine = Callable[[np.ndarray, int], np.ndarray]


def metric_combine(metric: str, key: str) -> Combine:
    """The combine function of a dataset metric (`example_scores`)."""
    return functools.partial(example_scores.combine, metric, key)


@dataclasses.dataclass(frozen=True)
class ScoreTable:
    """One (row, dataset): per-example statistics of a number and how to combine them.

    stats: [seeds, templates, examples, k], examples in the order of `example_ids`,
    which is the same for every row of a run. combine(sums [..., k], n) -> the number
    (`example_scores.combine` for a metric, `calibration.combine` for ECE/MCE/Brier).
    """
    dataset: str
    stats: np.ndarray
    example_ids: tuple
    combine: Combine

    def __post_init__(self):
        if self.stats.ndim != 4 or self.stats.shape[2] != len(self.example_ids):
            raise ValueError(f"{self.dataset}: stats must be [seeds, templates, "
                             f"{len(self.example_ids)} examples, k], got {self.stats.shape}")

    @property
    def n(self) -> int:
        return self.stats.shape[2]

    def point(self) -> float:
        """The dataset's number: metric per (seed, template), mean over both."""
        return float(np.mean(self.combine(self.stats.sum(axis=2), self.n)))


def table_from_records(dataset: str, combine: Combine,
                       records_per_seed: Sequence[Sequence[Mapping]],
                       field: str = "stats") -> ScoreTable:
    """A ScoreTable from the evaluator's per-example records (one list per seed), of
    the statistics each record holds under `field`.

    Every seed and template must hold the same examples: that is what makes the
    numbers comparable, so a mismatch is an error, not something to align silently.
    """
    arrays, ids, templates = [], None, None
    for s, records in enumerate(records_per_seed):
        by_t: dict = {}
        for r in records:
            by_t.setdefault(r["template"], {})[r["example_index"]] = r[field]
        if templates is None:
            templates = list(by_t)
            ids = tuple(sorted(by_t[templates[0]])) if templates else ()
        if list(by_t) != templates or any(tuple(sorted(v)) != ids for v in by_t.values()):
            raise ValueError(f"{dataset}: seed {s} was not scored on the same templates and "
                             f"examples as seed 0")
        arrays.append([[by_t[t][i] for i in ids] for t in templates])
    if not ids:
        raise ValueError(f"{dataset}: no per-example records")
    return ScoreTable(dataset, np.asarray(arrays, dtype=np.float64), ids, combine)


def _rng(seed: int, *parts) -> np.random.Generator:
    digest = hashlib.sha256(repr((seed, *parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _counts(rng: np.random.Generator, n: int, replicates: int) -> np.ndarray:
    return rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(np.float64)


@dataclasses.dataclass(frozen=True)
class Draws:
    """The shared redraw of one dataset: example counts [B, n], template counts [B, T]."""
    examples: np.ndarray
    templates: np.ndarray | None


def draws(dataset: str, n: int, num_templates: int, replicates: int = DEFAULT_REPLICATES,
          seed: int = DEFAULT_SEED, resample_templates: bool = False) -> Draws:
    ex = _counts(_rng(seed, dataset, "examples", n, replicates), n, replicates)
    tm = _counts(_rng(seed, dataset, "templates", num_templates, replicates), num_templates,
                 replicates) if resample_templates else None
    return Draws(ex, tm)


def replicates(table: ScoreTable, d: Draws, row: str = "", seed: int = DEFAULT_SEED
               ) -> np.ndarray:
    """[B] bootstrap values of the table's number under the draws `d`."""
    S, T, n, _ = table.stats.shape
    B = d.examples.shape[0]
    if d.examples.shape[1] != n:
        raise ValueError(f"{table.dataset}: draws are for {d.examples.shape[1]} examples, "
                         f"the table has {n}")
    sums = np.einsum("bn,stnk->bstk", d.examples, table.stats)
    values = table.combine(sums, n)                                        # [B, S, T]
    tw = np.ones((B, T)) if d.templates is None else d.templates
    if tw.shape[1] != T:
        raise ValueError(f"{table.dataset}: draws are for {tw.shape[1]} templates, the table "
                         f"has {T}")
    sw = np.ones((B, S)) if S == 1 else _counts(
        _rng(seed, table.dataset, "seeds", row, S, B), S, B)
    w = sw[:, :, None] * tw[:, None, :]
    return (values * w).sum(axis=(1, 2)) / w.sum(axis=(1, 2))


@dataclasses.dataclass(frozen=True)
class Estimate:
    value: float
    ci95: tuple[float, float]
    se: float                 # standard deviation of the replicates
    n: int                    # examples (summed over datasets for a cluster)

    def to_dict(self) -> dict:
        return {"value": self.value, "ci95": list(self.ci95), "se": self.se, "n": self.n}


def _estimate(value: float, reps: np.ndarray, n: int) -> Estimate:
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return Estimate(float(value), (float(lo), float(hi)), float(np.std(reps, ddof=1)), n)


@dataclasses.dataclass(frozen=True)
class Comparison:
    diff: float                         # a - b
    ci95: tuple[float, float]
    p_value: float
    se: float
    min_detectable: float               # difference found 80% of the time at p < 0.05

    @property
    def significant(self) -> bool:
        return not self.ci95[0] <= 0.0 <= self.ci95[1]

    def to_dict(self) -> dict:
        return {"diff": self.diff, "ci95": list(self.ci95), "p_value": self.p_value,
                "se": self.se, "min_detectable": self.min_detectable,
                "significant": self.significant}


class Analysis:
    """Bootstrap estimates over rows that share their examples (one run's rows).

    rows: row name -> dataset -> ScoreTable. The draws of each dataset are made once
    and shared by every row, which is what makes comparisons paired.
    """

    def __init__(self, rows: Mapping[str, Mapping[str, ScoreTable]],
                 replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED,
                 resample_templates: bool = False):
        self.rows = rows
        self.B, self.seed, self.resample_templates = replicates, seed, resample_templates
        self._draws: dict[tuple, Draws] = {}
        self._reps: dict[tuple[str, str], np.ndarray] = {}

    def _table(self, row: str, dataset: str) -> ScoreTable:
        try:
            return self.rows[row][dataset]
        except KeyError:
            raise KeyError(f"no per-example records for row {row!r}, dataset {dataset!r}") \
                from None

    def _dataset_reps(self, row: str, dataset: str) -> np.ndarray:
        if (row, dataset) not in self._reps:
            t = self._table(row, dataset)
            key = (dataset, t.n, t.stats.shape[1], t.example_ids)
            if key not in self._draws:
                self._draws[key] = draws(dataset, t.n, t.stats.shape[1], self.B, self.seed,
                                         self.resample_templates)
            self._reps[row, dataset] = replicates(t, self._draws[key], row, self.seed)
        return self._reps[row, dataset]

    def dataset(self, row: str, dataset: str) -> Estimate:
        t = self._table(row, dataset)
        return _estimate(t.point(), self._dataset_reps(row, dataset), t.n)

    def _cluster(self, row: str, datasets: Sequence[str]) -> tuple[float, np.ndarray, int]:
        if not datasets:
            raise ValueError("no datasets to average")
        tables = [self._table(row, d) for d in datasets]
        value = float(np.mean([t.point() for t in tables]))
        reps = np.mean([self._dataset_reps(row, d) for d in datasets], axis=0)
        return value, reps, sum(t.n for t in tables)

    def cluster(self, row: str, datasets: Sequence[str]) -> Estimate:
        value, reps, n = self._cluster(row, datasets)
        return _estimate(value, reps, n)

    def compare(self, a: str, b: str, datasets: Sequence[str]) -> Comparison:
        """Paired comparison of two rows' cluster averages over `datasets` (a - b)."""
        for d in datasets:
            ta, tb = self._table(a, d), self._table(b, d)
            if ta.example_ids != tb.example_ids:
                raise ValueError(f"{d}: rows {a!r} and {b!r} were not scored on the same "
                                 f"examples, so they cannot be paired")
            if self.resample_templates and ta.stats.shape[1] != tb.stats.shape[1]:
                raise ValueError(f"{d}: rows {a!r} and {b!r} have different templates, so "
                                 f"templates cannot be redrawn in pairs")
        va, ra, _ = self._cluster(a, datasets)
        vb, rb, _ = self._cluster(b, datasets)
        diff, reps = va - vb, ra - rb
        lo, hi = np.percentile(reps, [2.5, 97.5])
        far = np.sum(np.abs(reps - diff) >= abs(diff) - 1e-12)
        se = float(np.std(reps, ddof=1))
        return Comparison(float(diff), (float(lo), float(hi)), float((far + 1) / (len(reps) + 1)),
                          se, float((Z_95 + Z_80_POWER) * se))
