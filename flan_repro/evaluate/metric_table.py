"""The metric names of `tasks/catalogue.yaml`, each bound to `t5.evaluation.metrics`.

Why t5's functions and not our own: FLAN's tasks declare their `metric_fns` from
`t5.evaluation.metrics` (and SuperGLUE's from `t5.data.glue_utils`), so the
normalisation of answers, the BLEU tokenizer, the ROUGE variant and the MultiRC /
ReCoRD grouping are whatever t5 does. One exception: ROUGE is aggregated by the mean
over examples, not t5's unseeded bootstrap median (see `rouge`). This module only adapts our inputs to t5's
calling conventions and renames nothing except where a name would be ambiguous.

Input conventions (what the evaluator passes; one list entry per example):

  =====================  ==========================  ===============================
  metric                 targets                     predictions
  =====================  ==========================  ===============================
  accuracy               gold option index (int),    chosen option index (int), or
                         or gold string (generation) the generated string
  f1_3class_mean (CB)    gold option index 0..2      chosen option index
  f1_binary (MRPC/QQP)   gold index, 1 = "yes"       chosen index (not 0/1 = wrong)
  pearson / spearman     gold float score (STS-B)    chosen option index == score
  multirc_f1a / _em      gold index, 1 = "yes"       chosen index; `groups` = the
                                                     example's "idx/question"
  record                 list of gold answers        chosen option text; `groups` =
                                                     the query the row belongs to
  squad / trivia_qa      list of gold answers (a     generated string
                         bare str is one answer)
  bleu / edit_distance   reference string            generated string
  rouge                  reference string, or a      generated string
                         list of references
  =====================  ==========================  ===============================

Result keys are t5's (`accuracy`, `mean_3class_f1`, `f1`, `pearson_corrcoef`,
`spearman_corrcoef`, `exact_match`, `em`, `bleu`, `rouge1`/`rouge2`/`rougeLsum`,
`mean_edit`...), except MultiRC's F1 over all answer-options, which t5 calls `f1`
and we call `f1a` (SuperGLUE's name) so a table never confuses it with MRPC's F1.
All values are plain Python floats on t5's 0-100 scale (edit distances are counts).

`t5` is imported on first use: importing it pulls in seqio and TensorFlow (seconds),
which the calibration and aggregation code should not pay for.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from flan_repro.catalogue import load, suite_names
from flan_repro.catalogue.spec import UnknownNameError
from flan_repro.catalogue.tables import metric_rules

MetricFn = Callable[[Sequence[Any], Sequence[Any], "Sequence[Any] | None"], "dict[str, float]"]


@functools.lru_cache(maxsize=1)
def _t5():
    import t5.evaluation.metrics as t5_metrics  # noqa: PLC0415 - heavy, see module doc
    return t5_metrics


def _floats(result: Mapping[str, Any], rename: Mapping[str, str] | None = None) -> dict[str, float]:
    rename = rename or {}
    return {rename.get(k, k): float(v) for k, v in result.items()}


def _answer_lists(targets: Sequence[Any]) -> list[list[str]]:
    """QA targets are lists of acceptable answers; a bare string is a list of one."""
    return [[t] if isinstance(t, str) else [str(a) for a in t] for t in targets]


def _group_keys(groups: Sequence[Any]) -> list[Any]:
    # JSON round-trips turn tuples (e.g. ReCoRD's (passage, query)) into lists.
    return [tuple(g) if isinstance(g, list) else g for g in groups]


# --------------------------------------------------------------------- the functions
def accuracy(targets, predictions, groups=None):
    return _floats(_t5().accuracy(list(targets), list(predictions)))


def f1_3class_mean(targets, predictions, groups=None):
    """CB: SuperGLUE scores CB by the unweighted mean of the 3 per-class F1s."""
    return _floats(_t5().mean_multiclass_f1(num_classes=3)(list(targets), list(predictions)))


def f1_binary(targets, predictions, groups=None):
    """MRPC/QQP: GLUE's F1 of the positive ("yes") class; other indices count as wrong."""
    # t5 writes into `predictions` in place when given an array: hand it a copy.
    return _floats(_t5().f1_score_with_invalid(np.array(targets), np.array(predictions)))


def pearson(targets, predictions, groups=None):
    """STS-B: GLUE's Pearson r between gold scores and the chosen "0".."5" option."""
    return _floats(_t5().pearson_corrcoef([float(t) for t in targets],
                                          [float(p) for p in predictions]))


def spearman(targets, predictions, groups=None):
    """STS-B: GLUE's Spearman rho, same inputs as `pearson`."""
    return _floats(_t5().spearman_corrcoef([float(t) for t in targets],
                                           [float(p) for p in predictions]))


def multirc_f1a(targets, predictions, groups=None):
    """MultiRC F1a: binary F1 over every (question, answer-option) row (SuperGLUE)."""
    t = [{"value": int(x)} for x in targets]
    p = [{"value": int(x)} for x in predictions]
    return _floats(_t5().multirc_f1_over_all_answers(t, p), rename={"f1": "f1a"})


def multirc_em(targets, predictions, groups=None):
    """MultiRC EM: a question counts only if all its answer-options are right (SuperGLUE)."""
    if groups is None:
        raise ValueError("multirc_em needs groups: the 'idx/question' of every row, since "
                         "the exact match is taken per question")
    t = [{"group": g, "value": int(x)} for g, x in zip(_group_keys(groups), targets)]
    p = [{"value": int(x)} for x in predictions]
    return _floats(_t5().mean_group_metric(_t5().all_match)(t, p))


def record(targets, predictions, groups=None):
    """ReCoRD: SQuAD EM/F1 against all gold answers, one row per query (t5's SuperGLUE)."""
    keys = _group_keys(groups) if groups is not None else list(range(len(targets)))
    t = [{"group": g, "value": a} for g, a in zip(keys, _answer_lists(targets))]
    p = [{"value": str(x)} for x in predictions]
    return _floats(_t5().deduplicate_metric(_t5().squad)(t, p))


def squad(targets, predictions, groups=None):
    return _floats(_t5().squad(_answer_lists(targets), [str(p) for p in predictions]))


def trivia_qa(targets, predictions, groups=None):
    return _floats(_t5().trivia_qa(_answer_lists(targets), [str(p) for p in predictions]))


def bleu(targets, predictions, groups=None):
    """sacreBLEU corpus BLEU, t5's settings (intl tokenizer, exp smoothing)."""
    targets = list(targets)
    if targets and not isinstance(targets[0], str):
        # t5 expects reference *streams* (one list per reference position), not
        # per-example lists: transpose, which needs the same count everywhere.
        counts = {len(t) for t in targets}
        if len(counts) != 1:
            raise ValueError("bleu with several references needs the same number per example")
        targets = [list(stream) for stream in zip(*targets)]
    return _floats(_t5().bleu(targets, [str(p) for p in predictions]))


_ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")


@functools.lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer  # noqa: PLC0415 - the scorer t5.rouge builds
    return rouge_scorer.RougeScorer(rouge_types=_ROUGE_TYPES)


def _pair_rouge(reference: str, prediction: str) -> dict[str, float]:
    """ROUGE-1/2/Lsum F-measure (0-100) of one pair, exactly as `t5.rouge` scores it.

    Same scorer and the same sentence splitting as t5's `_prepare_summary`; the test
    suite checks the equality against t5 on single pairs.
    """
    def prepare(text: str) -> str:   # t5.rouge's _prepare_summary
        return text.replace(" . ", " .\n")
    scores = _rouge_scorer().score(target=prepare(reference), prediction=prepare(prediction))
    return {k: scores[k].fmeasure * 100 for k in _ROUGE_TYPES}


def rouge_per_example(targets, predictions) -> dict[str, list[float]]:
    """Per-example ROUGE F-measures; with several references, FLAN's best-reference rule.

    FLAN's GEM struct-to-text tasks (`flan/metrics.py: rouge_fn`, after BIG-bench and
    the GEM paper) pick, per example and per ROUGE type, the reference the prediction
    scores best against; the pick's score is the example's score for that type.
    """
    out: dict[str, list[float]] = {k: [] for k in _ROUGE_TYPES}
    for refs, pred in zip(_answer_lists(list(targets)), predictions):
        pair = [_pair_rouge(r, str(pred)) for r in refs]
        for k in _ROUGE_TYPES:
            out[k].append(max(p[k] for p in pair))
    return out


def rouge(targets, predictions, groups=None):
    """ROUGE-1/2/Lsum: the mean of the per-example F-measures (`rouge_per_example`).

    Not `t5.rouge`: t5 reports the median ("mid") of a 1000-fold bootstrap of these
    per-example scores drawn from numpy's *global* RNG (rouge_score's
    BootstrapAggregator), so the same predictions score differently from call to call.
    The mean is the quantity that bootstrap estimates, and is a deterministic function
    of the predictions; intervals come from our own seeded resampling of examples.
    """
    per = rouge_per_example(targets, predictions)
    return {k: float(np.mean(v)) for k, v in per.items()}


def edit_distance(targets, predictions, groups=None):
    """Fix-punctuation: word-level edit distance (t5, lower-cased); lower is better."""
    return _floats(_t5().edit_distance([str(t) for t in targets], [str(p) for p in predictions]))


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    name: str
    fn: MetricFn
    keys: tuple[str, ...]          # result keys the function returns


METRICS: dict[str, MetricSpec] = {s.name: s for s in (
    MetricSpec("accuracy", accuracy, ("accuracy",)),
    MetricSpec("f1_3class_mean", f1_3class_mean, ("mean_3class_f1",)),
    MetricSpec("f1_binary", f1_binary, ("f1",)),
    MetricSpec("pearson", pearson, ("pearson_corrcoef",)),
    MetricSpec("spearman", spearman, ("spearman_corrcoef",)),
    MetricSpec("multirc_f1a", multirc_f1a, ("f1a",)),
    MetricSpec("multirc_em", multirc_em, ("exact_match",)),
    MetricSpec("record", record, ("em", "f1")),
    MetricSpec("squad", squad, ("em", "f1")),
    MetricSpec("trivia_qa", trivia_qa, ("em", "f1")),
    MetricSpec("bleu", bleu, ("bleu",)),
    MetricSpec("rouge", rouge, ("rouge1", "rouge2", "rougeLsum")),
    MetricSpec("edit_distance", edit_distance,
               ("min_edit", "max_edit", "mean_edit", "median_edit", "sum_edit")),
)}

# STS-B is scored by GLUE's correlations on the float gold score, but FLAN also ranks
# the options "0".."5", whose gold is the score printed with `precision=0`.
_REGRESSION_METRICS = frozenset({"pearson", "spearman"})


def stsb_gold_option(score: float) -> int:
    """The option index of an STS-B gold score: FLAN's `as_string(label, precision=0)`.

    That is C's "%.0f": round half to even (2.5 -> 2, 3.5 -> 4), which Python's
    "%.0f" reproduces.
    """
    return int("%.0f" % float(score))


def metric_spec(name: str) -> MetricSpec:
    if name not in METRICS:
        raise UnknownNameError("metric", name, METRICS,
                               hint="(metric names are those of tasks/catalogue.yaml)")
    return METRICS[name]


def compute_metrics(metric_names: Sequence[str], targets: Sequence[Any],
                    predictions: Sequence[Any], groups: Sequence[Any] | None = None,
                    ) -> dict[str, float]:
    """All of a dataset's metrics on one split and template, merged into one dict.

    When the metrics include STS-B's correlations, `targets` are the float gold
    scores and `accuracy` is taken against `stsb_gold_option(score)`, the option
    FLAN's template shows as the answer.
    """
    if isinstance(metric_names, str):
        metric_names = [metric_names]
    specs = [metric_spec(n) for n in metric_names]
    targets, predictions = list(targets), list(predictions)
    if len(targets) != len(predictions):
        raise ValueError(f"{len(targets)} targets but {len(predictions)} predictions")
    if not targets:
        raise ValueError("no examples to score")
    if groups is not None:
        groups = list(groups)
        if len(groups) != len(targets):
            raise ValueError(f"{len(groups)} groups for {len(targets)} examples")
    regression = bool(_REGRESSION_METRICS & set(metric_names))
    out: dict[str, float] = {}
    for spec in specs:
        t = targets
        if spec.name == "accuracy" and regression:
            t = [stsb_gold_option(x) for x in targets]
        result = spec.fn(t, predictions, groups)
        clash = set(result) & set(out)
        if clash:
            raise ValueError(f"metrics {list(metric_names)} both report {sorted(clash)}")
        out.update(result)
    return out


# --------------------------------------------------------------------- primary metric
def _declared_primary(dataset: str | None, metric_names: Sequence[str]) -> str | None:
    """The result key a catalogue entry of that name reports (`primary:` or its rule)."""
    if dataset is None:
        return None
    for suite in suite_names():
        spec = load(suite).datasets.get(dataset)
        if spec is not None and tuple(spec.metrics) == tuple(metric_names):
            return spec.primary
    return None


def primary_metric(metric_names: Sequence[str], dataset: str | None = None) -> str:
    """The result key FLAN reports for a dataset with these metrics: the catalogue entry's
    `primary`, else the first rule of tasks/metrics.yaml that covers them."""
    if isinstance(metric_names, str):
        metric_names = [metric_names]
    for name in metric_names:
        metric_spec(name)
    return _declared_primary(dataset, metric_names) or metric_rules().primary(metric_names)


def higher_is_better(key: str) -> bool:
    """False for the keys tasks/metrics.yaml lists as `lower_is_better` (edit distances)."""
    return key not in metric_rules().lower_is_better


def is_better(a: float, b: float, key: str) -> bool:
    """Whether score `a` beats `b` on `key` (NaN never beats anything)."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a > b if higher_is_better(key) else a < b
