"""metric_table: each entry must give exactly what t5.evaluation.metrics gives."""
import json

import numpy as np
import pytest

from flan_repro import catalogue
from flan_repro.catalogue.tables import metric_rules
from flan_repro.evaluate import calibration, metric_table as mt
from flan_repro.evaluate.rank_classification import rank_classification

t5m = pytest.importorskip("t5.evaluation.metrics")

RNG = np.random.default_rng(0)
N = 40
GOLD3 = RNG.integers(0, 3, N).tolist()
PRED3 = RNG.integers(0, 3, N).tolist()
GOLD2 = RNG.integers(0, 2, N).tolist()
PRED2 = RNG.integers(0, 2, N).tolist()

QA_TARGETS = [["Paris", "paris, France"], ["the Beatles"], ["42"],
              ["George Washington", "Washington"]]
QA_PREDS = ["Paris", "Beatles", "forty two", "washington"]

SUMMARIES = ["the cat sat on the mat .", "a quick brown fox jumps over the lazy dog",
             "rain is expected tomorrow in the north", "stocks fell sharply on monday"]
GENERATED = ["a cat sat on a mat .", "the quick fox jumped over a dog",
             "tomorrow rain in the north", "markets rose on tuesday"]


def _same(ours, theirs):
    assert set(ours) == set(theirs)
    for k in theirs:
        assert ours[k] == pytest.approx(float(theirs[k]), abs=1e-9), k
        assert type(ours[k]) is float


def test_every_catalogue_metric_is_in_the_table():
    cat = catalogue.load()
    used = {m for d in cat.datasets.values() for m in d.metrics}
    assert used <= set(mt.METRICS)
    assert set(mt.METRICS) == used, "table entries that no dataset uses"


def test_metrics_yaml_names_every_function_and_its_primary_keys_are_result_keys():
    rules = metric_rules()
    assert sorted(rules.metric_names) == sorted(mt.METRICS)
    for name, key in rules.primary_keys.items():
        assert key in mt.metric_spec(name).keys, name
    edit_keys = set(mt.metric_spec("edit_distance").keys)
    assert rules.lower_is_better == edit_keys


def test_accuracy():
    _same(mt.accuracy(GOLD3, PRED3), t5m.accuracy(GOLD3, PRED3))
    # generation accuracy (Math): exact strings
    _same(mt.accuracy(["x = 2", "4"], ["x = 2", "5"]), t5m.accuracy(["x = 2", "4"], ["x = 2", "5"]))


def test_f1_3class_mean():
    _same(mt.f1_3class_mean(GOLD3, PRED3), t5m.mean_multiclass_f1(num_classes=3)(GOLD3, PRED3))


def test_f1_binary_counts_invalid_as_wrong_and_leaves_input_alone():
    preds = np.array(PRED2[:-3] + [2, 2, 5])
    keep = preds.copy()
    ours = mt.f1_binary(GOLD2, preds)
    _same(ours, t5m.f1_score_with_invalid(np.array(GOLD2), preds.copy()))
    assert np.array_equal(preds, keep)


def test_pearson_spearman():
    gold = RNG.uniform(0, 5, N).round(2).tolist()
    pred = RNG.integers(0, 6, N).tolist()
    _same(mt.pearson(gold, pred), t5m.pearson_corrcoef(gold, [float(p) for p in pred]))
    _same(mt.spearman(gold, pred), t5m.spearman_corrcoef(gold, [float(p) for p in pred]))


def test_multirc():
    groups = [i // 4 for i in range(N)]     # 10 questions of 4 answer-options
    t = [{"value": g, "group": q} for g, q in zip(GOLD2, groups)]
    p = [{"value": x} for x in PRED2]
    theirs_f1 = t5m.multirc_f1_over_all_answers(t, p)
    assert mt.multirc_f1a(GOLD2, PRED2, groups) == {"f1a": pytest.approx(float(theirs_f1["f1"]))}
    _same(mt.multirc_em(GOLD2, PRED2, groups), t5m.mean_group_metric(t5m.all_match)(t, p))
    # sanity: one wrong answer-option spoils its whole question
    assert mt.multirc_em([1, 0, 1, 1], [1, 0, 1, 0], [7, 7, 8, 8])["exact_match"] == 50.0
    with pytest.raises(ValueError, match="idx/question"):
        mt.multirc_em(GOLD2, PRED2)


def test_record_deduplicates_rows_of_one_query():
    targets = [["Obama"], ["Obama"], ["the UN", "United Nations"], ["Paris"]]
    preds = ["Obama", "Biden", "United Nations", "London"]
    groups = [(0, 0), (0, 0), (0, 1), [1, 0]]   # a JSON-style list group works too
    t = [{"group": tuple(g), "value": a} for g, a in zip(groups, targets)]
    p = [{"value": x} for x in preds]
    ours = mt.record(targets, preds, groups)
    _same(ours, t5m.deduplicate_metric(t5m.squad)(t, p))
    assert ours["em"] == pytest.approx(200 / 3)
    # without groups every row is its own query: plain SQuAD
    _same(mt.record(targets, preds), t5m.squad(targets, preds))


def test_squad_and_trivia_qa():
    _same(mt.squad(QA_TARGETS, QA_PREDS), t5m.squad(QA_TARGETS, QA_PREDS))
    _same(mt.trivia_qa(QA_TARGETS, QA_PREDS), t5m.trivia_qa(QA_TARGETS, QA_PREDS))
    # a bare string target is one acceptable answer
    _same(mt.squad(["Paris", "42"], ["paris", "41"]),
          t5m.squad([["Paris"], ["42"]], ["paris", "41"]))


def test_bleu():
    _same(mt.bleu(SUMMARIES, GENERATED), t5m.bleu(SUMMARIES, GENERATED))
    refs = [[a, b] for a, b in zip(SUMMARIES, GENERATED[::-1])]
    # per-example reference lists become t5's reference streams
    _same(mt.bleu(refs, GENERATED), t5m.bleu([SUMMARIES, GENERATED[::-1]], GENERATED))


def _flan_rouge_fn(targets, predictions):
    """google-research/FLAN flan/metrics.py rouge_fn, written out independently, with
    t5.rouge of each picked pair averaged (the mean t5's bootstrap median estimates)."""
    types = ["rouge1", "rouge2", "rougeLsum"]
    out = {k: [] for k in types}
    for refs, pred in zip(targets, predictions):
        scores = [t5m.rouge([r], [pred]) for r in refs]
        for k in types:
            out[k].append(scores[int(np.argmax([s[k] for s in scores]))][k])
    return {k: float(np.mean(v)) for k, v in out.items()}


def test_rouge_is_the_mean_of_t5s_per_pair_scores_single_and_multi_reference():
    _same(mt.rouge(SUMMARIES, GENERATED), _flan_rouge_fn([[s] for s in SUMMARIES], GENERATED))
    # best reference first, second, and a lone reference, in one corpus
    multi = [[SUMMARIES[0], "an unrelated reference about nothing"],
             [SUMMARIES[1], "the quick fox jumped over a dog today"], [SUMMARIES[2]]]
    ours = mt.rouge(multi, GENERATED[:3])
    _same(ours, _flan_rouge_fn(multi, GENERATED[:3]))
    assert ours["rouge1"] > mt.rouge([m[0] for m in multi], GENERATED[:3])["rouge1"]
    per = mt.rouge_per_example(multi, GENERATED[:3])
    assert {k: float(np.mean(v)) for k, v in per.items()} == ours


def test_rouge_does_not_depend_on_numpys_global_rng():
    """t5.rouge's bootstrap draws from numpy's global RNG; ours must not move with it."""
    state = np.random.get_state()
    try:
        np.random.seed(1)
        first = mt.rouge(SUMMARIES, GENERATED)
        np.random.seed(12345)
        np.random.random(1000)
        second = mt.rouge(SUMMARIES, GENERATED)
    finally:
        np.random.set_state(state)
    assert first == second
    # and it is the quantity t5's bootstrap estimates: t5's median lies near it
    theirs = t5m.rouge(SUMMARIES, GENERATED)
    for k in first:
        assert abs(first[k] - theirs[k]) < 10, k


def test_pair_rouge_shortcut_equals_t5_rouge_on_one_pair():
    pairs = list(zip(SUMMARIES, GENERATED)) + [
        ("first sentence . second one here .", "first sentence . another one ."),
        ("", "something"), ("same words", "same words")]
    for ref, pred in pairs:
        theirs = t5m.rouge([ref], [pred])
        ours = mt._pair_rouge(ref, pred)
        assert ours == {k: pytest.approx(float(v), abs=1e-12) for k, v in theirs.items()}


def test_edit_distance():
    t = ["Hello, world!", "It's fine."]
    p = ["hello world", "Its fine"]
    _same(mt.edit_distance(t, p), t5m.edit_distance(t, p))


def test_compute_metrics_merges_and_rounds_stsb_gold_like_flan():
    gold = [0.4, 2.5, 3.5, 4.8, 1.2]
    pred = [0, 2, 4, 5, 3]
    out = mt.compute_metrics(["accuracy", "pearson", "spearman"], gold, pred)
    assert set(out) == {"accuracy", "pearson_corrcoef", "spearman_corrcoef"}
    assert out["accuracy"] == 80.0          # 2.5 -> "2", 3.5 -> "4": round half to even
    assert [mt.stsb_gold_option(x) for x in gold] == [0, 2, 4, 5, 1]
    assert out["pearson_corrcoef"] == pytest.approx(
        float(t5m.pearson_corrcoef(gold, [float(x) for x in pred])["pearson_corrcoef"]))

    cb = mt.compute_metrics(["accuracy", "f1_3class_mean"], GOLD3, PRED3)
    assert set(cb) == {"accuracy", "mean_3class_f1"}
    mrc = mt.compute_metrics(["accuracy", "multirc_f1a", "multirc_em"], GOLD2, PRED2,
                             groups=[i // 4 for i in range(N)])
    assert set(mrc) == {"accuracy", "f1a", "exact_match"}
    json.dumps(mrc)


def test_compute_metrics_rejects_bad_input():
    with pytest.raises(ValueError, match="both report"):
        mt.compute_metrics(["squad", "trivia_qa"], QA_TARGETS, QA_PREDS)
    with pytest.raises(ValueError, match="Did you mean 'accuracy'"):
        mt.compute_metrics(["acuracy"], [1], [1])
    with pytest.raises(ValueError, match="predictions"):
        mt.compute_metrics(["accuracy"], [1, 0], [1])
    with pytest.raises(ValueError, match="no examples"):
        mt.compute_metrics(["accuracy"], [], [])


def test_primary_metric_of_every_catalogue_entry_is_one_of_its_keys():
    cat = catalogue.load()
    for d in cat.datasets.values():
        keys = {k for m in d.metrics for k in mt.metric_spec(m).keys}
        assert mt.primary_metric(d.metrics, d.name) in keys, d.name
    expect = {"anli_r1": "accuracy", "cb": "accuracy", "glue_mrpc": "accuracy",
              "stsb": "accuracy", "multirc": "f1a", "record": "em", "squad_v2": "f1",
              "drop": "f1", "coqa": "f1", "natural_questions": "em", "trivia_qa": "em",
              "quac": "f1", "wmt16_translate_deen": "bleu", "xsum": "rougeLsum",
              "dart": "rougeLsum", "fix_punct": "mean_edit", "math_dataset": "accuracy"}
    for name, key in expect.items():
        assert mt.primary_metric(cat.dataset(name).metrics, name) == key, name
    assert not mt.higher_is_better("mean_edit") and mt.higher_is_better("bleu")


def test_gold_scorer_is_perfect_and_uniform_scorer_is_at_chance():
    # K options, gold spread evenly over 0..K-1: a uniform scorer always picks option 0.
    for k in (2, 3, 4):
        gold = [i % k for i in range(12 * k)]
        uniform = [[-1.7] * k for _ in gold]
        pred = rank_classification(uniform).predictions
        assert mt.compute_metrics(["accuracy"], gold, pred)["accuracy"] == pytest.approx(100 / k)
        cal = calibration.calibration(uniform, gold)
        assert cal.ece == pytest.approx(0.0, abs=1e-12)     # confidence 1/k, accuracy 1/k
        assert cal.brier == pytest.approx(1 - 1 / k)

        gold_mass = [[0.0 if j == g else -np.inf for j in range(k)] for g in gold]
        pred = rank_classification(gold_mass).predictions
        assert mt.compute_metrics(["accuracy"], gold, pred)["accuracy"] == 100.0
        cal = calibration.calibration(gold_mass, gold)
        assert (cal.accuracy, cal.ece, cal.mce, cal.brier) == (1.0, 0.0, 0.0, 0.0)
