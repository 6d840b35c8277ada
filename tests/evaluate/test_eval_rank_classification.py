"""rank_classification: summed log-prob by default, per-token on request, first max wins."""
import json

import numpy as np
import pytest

from flan_repro.evaluate.rank_classification import option_scores, rank_classification


def test_summed_logprob_is_the_default_and_favours_short_options():
    logprobs = [[-3.0, -4.0], [-2.0, -1.0, -5.0]]
    counts = [[1, 4], [1, 1, 10]]
    r = rank_classification(logprobs, counts)
    assert r.predictions.tolist() == [0, 1]
    assert [s.tolist() for s in r.scores] == logprobs
    n = rank_classification(logprobs, counts, length_normalized=True)
    assert n.predictions.tolist() == [1, 2]          # -3/1 < -4/4 and -1/1 < -5/10
    assert n.scores[0].tolist() == [-3.0, -1.0]
    assert n.predictions.dtype == np.int64
    json.dumps(n.to_dict())


def test_ties_go_to_the_first_option():
    r = rank_classification([[-1.0, -1.0], [-2.0, -0.5, -0.5], [0.0]])
    assert r.predictions.tolist() == [0, 1, 0]


def test_accepts_a_2d_array():
    arr = np.array([[-1.0, -0.2, -3.0], [-0.1, -0.2, -0.3]])
    assert rank_classification(arr).predictions.tolist() == [1, 0]


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="token_counts"):
        rank_classification([[-1.0]], length_normalized=True)
    with pytest.raises(ValueError, match="positive"):
        option_scores([[-1.0, -2.0]], [[1, 0]], length_normalized=True)
    with pytest.raises(ValueError, match="token counts"):
        option_scores([[-1.0, -2.0]], [[1]], length_normalized=True)
    with pytest.raises(ValueError):
        rank_classification([[]])
