"""bootstrap: intervals that cover the truth, paired tests that find planted differences
and none where there are none, and draws that depend on nothing but their inputs."""
import numpy as np
import pytest

from flan_repro.evaluate import bootstrap as bs

ACC = bs.metric_combine("accuracy", "accuracy")


def _table(correct, dataset="d", ids=None):
    """[seeds, templates, n] of 0/1 -> an accuracy ScoreTable."""
    c = np.asarray(correct, dtype=np.float64)
    if c.ndim == 1:
        c = c[None, None]
    elif c.ndim == 2:
        c = c[None]
    ids = tuple(range(c.shape[2])) if ids is None else ids
    return bs.ScoreTable(dataset, 100 * c[..., None], ids, ACC)


def test_interval_covers_a_known_accuracy_in_95_percent_of_simulations():
    rng = np.random.default_rng(2026)
    truth, n, sims, covered = 0.7, 300, 400, 0
    for s in range(sims):
        t = _table(rng.random(n) < truth)
        lo, hi = bs.Analysis({"r": {"d": t}}, replicates=1000, seed=s).dataset("r", "d").ci95
        covered += lo <= 100 * truth <= hi
    assert 0.93 <= covered / sims <= 0.97, covered / sims


def test_cluster_interval_covers_the_mean_of_three_datasets():
    rng = np.random.default_rng(11)
    truths, n, sims, covered = (0.4, 0.6, 0.8), 200, 400, 0
    for s in range(sims):
        rows = {"r": {f"d{i}": _table(rng.random(n) < p, f"d{i}") for i, p in enumerate(truths)}}
        lo, hi = bs.Analysis(rows, replicates=600, seed=s).cluster("r", ["d0", "d1", "d2"]).ci95
        covered += lo <= 100 * np.mean(truths) <= hi
    assert 0.93 <= covered / sims <= 0.97, covered / sims


def _paired_rows(rng, n, pa, pb, templates=3):
    """Two rows on the same examples: an example's difficulty is shared by both rows and
    every template, as in an ablation."""
    easy = rng.random(n)
    a = np.stack([(easy + 0.1 * rng.standard_normal(n)) < pa for _ in range(templates)])
    b = np.stack([(easy + 0.1 * rng.standard_normal(n)) < pb for _ in range(templates)])
    return {"a": {"d": _table(a)}, "b": {"d": _table(b)}}


def test_paired_test_finds_a_planted_five_point_difference_at_n_2000():
    rows = _paired_rows(np.random.default_rng(5), 2000, 0.75, 0.70)
    c = bs.Analysis(rows).compare("a", "b", ["d"])
    assert 3 < c.diff < 7
    assert c.p_value < 0.05 and c.significant and c.ci95[0] > 0
    assert c.min_detectable < 5


def test_identical_rows_are_not_different():
    rows = _paired_rows(np.random.default_rng(6), 2000, 0.7, 0.7)
    rows["b"] = rows["a"]
    c = bs.Analysis(rows).compare("a", "b", ["d"])
    assert c.diff == 0 and c.p_value > 0.05 and not c.significant
    # two rows of the same quality, scored independently: no false alarm here either
    rows = _paired_rows(np.random.default_rng(8), 2000, 0.7, 0.7)
    assert bs.Analysis(rows).compare("a", "b", ["d"]).p_value > 0.05


def test_pairing_narrows_the_interval_of_a_difference():
    rows = _paired_rows(np.random.default_rng(9), 500, 0.72, 0.70)
    an = bs.Analysis(rows)
    c = an.compare("a", "b", ["d"])
    unpaired = np.hypot(an.dataset("a", "d").se, an.dataset("b", "d").se)
    assert c.se < 0.6 * unpaired


def test_results_do_not_depend_on_global_state_or_on_other_datasets():
    rng = np.random.default_rng(1)
    d1, d2 = _table(rng.random(100) < 0.5, "d1"), _table(rng.random(80) < 0.6, "d2")
    state = np.random.get_state()
    try:
        np.random.seed(0)
        alone = bs.Analysis({"r": {"d1": d1}}).dataset("r", "d1")
        np.random.seed(99)
        np.random.random(100)
        with_other = bs.Analysis({"r": {"d2": d2, "d1": d1}})
        with_other.dataset("r", "d2")
        after = with_other.dataset("r", "d1")
    finally:
        np.random.set_state(state)
    assert alone == after
    assert bs.Analysis({"r": {"d1": d1}}, seed=1).dataset("r", "d1") != alone


def test_seeds_widen_the_interval_and_templates_can_be_resampled():
    rng = np.random.default_rng(4)
    n = 400
    base = rng.random(n)
    # three seeds whose models differ a lot in quality; examples fixed
    seeds = np.stack([[base < p] for p in (0.5, 0.65, 0.8)])              # [3, 1, n]
    one = bs.Analysis({"r": {"d": _table(seeds[1:2])}}).dataset("r", "d")
    three = bs.Analysis({"r": {"d": _table(seeds)}}).dataset("r", "d")
    assert three.value == pytest.approx(np.mean(seeds) * 100)
    assert three.ci95[1] - three.ci95[0] > 2 * (one.ci95[1] - one.ci95[0])
    # templates of very different quality: fixed templates ignore it, resampled ones not
    tm = np.stack([base < p for p in (0.3, 0.5, 0.7, 0.9)])                # [4, n]
    fixed = bs.Analysis({"r": {"d": _table(tm)}}).dataset("r", "d")
    resampled = bs.Analysis({"r": {"d": _table(tm)}}, resample_templates=True).dataset("r", "d")
    assert fixed.value == resampled.value
    assert resampled.se > 2 * fixed.se


def test_rows_on_different_examples_cannot_be_paired():
    rng = np.random.default_rng(0)
    rows = {"a": {"d": _table(rng.random(10) < 0.5)},
            "b": {"d": _table(rng.random(10) < 0.5, ids=tuple(range(1, 11)))}}
    with pytest.raises(ValueError, match="not scored on the same examples"):
        bs.Analysis(rows).compare("a", "b", ["d"])
    with pytest.raises(KeyError, match="no per-example records for row 'c'"):
        bs.Analysis(rows).dataset("c", "d")


def test_table_from_records_orders_by_template_and_example():
    recs = [{"template": t, "example_index": i, "stats": [100.0 * ((i + t) % 2)]}
            for t in (0, 1) for i in (2, 0, 1)]
    t = bs.table_from_records("d", ACC, [recs, recs])
    assert t.stats.shape == (2, 2, 3, 1) and t.example_ids == (0, 1, 2)
    assert t.stats[0, 0, :, 0].tolist() == [0, 100, 0]
    assert t.point() == pytest.approx(50.0)
    with pytest.raises(ValueError, match="seed 1 was not scored on the same"):
        bs.table_from_records("d", ACC, [recs, recs[:-1]])
