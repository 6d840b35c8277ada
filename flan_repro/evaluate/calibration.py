"""Calibration of rank classification: ECE, MCE, Brier score, reliability diagrams.

Why over the options only: FLAN classifies by ranking the options' log-likelihoods
(rank classification), so the model's belief about an example is its distribution
renormalised over that example's options, softmax(log p(option | input)). The
prediction is the top option (first one among exact ties, like `np.argmax` and
t5's rank classification) and its probability is the confidence.

Definitions (Guo et al. 2017, "On Calibration of Modern Neural Networks"):

  Bins. `num_bins` (B) equal-width bins over the top option's probability. Bin b
  (0-based) holds confidences in (b/B, (b+1)/B]; a confidence of exactly 0 goes
  into the first bin. Right-closed bins put a confidence of 1.0 into the last bin.

  ECE = sum_b |B_b| / n * |acc(B_b) - conf(B_b)|, acc and conf the mean
        correctness and mean confidence of the examples in bin b.
  MCE = max over bins holding at least `min_bin_count` examples (default
        MCE_MIN_BIN_COUNT = 10) of |acc(B_b) - conf(B_b)|; NaN when no bin holds
        that many. Guo et al. take every non-empty bin, but then a bin of one
        example decides the number (a toy RTE row reported MCE 87.5 that way), so
        sparse bins are left out and the reports say at which count.

  Brier = mean over examples of sum over that example's options of
          (p_k - 1[k == gold])^2.
        This is Brier's (1950) original multi-category score on the full option
        distribution, in [0, 2]; it is not divided by the number of options and
        is not the "top-label" Brier score some papers use.

All numbers are fractions in [0, 1] (ECE 0.05 = 5 points), not t5's 0-100 scale.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

DEFAULT_NUM_BINS = 15
MCE_MIN_BIN_COUNT = 10


def softmax_options(option_scores: Sequence[Sequence[float]]) -> list[np.ndarray]:
    """Per-example probabilities over its own options; examples may differ in count."""
    out = []
    for i, s in enumerate(option_scores):
        s = np.asarray(s, dtype=np.float64)
        if s.ndim != 1 or s.size == 0:
            raise ValueError(f"example {i}: option scores must be a non-empty 1-D list")
        m = np.max(s)
        if not np.isfinite(m):
            raise ValueError(f"example {i}: no option has a finite score")
        e = np.exp(s - m)
        out.append(e / e.sum())
    return out


def bin_indices(confidences: np.ndarray, num_bins: int) -> np.ndarray:
    """Bin of each confidence under the (b/B, (b+1)/B] convention (0 -> bin 0)."""
    if num_bins < 1:
        raise ValueError("num_bins must be at least 1")
    edges = np.arange(num_bins + 1) / num_bins
    # side="left": the first edge >= c is the bin's upper edge, so c == edge goes low.
    idx = np.searchsorted(edges, np.asarray(confidences, dtype=np.float64), side="left") - 1
    return np.clip(idx, 0, num_bins - 1)


@dataclasses.dataclass(frozen=True)
class CalibrationBin:
    lower: float
    upper: float
    count: int
    accuracy: float | None     # None for an empty bin
    confidence: float | None


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    n: int
    num_bins: int
    accuracy: float
    mean_confidence: float
    ece: float
    mce: float
    brier: float
    bins: tuple[CalibrationBin, ...]
    mce_min_bin_count: int = MCE_MIN_BIN_COUNT

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _bins(confidences: np.ndarray, correct: np.ndarray, num_bins: int) -> list[CalibrationBin]:
    idx = bin_indices(confidences, num_bins)
    bins = []
    for b in range(num_bins):
        mask = idx == b
        k = int(mask.sum())
        bins.append(CalibrationBin(
            lower=b / num_bins, upper=(b + 1) / num_bins, count=k,
            accuracy=float(correct[mask].mean()) if k else None,
            confidence=float(confidences[mask].mean()) if k else None))
    return bins


def _ece_mce(bins: Sequence[CalibrationBin], n: int, min_bin_count: int
             ) -> tuple[float, float]:
    gaps = [(b.count, abs(b.accuracy - b.confidence)) for b in bins if b.count]
    ece = float(sum(k / n * g for k, g in gaps))
    dense = [g for k, g in gaps if k >= min_bin_count]
    return ece, float(max(dense)) if dense else float("nan")


def _check(confidences, correct) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(confidences, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if c.ndim != 1 or c.shape != y.shape or c.size == 0:
        raise ValueError("need equally long, non-empty 1-D confidences and correctness")
    if np.any((c < 0) | (c > 1)) or np.any(np.isnan(c)):
        raise ValueError("confidences must lie in [0, 1]")
    return c, y


def expected_calibration_error(confidences, correct, num_bins: int = DEFAULT_NUM_BINS) -> float:
    c, y = _check(confidences, correct)
    return _ece_mce(_bins(c, y, num_bins), c.size, 1)[0]


def max_calibration_error(confidences, correct, num_bins: int = DEFAULT_NUM_BINS,
                          min_bin_count: int = MCE_MIN_BIN_COUNT) -> float:
    c, y = _check(confidences, correct)
    return _ece_mce(_bins(c, y, num_bins), c.size, min_bin_count)[1]


def brier_score(probabilities: Sequence[Sequence[float]], gold: Sequence[int]) -> float:
    """Multi-category Brier score (see module doc), averaged over examples."""
    if len(probabilities) != len(gold) or not len(gold):
        raise ValueError("need one probability vector per gold index, and at least one")
    return sum(brier_term(p, g) for p, g in zip(probabilities, gold)) / len(gold)


def _gold_index(g, size: int) -> int:
    g = int(g)
    if not 0 <= g < size:
        raise ValueError(f"gold index {g} outside the {size} options")
    return g


def calibration(option_scores: Sequence[Sequence[float]], gold: Sequence[int],
                num_bins: int = DEFAULT_NUM_BINS,
                min_bin_count: int = MCE_MIN_BIN_COUNT) -> CalibrationResult:
    """Calibration of the options' softmax; `option_scores` are per-option log-scores."""
    if len(option_scores) != len(gold) or not len(gold):
        raise ValueError("need one score list per gold index, and at least one")
    probs = softmax_options(option_scores)
    gold_idx = [_gold_index(g, p.size) for g, p in zip(gold, probs)]
    pred = np.array([int(np.argmax(p)) for p in probs])
    conf = np.array([float(p[k]) for p, k in zip(probs, pred)])
    correct = (pred == np.array(gold_idx)).astype(np.float64)
    bins = _bins(conf, correct, num_bins)
    ece, mce = _ece_mce(bins, conf.size, min_bin_count)
    return CalibrationResult(
        n=int(conf.size), num_bins=num_bins, accuracy=float(correct.mean()),
        mean_confidence=float(conf.mean()), ece=ece, mce=mce,
        brier=brier_score(probs, gold_idx), bins=tuple(bins), mce_min_bin_count=min_bin_count)


def calibration_of_predictions(confidence: Sequence[float], correct: Sequence[float],
                               brier: Sequence[float], num_bins: int = DEFAULT_NUM_BINS,
                               min_bin_count: int = MCE_MIN_BIN_COUNT) -> CalibrationResult:
    """`calibration` from already-made predictions (top-option probability, correctness,
    Brier term per example), as the evaluator's per-example records hold them."""
    c, y = _check(confidence, correct)
    bins = _bins(c, y, num_bins)
    ece, mce = _ece_mce(bins, c.size, min_bin_count)
    return CalibrationResult(
        n=int(c.size), num_bins=num_bins, accuracy=float(y.mean()),
        mean_confidence=float(c.mean()), ece=ece, mce=mce,
        brier=float(np.mean(np.asarray(brier, dtype=np.float64))), bins=tuple(bins),
        mce_min_bin_count=min_bin_count)


# ----------------------------------------------------- per example, for the bootstrap
CALIBRATION_KEYS = ("ece", "mce", "brier")


def example_stats(confidence: Sequence[float], correct: Sequence[float],
                  brier: Sequence[float], num_bins: int = DEFAULT_NUM_BINS) -> np.ndarray:
    """[n, 3 * num_bins + 1]: per bin (count, confidence, correctness) of the example's
    own bin, then its Brier term. A bin depends only on the example's confidence, so
    summed rows give every bin's totals for any resample of the examples."""
    c, y = _check(confidence, correct)
    out = np.zeros((c.size, 3 * num_bins + 1))
    idx = bin_indices(c, num_bins)
    rows = np.arange(c.size)
    out[rows, 3 * idx] = 1.0
    out[rows, 3 * idx + 1] = c
    out[rows, 3 * idx + 2] = y
    out[:, -1] = np.asarray(brier, dtype=np.float64)
    return out


def combine(key: str, sums: np.ndarray, n: int | None = None,
            min_bin_count: int = MCE_MIN_BIN_COUNT) -> np.ndarray:
    """ECE, MCE or Brier from summed `example_stats` ([..., 3B + 1] -> [...]).

    Normalised by the summed bin counts, not `n`, so rows that pool several templates
    of one example (counts summing to the number of templates) give the pooled numbers.
    """
    sums = np.asarray(sums, dtype=np.float64)
    num_bins = (sums.shape[-1] - 1) // 3
    bins = sums[..., :3 * num_bins].reshape(*sums.shape[:-1], num_bins, 3)
    count, conf, acc = bins[..., 0], bins[..., 1], bins[..., 2]
    total = count.sum(axis=-1)
    if key == "brier":
        return sums[..., -1] / total
    gap_sum = np.abs(conf - acc)                         # = count * |conf - acc|
    if key == "ece":
        return gap_sum.sum(axis=-1) / total
    if key == "mce":
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = np.where(count >= min_bin_count, gap_sum / np.maximum(count, 1), -np.inf)
        best = gap.max(axis=-1)
        return np.where(np.isfinite(best), best, np.nan)
    raise ValueError(f"unknown calibration key {key!r}; valid: {', '.join(CALIBRATION_KEYS)}")


def brier_term(probabilities: Sequence[float], gold: int) -> float:
    """One example's Brier term (see `brier_score`)."""
    p = np.asarray(probabilities, dtype=np.float64)
    onehot = np.zeros_like(p)
    onehot[_gold_index(gold, p.size)] = 1.0
    return float(np.sum((p - onehot) ** 2))


def write_reliability_diagram(result: CalibrationResult, path: str | Path, title: str) -> Path:
    """PNG of accuracy per confidence bin against the diagonal of perfect calibration.

    Uses matplotlib's Agg canvas directly (no pyplot), so it works headless and
    leaves the process's global backend alone.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    width = 1.0 / result.num_bins
    filled = [b for b in result.bins if b.count]
    centers = [(b.lower + b.upper) / 2 for b in filled]
    accs = [b.accuracy for b in filled]
    confs = [b.confidence for b in filled]
    ax.bar(centers, accs, width=width, edgecolor="black", color="tab:blue",
           label="accuracy")
    # The gap between the bar and the bin's mean confidence is what ECE weighs.
    ax.bar(centers, [c - a for c, a in zip(confs, accs)], bottom=accs, width=width,
           edgecolor="tab:red", color="tab:red", alpha=0.25, label="gap to confidence")
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    for x, a, b in zip(centers, accs, filled):
        ax.text(x, min(a, 0.97) + 0.01, str(b.count), ha="center", va="bottom", fontsize=6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("confidence (top option probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=10)
    ax.text(0.02, 0.97, f"ECE {100 * result.ece:.1f}  MCE {100 * result.mce:.1f}  "
            f"Brier {result.brier:.3f}  n={result.n}",
            transform=ax.transAxes, va="top", fontsize=8)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path

