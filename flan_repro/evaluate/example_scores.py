"""Per-example sufficient statistics of a reported metric, so it can be recomputed on
any resample of the examples.

Why: an interval or a paired test over examples needs the metric of many resampled
test sets. Most of FLAN's metrics are means of a per-example score (accuracy, EM, F1,
ROUGE, edit distance); two are not, but are ratios of per-example counts: binary F1
(MultiRC's F1a, MRPC/QQP's F1) from true/false positives and false negatives, and
corpus BLEU from sacreBLEU's per-sentence n-gram counts. Either way a metric is

    value = combine(stats.sum(axis=0), n)        stats: [n examples, k] floats

so a resample with example counts w (a multinomial draw) has `combine(w @ stats, n)`.
`combine` of the full sums equals `metric_table.compute_metrics` (the tests check it),
so an interval is centred on exactly the number the report prints.

Inputs are in `metric_table`'s conventions (its docstring); `metric` is the catalogue
metric name and `key` the result key reported (`metric_table.primary_metric`). Metrics
without a per-example form here (Pearson/Spearman, CB's mean F1) are never a primary
key; `supported` says which are.
"""
from __future__ import annotations

import functools
import re
from typing import Any, Callable, Sequence

import numpy as np

from flan_repro.evaluate import metric_table

Stats = Callable[[Sequence[Any], Sequence[Any]], np.ndarray]
Combine = Callable[[np.ndarray, int], np.ndarray]


def _mean(sums: np.ndarray, n: int) -> np.ndarray:
    return sums[..., 0] / n


def _binary_f1(sums: np.ndarray, n: int) -> np.ndarray:
    """sklearn's F1 of class 1 from (tp, fp, fn) sums; 0 when it is undefined."""
    tp, fp, fn = sums[..., 0], sums[..., 1], sums[..., 2]
    den = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 100 * 2 * tp / np.where(den > 0, den, 1), 0.0)


def _f1_counts(targets, predictions) -> np.ndarray:
    """(tp, fp, fn) per example; predictions other than 0/1 count as wrong (t5)."""
    t = np.asarray([int(x) for x in targets])
    p = np.asarray([int(x) for x in predictions])
    p = np.where((p == 0) | (p == 1), p, 1 - t)
    return np.stack([(p == 1) & (t == 1), (p == 1) & (t == 0), (p == 0) & (t == 1)],
                    axis=1).astype(np.float64)


def _column(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1, 1)


def _accuracy(targets, predictions) -> np.ndarray:
    return _column([100.0 * (t == p) for t, p in zip(targets, predictions)])


def _qa(normalize: str, key: str) -> Stats:
    def stats(targets, predictions):
        from t5.evaluation import qa_utils   # noqa: PLC0415 - heavy (TensorFlow)
        norm = getattr(qa_utils, normalize)
        score = qa_utils._exact_match_score if key == "em" else qa_utils._f1_score
        out = []
        for answers, pred in zip(metric_table._answer_lists(targets), predictions):
            p = norm(str(pred))
            out.append(100.0 * max(float(score(norm(a), p)) for a in answers))
        return _column(out)
    return stats


def _rouge(key: str) -> Stats:
    def stats(targets, predictions):
        return _column(metric_table.rouge_per_example(targets, predictions)[key])
    return stats


def _edit(targets, predictions) -> np.ndarray:
    import editdistance   # noqa: PLC0415 - t5's own dependency
    out = []
    for t, p in zip(targets, predictions):   # t5.edit_distance, per example
        out.append(editdistance.distance(re.split(r"[^\w]", str(p).lower()),
                                         re.split(r"[^\w]", str(t).lower())))
    return _column(out)


@functools.lru_cache(maxsize=1)
def _bleu_metric():
    from sacrebleu.metrics import BLEU   # noqa: PLC0415
    # t5.bleu's corpus_bleu settings
    return BLEU(smooth_method="exp", smooth_value=0.0, force=False, lowercase=False,
                tokenize="intl", effective_order=False)


def _bleu_stats(targets, predictions) -> np.ndarray:
    refs = list(targets)
    streams = [refs] if not refs or isinstance(refs[0], str) else \
        [list(s) for s in zip(*refs)]
    stats = _bleu_metric()._extract_corpus_statistics([str(p) for p in predictions], streams)
    return np.asarray(stats, dtype=np.float64)


def _bleu_combine(sums: np.ndarray, n: int) -> np.ndarray:
    flat = sums.reshape(-1, sums.shape[-1])
    vals = [_bleu_metric()._compute_score_from_stats([int(round(x)) for x in row]).score
            for row in flat]
    return np.asarray(vals, dtype=np.float64).reshape(sums.shape[:-1])


# (catalogue metric name, result key) -> (per-example stats, combine)
TABLE: dict[tuple[str, str], tuple[Stats, Combine]] = {
    ("accuracy", "accuracy"): (_accuracy, _mean),
    ("multirc_f1a", "f1a"): (_f1_counts, _binary_f1),
    ("f1_binary", "f1"): (_f1_counts, _binary_f1),
    ("record", "em"): (_qa("normalize_squad", "em"), _mean),
    ("record", "f1"): (_qa("normalize_squad", "f1"), _mean),
    ("squad", "em"): (_qa("normalize_squad", "em"), _mean),
    ("squad", "f1"): (_qa("normalize_squad", "f1"), _mean),
    ("trivia_qa", "em"): (_qa("normalize_trivia_qa", "em"), _mean),
    ("trivia_qa", "f1"): (_qa("normalize_trivia_qa", "f1"), _mean),
    ("bleu", "bleu"): (_bleu_stats, _bleu_combine),
    ("edit_distance", "mean_edit"): (_edit, _mean),
    **{("rouge", k): (_rouge(k), _mean) for k in ("rouge1", "rouge2", "rougeLsum")},
}


def metric_for_key(metric_names: Sequence[str], key: str) -> str:
    """The catalogue metric of a dataset that reports `key` (e.g. quac's f1: trivia_qa)."""
    for name in metric_names:
        if key in metric_table.metric_spec(name).keys:
            return name
    raise ValueError(f"none of the metrics {list(metric_names)} reports {key!r}")


def supported(metric: str, key: str) -> bool:
    return (metric, key) in TABLE


def example_stats(metric: str, key: str, targets: Sequence[Any],
                  predictions: Sequence[Any]) -> np.ndarray:
    """[n, k] per-example statistics of `key` (see the module doc)."""
    if not supported(metric, key):
        raise ValueError(f"no per-example form of {metric}/{key}; per-example forms exist "
                         f"for {sorted(f'{m}/{k}' for m, k in TABLE)}")
    if len(targets) != len(predictions):
        raise ValueError(f"{len(targets)} targets but {len(predictions)} predictions")
    return TABLE[metric, key][0](list(targets), list(predictions))


def combine(metric: str, key: str, sums: np.ndarray, n: int) -> np.ndarray:
    """The metric from summed statistics ([..., k] -> [...])."""
    return TABLE[metric, key][1](np.asarray(sums, dtype=np.float64), n)


def is_mean(metric: str, key: str) -> bool:
    """Whether the metric is the mean of one per-example score (which a record can show)."""
    return TABLE[metric, key][1] is _mean
