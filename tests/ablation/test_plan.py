"""The ablation's plan: which stages, in which order, with how many steps, which are
cached; and how running a plan announces stages and feeds the report (no training here)."""
import dataclasses
import json
import logging

import pytest

from flan_repro.ablation import runner
from flan_repro.ablation.profile import RunConfig
from flan_repro.ablation.runner import Row, Stage, format_plan, plan_ablation, rows_of, run_stages

# the ci profile: every format tuned, one seen dataset; one eval stage per tuned row
TUNED_EVALS = [f"eval_{train}__eval_{ev}" for _, train, ev in runner.TUNED_ROWS]
CI_STAGES = ["base_model", "tune_instruction", "tune_no_template", "tune_dataset_name",
             "eval_base", "eval_base_few_shot", *TUNED_EVALS, "seen_instruction_sst2",
             "seen_no_template_sst2", "seen_dataset_name_sst2", "seen_base_sst2", "report"]
N = len(CI_STAGES)


@pytest.fixture
def ci(monkeypatch, tmp_path):
    """The ci profile (tests/gin/ci.gin) with its registry settings, a private (empty)
    cache; planning reads both from the RunConfig, no process-wide state."""
    monkeypatch.setenv("FLAN_REPRO_CACHE", str(tmp_path / "cache"))
    return RunConfig.load("tests/gin/ci.gin")


def test_plan_lists_every_stage_with_its_steps(ci, tmp_path):
    stages = plan_ablation("nli", ci, 0, tmp_path / "out")
    prof = ci.profile
    assert [s.name for s in stages] == CI_STAGES
    assert {s.name: s.steps for s in stages if s.steps} == {
        "base_model": prof.pretrain_steps, "tune_instruction": prof.finetune_steps,
        "tune_no_template": prof.finetune_steps, "tune_dataset_name": prof.finetune_steps}
    lines = format_plan(stages)
    assert lines[0] == f"[1/{N}] pretrain base model: {prof.pretrain_steps} steps"
    assert lines[2] == f"[3/{N}] tune no_template: {prof.finetune_steps} steps"
    assert lines[-1] == f"[{N}/{N}] report"
    assert not any(s.cached for s in stages)
    # every evaluation feeds a report row; the seen rows gather one stage per dataset
    rows = [s.row for s in stages if s.row]
    assert len(rows) == 2 + len(TUNED_EVALS) + 4 and sum(r.merged for r in rows) == 4
    assert Row("no_template", "no_template", "instruction", 0) in rows
    # the untuned base model gets the paper's continuation prompts, zero- and few-shot
    assert Row("base_few_shot", None, "baseline", prof.baseline_few_shot) in rows


def test_stages_whose_outputs_exist_are_cached(ci, tmp_path):
    out = tmp_path / "out"
    (out / "models" / "no_template").mkdir(parents=True)
    (out / "models" / "no_template" / "DONE").write_text("{}")
    (out / "models" / "instruction" / "checkpoints").mkdir(parents=True)   # started only
    (out / "eval" / "rows").mkdir(parents=True)
    (out / "eval" / "rows" / "base_baseline.json").write_text("{}")
    stages = plan_ablation("nli", ci, 0, out)
    assert [s.name for s in stages if s.cached] == ["tune_no_template", "eval_base"]
    marked = [line for line in format_plan(stages) if line.endswith("  cached")]
    assert [m.split()[0] for m in marked] == [f"[3/{N}]", f"[5/{N}]"]
    base_done = runner.toy_base_dir(ci) / "DONE"
    base_done.parent.mkdir(parents=True)
    base_done.write_text("{}")
    assert plan_ablation("nli", ci, 0, out)[0].cached


def test_profile_checkpoint_replaces_pretraining_and_formats_limit_variants(ci, tmp_path):
    run = dataclasses.replace(ci, profile=dataclasses.replace(
        ci.profile, base_checkpoint="hf:/models/t5-v1_1-small"))
    stages = plan_ablation("nli", run, 0, tmp_path, formats=("instruction",))
    assert [s.name for s in stages] == [
        "tune_instruction", "eval_base", "eval_base_few_shot",
        *[name for name in TUNED_EVALS if name.startswith("eval_instruction__")],
        "seen_instruction_sst2", "seen_base_sst2", "report"]


def test_seeds_tune_and_evaluate_every_variant_per_seed(ci, tmp_path):
    stages = plan_ablation("nli", ci, 0, tmp_path / "out", seeds=2)
    names = [s.name for s in stages]
    for fmt in ("instruction", "no_template", "dataset_name"):
        assert f"tune_{fmt}" in names and f"tune_{fmt}_seed1" in names
    assert all(f"{e}_seed1" in names for e in TUNED_EVALS)
    tune1 = next(s for s in stages if s.name == "tune_no_template_seed1")
    assert tune1.done == tmp_path / "out/models/no_template_seed1/DONE"
    assert tune1.label == "tune no_template (seed 1)"
    # one report row per tuned row, fed by both seeds; the base rows are not repeated
    by_row = {}
    for s in stages:
        if s.row:
            by_row.setdefault(s.row, []).append(s.name)
    assert by_row[Row("instruction", "instruction", "instruction", 0)] == [
        "eval_instruction__eval_instruction", "eval_instruction__eval_instruction_seed1"]
    assert by_row[Row("base", None, "baseline", 0)] == ["eval_base"]
    with pytest.raises(ValueError, match="seeds must be at least 1"):
        plan_ablation("nli", ci, 0, tmp_path, seeds=0)


def test_k_shot_tunes_on_the_k_shot_mixture_and_evaluates_k_shot(ci, tmp_path):
    """Few-shot FLAN (Fig. 9): the tuned variants see exemplars in tuning as well as at
    evaluation, in model folders of their own; k = 0 keeps today's mixtures and folders."""
    out = tmp_path / "out"
    zero = plan_ablation("nli", ci, 0, out)
    two = plan_ablation("nli", ci, 2, out)
    tune0 = {s.name: s for s in zero if s.mixture and s.name != "base_model"}
    tune2 = {s.name: s for s in two if s.mixture and s.name != "base_model"}
    assert tune0["tune_instruction"].mixture == "flan_heldout_nli_instruction"
    assert tune0["tune_instruction"].done == out / "models/instruction/DONE"
    assert tune2["tune_instruction_2shot"].mixture == "flan_heldout_nli_instruction_2shot"
    assert tune2["tune_no_template_2shot"].mixture == "flan_heldout_nli_no_template_2shot"
    assert tune2["tune_instruction_2shot"].label == "tune instruction, 2-shot"
    dirs0 = {s.checkpoint for s in tune0.values()}
    dirs2 = {s.checkpoint for s in tune2.values()}
    assert len(dirs2) == len(tune2) and not dirs0 & dirs2
    assert str(out / "models/instruction_2shot") in dirs2
    tuned_evals = [s for s in two if s.row and s.row.train_format and not s.row.merged]
    assert tuned_evals and all(s.row.shots == 2 and s.checkpoint in dirs2 for s in tuned_evals)
    assert {s.done for s in tuned_evals}.isdisjoint({s.done for s in zero if s.row})
    # the base rows and the seen rows do not depend on k
    base = [s.name for s in two if s.row and s.row.train_format is None]
    assert base == [s.name for s in zero if s.row and s.row.train_format is None]
    seeds2 = plan_ablation("nli", ci, 2, out, seeds=2)
    assert any(s.checkpoint == str(out / "models/instruction_2shot_seed1") for s in seeds2)


def test_over_seeds_averages_per_template_and_keeps_every_seeds_records():
    from flan_repro.ablation.report import over_seeds

    def one(per_t, f):
        vals = list(per_t.values())
        return {"variant": "instruction", "cluster_average": sum(vals) / len(vals),
                "cluster_average_best_dev": 1.0,
                "datasets": {"rte": {"per_template": per_t, "mean_over_templates": 0.0,
                                     "best_dev": 1.0, "ece": 0.1, "mce": None, "brier": 0.5,
                                     "examples_files": [f]}}}
    r = over_seeds([one({"0": 40.0, "1": 60.0}, "a"), one({"0": 50.0, "1": 70.0}, "b")])
    d = r["datasets"]["rte"]
    assert r["seeds"] == 2 and d["per_template"] == {"0": 45.0, "1": 65.0}
    assert d["mean_over_templates"] == 55.0 and d["per_seed"] == [0.0, 0.0]
    assert d["examples_files"] == ["a", "b"] and d["mce"] is None and d["ece"] == 0.1
    assert r["cluster_average"] == 55.0 and r["cluster_average_per_seed"] == [50.0, 60.0]


def test_running_a_plan_announces_each_stage_and_passes_results_on(tmp_path, caplog):
    (tmp_path / "b_done").write_text("")
    labels = []
    stages = [
        Stage("a", "tune a", lambda results, label: labels.append(label) or "A",
              done=tmp_path / "a_done", steps=5),
        Stage("b", "eval b", lambda results, label: results["a"] + "B", done=tmp_path / "b_done"),
        Stage("report", "report", lambda results, label: results["b"] + "!"),
    ]
    with caplog.at_level(logging.INFO, logger="flan_repro.ablation"):
        results = run_stages(stages, tmp_path)
    assert results["report"] == "AB!"
    assert labels == ["[1/3] tune a"]               # what the trainer's progress lines show
    msgs = [r.getMessage() for r in caplog.records]
    assert msgs[0] == "[1/3] tune a: 5 steps" and msgs[1].startswith("[1/3] tune a done in ")
    assert msgs[2:] == ["[2/3] eval b: cached, skipped", "[3/3] report"]
    # each cacheable stage's first run is timed for the report; the report itself is not
    assert set(json.loads((tmp_path / "timings.json").read_text())) == {"a", "b"}


def test_report_rows_in_plan_order_seen_rows_merged(monkeypatch):
    from flan_repro.ablation import report
    monkeypatch.setattr(report, "row", lambda v, t, e, s, r: (v, t, e, s, r))
    monkeypatch.setattr(report, "merge", lambda parts: ("merged", parts))
    monkeypatch.setattr(report, "over_seeds", lambda rows: rows[0] if len(rows) == 1 else rows)
    seen = Row("seen_instruction", "instruction", "instruction", 0, merged=True)
    run = lambda results, label: None  # noqa: E731
    stages = [Stage("tune", "tune", run, steps=3),
              Stage("eval_base", "", run, row=Row("base", None, "instruction", 0)),
              Stage("seen_sst2", "", run, row=seen), Stage("seen_imdb", "", run, row=seen),
              Stage("report", "report", run)]
    results = {"tune": "dir", "eval_base": 1, "seen_sst2": 2, "seen_imdb": 3}
    assert rows_of(stages, results) == [
        ("base", None, "instruction", 0, 1),
        ("seen_instruction", "instruction", "instruction", 0, ("merged", [2, 3]))]
