"""Rank classification: pick the option the model finds most likely (pure numpy part).

Why: FLAN evaluates classification tasks by scoring every option as a target and
choosing the highest, so the model is never marked wrong for phrasing an answer
outside the option set (paper Sec. 2.5). FLAN ranks by the *summed* token
log-probability of each option (t5's `rank_classification` with its default
`normalize_by_target_length=False`); the length-normalised variant (mean per
token) is offered for ablations, because summed scores favour short options.

Ties go to the first option with the maximal score, as `np.argmax` (and hence t5)
does, so results are deterministic.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class RankResult:
    predictions: np.ndarray            # (n,) int64, the chosen option per example
    scores: tuple[np.ndarray, ...]     # per example, the score of each option used to rank

    def to_dict(self) -> dict:
        return {"predictions": self.predictions.tolist(),
                "scores": [s.tolist() for s in self.scores]}


def option_scores(option_logprobs: Sequence[Sequence[float]],
                  option_token_counts: Sequence[Sequence[int]] | None = None,
                  length_normalized: bool = False) -> tuple[np.ndarray, ...]:
    """The ranking score of every option: its summed log-prob, or that over its length."""
    if length_normalized and option_token_counts is None:
        raise ValueError("length_normalized ranking needs option_token_counts")
    if option_token_counts is not None and len(option_token_counts) != len(option_logprobs):
        raise ValueError(f"{len(option_token_counts)} token-count lists for "
                         f"{len(option_logprobs)} examples")
    out = []
    for i, lp in enumerate(option_logprobs):
        s = np.asarray(lp, dtype=np.float64)
        if s.ndim != 1 or s.size == 0:
            raise ValueError(f"example {i}: needs a non-empty 1-D list of option log-probs")
        if length_normalized:
            n = np.asarray(option_token_counts[i], dtype=np.float64)
            if n.shape != s.shape:
                raise ValueError(f"example {i}: {n.size} token counts for {s.size} options")
            if np.any(n <= 0):
                raise ValueError(f"example {i}: token counts must be positive")
            s = s / n
        out.append(s)
    return tuple(out)


def rank_classification(option_logprobs: Sequence[Sequence[float]],
                        option_token_counts: Sequence[Sequence[int]] | None = None,
                        length_normalized: bool = False) -> RankResult:
    """Predictions (first best option) and the scores they were chosen by.

    `option_logprobs[i][k]` is sum_t log p(token_t of option k | input i); the
    number of options may differ between examples. The returned scores are what
    `calibration.calibration` takes as log-scores.
    """
    scores = option_scores(option_logprobs, option_token_counts, length_normalized)
    preds = np.array([int(np.argmax(s)) for s in scores], dtype=np.int64)
    return RankResult(predictions=preds, scores=scores)
