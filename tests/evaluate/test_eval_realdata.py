"""Evaluation on the real validation files of ../shared/realdata, which (like a user's
offline downloads) hold no train split: zero-shot scores every example under every
template; the best-dev template is reported as unavailable, not invented."""
import json
import logging

import pytest

from flan_repro.data.sources import DataNotFoundError
from flan_repro.evaluate import runner
from flan_repro.registry import RegistryConfig
from flan_repro.registry import examples as ex_lib


def test_rte_and_cb_zero_shot_without_a_train_split(realdata, tiny_t5, tmp_path, caplog):
    cfg = RegistryConfig(data_dir=f"jsonl:{realdata}")
    with caplog.at_level(logging.WARNING, logger="flan_repro.evaluate.runner"):
        r = runner.evaluate_cluster(tiny_t5, "nli", "instruction", 0, tmp_path,
                                    datasets=["rte", "cb"], registry=cfg, batch_size=32,
                                    max_input_length=256, plots=False)
    counts = {"rte": 277, "cb": 56}
    for name, n in counts.items():
        res = r["results"][name]
        templates = ex_lib.eval_template_indices(cfg, name)
        assert res["templates"] == templates and len(templates) > 1
        assert res["num_examples"] == {"test": n * len(templates)}
        assert set(res["per_template"]) == {"test"}
        for metrics in res["per_template"]["test"].values():
            assert 0 <= metrics["accuracy"] <= 100
        assert res["calibration"]["pooled"]["n"] == n * len(templates)
        assert res["best_dev_unavailable"] and "train[-" in res["best_dev_unavailable"]
        assert res["summary"]["best_dev"] is None
        on_disk = json.loads((tmp_path / name / "instruction_0shot.json").read_text())
        assert on_disk["best_dev_unavailable"] == res["best_dev_unavailable"]
    # one warning line per dataset, and the cluster's best-dev number says it fell back
    warnings = [m for m in caplog.messages if "no best-dev template" in m]
    assert len(warnings) == 2
    assert list(r["summary"]["best_dev"]["mean_fallbacks"]) == ["rte", "cb"]


def test_few_shot_without_a_train_split_says_where_exemplars_come_from(realdata):
    cfg = RegistryConfig(data_dir=f"jsonl:{realdata}")
    with pytest.raises(DataNotFoundError, match=r"rte: 2-shot prompts draw their exemplars "
                                                r"from the 'train' split"):
        ex_lib.render_split(cfg, "rte", "test", shots=2, template=0)


def test_flan_validation_names_the_raw_split_to_pass(realdata):
    cfg = RegistryConfig(data_dir=f"jsonl:{realdata}")
    with pytest.raises(DataNotFoundError, match=r"pass --split raw:validation"):
        ex_lib.render_split(cfg, "rte", "validation", template=0)
    assert len(ex_lib.render_split(cfg, "rte", "raw:validation", template=0)) == 277
