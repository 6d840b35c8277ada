"""Every ablation (FLAN's clusters and the control's) evaluates the FLAN model with shuffled
instructions too, reports it under its own title and compares the FLAN row with it; the
control profile selects its suite through the registry config."""
import pytest

from flan_repro.ablation import report, runner, significance
from flan_repro.ablation.profile import RunConfig
from flan_repro.catalogue import UnknownNameError
from flan_repro.registry import current


@pytest.mark.parametrize("profile,cluster", [("toy", "nli"), ("control", "new_topic_pairs"),
                                             ("tests/gin/control_ci.gin", "new_topic_pairs")])
def test_plan_has_the_shuffled_instruction_row(profile, cluster, tmp_path):
    run = RunConfig.load(profile)
    prof = run.profile
    assert run.registry.suite == prof.suite == ("flan" if profile == "toy" else "control")
    stages = runner.plan_ablation(cluster, run, 0, tmp_path)
    rows = [(s.row.variant, s.row.train_format, s.row.eval_format) for s in stages if s.row]
    assert ("instruction", "instruction", "shuffled_instruction") in rows
    assert rows.index(("instruction", "instruction", "shuffled_instruction")) == \
        rows.index(("instruction", "instruction", "instruction")) - 1
    # only the three training formats are tuned: shuffled_instruction is eval-only
    assert [s.name for s in stages if s.steps and s.name.startswith("tune")] == [
        "tune_instruction", "tune_no_template", "tune_dataset_name"]
    if prof.suite == "control":
        seen = runner.seen_datasets(prof, cluster)
        assert seen and all(run.registry.catalogue.dataset(d).cluster == "topic_questions"
                            for d in seen)


def test_control_cluster_is_checked_against_the_control_suite(tmp_path):
    before = current()
    with pytest.raises(UnknownNameError, match="unknown cluster 'nli'.*new_topic_pairs"):
        runner.run_ablation("nli", RunConfig.load("control"), out=tmp_path)
    assert current() is before          # failed before installing the control's registry


def _row(train_format, eval_format, variant=None):
    return {"variant": variant or train_format, "train_format": train_format,
            "eval_format": eval_format, "shots": 0,
            "title": report.ROW_TITLES.get((train_format, eval_format))}


def test_flan_row_is_compared_with_shuffled_instructions():
    rows = [_row(None, "instruction", "base"), _row("no_template", "instruction"),
            _row("dataset_name", "instruction"), _row("dataset_name", "dataset_name"),
            _row("instruction", "shuffled_instruction"), _row("instruction", "instruction")]
    pairs = significance.comparison_pairs(rows)
    assert [(a["eval_format"], b["eval_format"], b["train_format"]) for a, b in pairs] == [
        ("instruction", "instruction", None), ("instruction", "instruction", "no_template"),
        ("instruction", "instruction", "dataset_name"),
        ("instruction", "dataset_name", "dataset_name"),
        ("instruction", "shuffled_instruction", "instruction")]
    assert report.ROW_TITLES[("instruction", "shuffled_instruction")] == \
        "FLAN, shuffled instructions"
