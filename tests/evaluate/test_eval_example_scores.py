"""example_scores: summed per-example statistics give exactly metric_table's numbers."""
import numpy as np
import pytest

from flan_repro.evaluate import example_scores as es, metric_table as mt

pytest.importorskip("t5.evaluation.metrics")

RNG = np.random.default_rng(7)
WORDS = "the a cat dog sat ran on under mat rug quickly slowly red blue . ,".split()


def _sentence(rng, k):
    return " ".join(rng.choice(WORDS, size=k))


def _data(metric, n=60):
    rng = np.random.default_rng(len(metric))
    if metric == "accuracy":
        return rng.integers(0, 3, n).tolist(), rng.integers(0, 3, n).tolist()
    if metric in ("multirc_f1a", "f1_binary"):
        return rng.integers(0, 2, n).tolist(), rng.integers(0, 3, n).tolist()  # 2 = invalid
    if metric in ("squad", "trivia_qa", "record"):
        answers = [[_sentence(rng, 2), _sentence(rng, 3)] for _ in range(n)]
        preds = [a[int(rng.integers(0, 2))] if rng.random() < 0.4 else _sentence(rng, 2)
                 for a in answers]
        return answers, preds
    if metric == "bleu":
        return [_sentence(rng, 9) for _ in range(n)], [_sentence(rng, 8) for _ in range(n)]
    if metric == "rouge":
        return ([[_sentence(rng, 8), _sentence(rng, 6)] for _ in range(n)],
                [_sentence(rng, 7) for _ in range(n)])
    if metric == "edit_distance":
        return [_sentence(rng, 6) for _ in range(n)], [_sentence(rng, 5) for _ in range(n)]
    raise AssertionError(metric)


@pytest.mark.parametrize("metric,key", sorted(es.TABLE))
def test_summed_statistics_equal_the_metric(metric, key):
    targets, preds = _data(metric)
    groups = list(range(len(targets))) if metric == "record" else None
    want = mt.compute_metrics([metric], targets, preds, groups)[key]
    stats = es.example_stats(metric, key, targets, preds)
    assert stats.shape[0] == len(targets)
    assert float(es.combine(metric, key, stats.sum(axis=0), len(targets))) == \
        pytest.approx(want, abs=1e-9)


def test_bleu_with_several_references_per_example():
    rng = np.random.default_rng(3)
    refs = [[_sentence(rng, 9), _sentence(rng, 7)] for _ in range(30)]
    preds = [_sentence(rng, 8) for _ in range(30)]
    stats = es.example_stats("bleu", "bleu", refs, preds)
    assert float(es.combine("bleu", "bleu", stats.sum(axis=0), 30)) == \
        pytest.approx(mt.bleu(refs, preds)["bleu"], abs=1e-9)


def test_metric_for_key_and_unsupported_metrics():
    assert es.metric_for_key(["trivia_qa"], "f1") == "trivia_qa"
    assert es.metric_for_key(["accuracy", "f1_3class_mean"], "accuracy") == "accuracy"
    assert not es.supported("pearson", "pearson_corrcoef")
    with pytest.raises(ValueError, match="no per-example form of pearson"):
        es.example_stats("pearson", "pearson_corrcoef", [1.0], [1])
    assert es.is_mean("rouge", "rougeLsum") and not es.is_mean("bleu", "bleu")


def test_every_primary_metric_of_the_catalogue_has_a_per_example_form():
    from flan_repro.catalogue import load
    for name, spec in load().datasets.items():
        key = mt.primary_metric(spec.metrics, name)
        assert es.supported(es.metric_for_key(spec.metrics, key), key), name
