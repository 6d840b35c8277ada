"""calibration: checked against a separate, loop-by-loop computation."""
import json
import math

import numpy as np
import pytest

from flan_repro.evaluate import calibration as cal


def _reference(option_scores, gold, num_bins):
    """ECE, MCE, Brier, written plainly: Python softmax, np.digitize bins, loops."""
    confs, correct, brier_terms = [], [], []
    for scores, g in zip(option_scores, gold):
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        z = sum(exps)
        probs = [e / z for e in exps]
        best = 0
        for j in range(1, len(probs)):
            if probs[j] > probs[best]:
                best = j
        confs.append(probs[best])
        correct.append(1.0 if best == g else 0.0)
        brier_terms.append(sum((p - (1.0 if j == g else 0.0)) ** 2 for j, p in enumerate(probs)))
    edges = [b / num_bins for b in range(num_bins + 1)]
    # right=True: edges[i-1] < c <= edges[i]  ->  bin i-1; c == 0 -> 0 -> bin 0
    which = [max(int(np.digitize(c, edges, right=True)) - 1, 0) for c in confs]
    n = len(confs)
    ece, mce = 0.0, 0.0
    for b in range(num_bins):
        members = [i for i in range(n) if which[i] == b]
        if not members:
            continue
        acc = sum(correct[i] for i in members) / len(members)
        conf = sum(confs[i] for i in members) / len(members)
        ece += len(members) / n * abs(acc - conf)
        mce = max(mce, abs(acc - conf))
    return ece, mce, sum(brier_terms) / n, sum(correct) / n


@pytest.mark.parametrize("seed,num_bins", [(0, 15), (1, 10), (2, 1), (3, 7)])
def test_matches_independent_computation_on_random_inputs(seed, num_bins):
    rng = np.random.default_rng(seed)
    n = 300
    counts = rng.integers(2, 7, n)                 # ragged: 2..6 options per example
    scores = [(rng.normal(size=k) * rng.uniform(0.1, 4)).tolist() for k in counts]
    gold = [int(rng.integers(0, k)) for k in counts]
    got = cal.calibration(scores, gold, num_bins=num_bins, min_bin_count=1)
    ece, mce, brier, acc = _reference(scores, gold, num_bins)
    assert got.ece == pytest.approx(ece, abs=1e-12)
    assert got.mce == pytest.approx(mce, abs=1e-12)
    assert got.brier == pytest.approx(brier, abs=1e-12)
    assert got.accuracy == pytest.approx(acc)
    assert sum(b.count for b in got.bins) == n and len(got.bins) == num_bins
    json.dumps(got.to_dict())


def test_bin_edges_are_right_closed_and_zero_goes_first():
    b = 15
    conf = np.array([0.0, 1 / b, 1 / b + 1e-12, 2 / b, 0.5, 1.0 - 1e-12, 1.0])
    assert cal.bin_indices(conf, b).tolist() == [0, 0, 1, 1, 7, 14, 14]
    assert cal.bin_indices(np.array([0.0, 0.25, 0.5, 0.75, 1.0]), 4).tolist() == [0, 0, 1, 2, 3]


def test_ece_and_mce_by_hand():
    # bin (0.5, 0.75]: conf .6, .7, acc 1/2 -> gap .15; bin (0.75, 1]: conf .9, acc 1 -> .1
    conf = [0.6, 0.7, 0.9]
    correct = [1, 0, 1]
    expected = 2 / 3 * 0.15 + 1 / 3 * 0.1
    assert cal.expected_calibration_error(conf, correct, 4) == pytest.approx(expected)
    assert cal.max_calibration_error(conf, correct, 4, min_bin_count=1) == \
        pytest.approx(0.15)                                                 # empty bins ignored
    # sparse bins: with at least 2 examples a bin, only (0.5, 0.75] counts; with 3, none
    assert cal.max_calibration_error(conf, correct, 4, min_bin_count=2) == pytest.approx(0.15)
    assert np.isnan(cal.max_calibration_error(conf, correct, 4, min_bin_count=3))


def test_a_bin_of_one_example_does_not_decide_the_mce():
    conf = [0.55] * 20 + [0.99]
    correct = [1] * 11 + [0] * 9 + [0]          # bin (.5, .6]: acc .55 = conf; lone .99 wrong
    assert cal.max_calibration_error(conf, correct, 10, min_bin_count=1) == pytest.approx(0.99)
    assert cal.max_calibration_error(conf, correct, 10) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("min_bin_count", [1, 10])
def test_summed_example_stats_give_ece_mce_brier(min_bin_count):
    rng = np.random.default_rng(5)
    n = 400
    scores = [rng.normal(size=3) * 2 for _ in range(n)]
    gold = rng.integers(0, 3, n).tolist()
    r = cal.calibration(scores, gold, min_bin_count=min_bin_count)
    probs = cal.softmax_options(scores)
    conf = [float(p.max()) for p in probs]
    correct = [float(int(np.argmax(p)) == g) for p, g in zip(probs, gold)]
    brier = [cal.brier_term(p, g) for p, g in zip(probs, gold)]
    sums = cal.example_stats(conf, correct, brier).sum(axis=0)
    assert float(cal.combine("ece", sums, n)) == pytest.approx(r.ece, abs=1e-12)
    assert float(cal.combine("mce", sums, n, min_bin_count)) == pytest.approx(r.mce, abs=1e-12)
    assert float(cal.combine("brier", sums, n)) == pytest.approx(r.brier, abs=1e-12)


def test_brier_uses_the_full_option_distribution():
    probs = [[0.7, 0.2, 0.1], [0.5, 0.5]]
    gold = [0, 1]
    expected = ((0.3 ** 2 + 0.2 ** 2 + 0.1 ** 2) + (0.5 ** 2 + 0.5 ** 2)) / 2
    assert cal.brier_score(probs, gold) == pytest.approx(expected)
    assert cal.brier_score([[0.0, 1.0]], [0]) == pytest.approx(2.0)   # the maximum


def test_softmax_is_shift_invariant_and_handles_impossible_options():
    p = cal.softmax_options([[1000.0, 1000.0 + math.log(3)], [0.0, -np.inf, 0.0]])
    assert p[0].tolist() == pytest.approx([0.25, 0.75])
    assert p[1].tolist() == pytest.approx([0.5, 0.0, 0.5])
    with pytest.raises(ValueError):
        cal.softmax_options([[-np.inf, -np.inf]])


def test_ties_pick_the_first_option():
    r = cal.calibration([[0.0, 0.0, -1.0]], [1])
    assert r.accuracy == 0.0 and r.mean_confidence == pytest.approx(np.exp(0) / (2 + np.exp(-1)))


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        cal.calibration([[0.0, 1.0]], [2])
    with pytest.raises(ValueError):
        cal.calibration([], [])
    with pytest.raises(ValueError):
        cal.expected_calibration_error([1.2], [1])


def test_reliability_diagram_is_a_png(tmp_path):
    rng = np.random.default_rng(5)
    scores = [rng.normal(size=3).tolist() for _ in range(200)]
    gold = rng.integers(0, 3, 200).tolist()
    result = cal.calibration(scores, gold)
    path = cal.write_reliability_diagram(result, tmp_path / "sub" / "rel.png", "RTE, template 3")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (500, 500)
    from matplotlib.image import imread
    assert imread(str(path)).shape[:2] == (500, 500)
