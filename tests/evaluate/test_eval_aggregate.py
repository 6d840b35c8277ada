"""aggregate: mean over templates, best-dev template, cluster averages."""
import json

import pytest

from flan_repro import catalogue
from flan_repro.evaluate import aggregate as agg

# Template 2 is best on dev, but template 0 is best on test: the report must follow dev.
DEV = [{"accuracy": 50.0, "f1": 10.0}, {"accuracy": 55.0, "f1": 90.0},
       {"accuracy": 60.0, "f1": 20.0}]
TEST = [{"accuracy": 70.0, "f1": 1.0}, {"accuracy": 40.0, "f1": 2.0},
        {"accuracy": 52.0, "f1": 3.0}]


def test_mean_and_per_template():
    assert agg.mean_over_templates(TEST) == {"accuracy": pytest.approx(54.0), "f1": 2.0}
    assert agg.per_template(TEST, "accuracy") == {0: 70.0, 1: 40.0, 2: 52.0}
    assert agg.std_over_templates([{"a": 1.0}, {"a": 3.0}]) == {"a": pytest.approx(2 ** 0.5)}
    assert agg.std_over_templates([{"a": 1.0}]) == {"a": 0.0}
    with pytest.raises(ValueError, match="reports"):
        agg.mean_over_templates([{"a": 1.0}, {"b": 1.0}])


def test_best_dev_template_uses_the_primary_metric_and_reports_its_test_score():
    assert agg.best_dev_template(DEV, "accuracy") == 2
    assert agg.best_dev_template(DEV, "f1") == 1
    s = agg.summarize_dataset("rte", "accuracy", TEST, DEV)
    assert s.best_dev_template == 2 and s.best_dev == TEST[2]
    assert s.score("best_dev") == 52.0
    assert s.score("mean") == pytest.approx(54.0)
    assert s.num_templates == 3 and s.dev_primary == {0: 50.0, 1: 55.0, 2: 60.0}
    json.dumps(s.to_dict())


def test_best_dev_ties_go_to_the_first_template_and_nan_never_wins():
    dev = {"t3": {"em": 40.0}, "t1": {"em": 45.0}, "t7": {"em": 45.0}, "t9": {"em": float("nan")}}
    assert agg.best_dev_template(dev, "em") == "t1"
    assert agg.best_dev_template([{"em": float("nan")}, {"em": 1.0}], "em") == 1


def test_best_dev_for_edit_distance_is_the_smallest():
    dev = [{"mean_edit": 3.0}, {"mean_edit": 1.5}, {"mean_edit": 2.0}]
    assert agg.best_dev_template(dev, "mean_edit") == 1


def test_dev_and_test_must_share_templates():
    with pytest.raises(ValueError, match="differ"):
        agg.summarize_dataset("rte", "accuracy", TEST, DEV[:2])
    with pytest.raises(KeyError, match="primary"):
        agg.summarize_dataset("rte", "bleu", TEST, DEV)


def test_cluster_average_counts_anli_rounds_separately():
    cat = catalogue.load()
    nli = list(cat.cluster("nli").reported)
    assert nli == ["anli_r1", "anli_r2", "anli_r3", "cb", "rte"]
    means = {"anli_r1": 30.0, "anli_r2": 40.0, "anli_r3": 50.0, "cb": 60.0, "rte": 70.0}
    summaries = {n: agg.summarize_dataset(n, "accuracy", [{"accuracy": v - 1}, {"accuracy": v + 1}],
                                          [{"accuracy": 0.0}, {"accuracy": 1.0}])
                 for n, v in means.items()}
    c = agg.summarize_cluster("nli", summaries, nli, mode="mean")
    assert c.average == pytest.approx(50.0)          # not mean(ANLI 40, CB 60, RTE 70) = 56.7
    assert c.scores == {n: pytest.approx(v) for n, v in means.items()}
    b = agg.summarize_cluster("nli", summaries, nli, mode="best_dev")
    assert b.average == pytest.approx(51.0)          # template 1 everywhere: v + 1
    json.dumps(c.to_dict())
    with pytest.raises(KeyError):
        agg.summarize_cluster("nli", summaries, nli + ["snli"])
    with pytest.raises(ValueError, match="score mode"):
        summaries["cb"].score("best_test")


def test_best_dev_falls_back_to_mean_without_a_dev_split():
    summaries = {"wsc273": agg.summarize_dataset("wsc273", "accuracy",
                                                 [{"accuracy": 60.0}, {"accuracy": 70.0}]),
                 "winogrande": agg.summarize_dataset("winogrande", "accuracy",
                                                     [{"accuracy": 50.0}, {"accuracy": 58.0}],
                                                     [{"accuracy": 1.0}, {"accuracy": 2.0}])}
    c = agg.summarize_cluster("coreference", summaries, ["wsc273", "winogrande"], "best_dev")
    assert c.scores == {"wsc273": 65.0, "winogrande": 58.0}
    assert c.mean_fallbacks == ("wsc273",)
    assert agg.cluster_average({"a": 1.0, "b": 2.0}) == 1.5
