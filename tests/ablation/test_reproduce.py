"""`flan-repro reproduce --plan`: the paper's figures as run sets, printed without running
anything; Fig. 8 averages four held-out clusters (tasks/clusters.yaml says why)."""
import json

import pytest

from flan_repro.ablation import runner
from flan_repro.catalogue import load
from flan_repro.cli import main

FIG8 = ["nli", "reading_comprehension", "closed_book_qa", "translation"]


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("FLAN_REPRO_CACHE", str(tmp_path / "cache"))


def plan(capsys, tmp_path, figure, *extra):
    out = tmp_path / "out"
    assert main(["reproduce", "--figure", figure, "--profile", "tests/gin/ci.gin",
                 "--out", str(out), "--plan", *extra]) == 0
    assert not out.exists()                      # planning creates nothing
    return capsys.readouterr().out, out


def test_figure8_plan_holds_out_four_clusters_with_every_fig8_row(cache, capsys, tmp_path):
    text, out = plan(capsys, tmp_path, "8", "--json")
    p = json.loads(text)
    assert p["figure"] == "8" and p["clusters"] == FIG8
    assert [r["name"] for r in p["runs"]] == FIG8
    for r in p["runs"]:
        cluster = r["name"]
        assert r["out"] == str(out / cluster)
        tuned = {s["mixture"]: s["checkpoint"] for s in r["stages"]
                 if s["kind"] == "train" and s["stage"] != "base_model"}
        assert tuned == {f"flan_heldout_{cluster}_{fmt}": str(out / cluster / "models" / fmt)
                         for fmt in ("instruction", "no_template", "dataset_name")}
        evals = {(s["variant"], s["train_format"], s["eval_format"], s["shots"]): s["checkpoint"]
                 for s in r["stages"] if s["kind"] == "eval"}
        # the paper's four Fig. 8 rows, zero-shot, each scored with its own tuned model
        for _, train_fmt, eval_fmt in runner.TUNED_ROWS:
            assert evals[train_fmt, train_fmt, eval_fmt, 0] == \
                str(out / cluster / "models" / train_fmt)
        base = r["stages"][0]
        assert base["stage"] == "base_model" and evals["base", None, "baseline", 0] == \
            base["checkpoint"]
        assert r["stages"][-1]["kind"] == "report"
        assert not any(s["cached"] for s in r["stages"])


def test_plan_text_and_figure6_runs(cache, capsys, tmp_path):
    text, out = plan(capsys, tmp_path, "8")
    assert text.splitlines()[0].endswith("held-out clusters: " + ", ".join(FIG8))
    assert f"translation -> {out / 'translation'}" in text
    assert f"[flan_heldout_translation_no_template -> {out}/translation/models/no_template]" \
        in text
    p = json.loads(plan(capsys, tmp_path, "6", "--json")[0])
    assert p["clusters"] == ["nli", "closed_book_qa", "commonsense"]
    assert [r["name"] for r in p["runs"]] == [f"clusters{k}" for k in range(1, 8)]
    last = p["runs"][-1]["stages"]
    assert [s["stage"] for s in last] == ["tune_clusters7", "eval_clusters7_nli",
                                          "eval_clusters7_closed_book_qa",
                                          "eval_clusters7_commonsense"]
    assert last[0]["mixture"] == "flan_clusters7_instruction"


def test_json_without_plan_and_unknown_figure_are_user_errors(capsys):
    assert main(["reproduce", "--figure", "8", "--json"]) == 2
    assert "use it with --plan" in capsys.readouterr().err
    assert main(["reproduce", "--figure", "7", "--plan"]) == 2
    assert "valid: 8, 5, 6" in capsys.readouterr().err


def test_figure9_plan_tunes_and_evaluates_flan_zero_shot_and_k_shot(cache, capsys, tmp_path):
    """Few-shot FLAN: per held-out cluster, the instruction-tuned model tuned and evaluated
    zero-shot, and tuned on the k-shot mixture and evaluated k-shot, k the recipe's most."""
    FIGURE9_CLUSTERS = load().few_shot_exemplars
    text, out = plan(capsys, tmp_path, "9", "--json")
    p = json.loads(text)
    k = 16
    assert p["figure"] == "9" and p["clusters"] == list(FIGURE9_CLUSTERS)
    assert [r["name"] for r in p["runs"]] == [f"{c}_{s}shot" for c in FIGURE9_CLUSTERS
                                              for s in (0, k)]
    for r in p["runs"]:
        cluster, shots = r["name"].rsplit("_", 1)
        shots = int(shots[:-len("shot")])
        assert r["out"] == str(out / r["name"])
        tuned = {s["mixture"]: s["checkpoint"] for s in r["stages"]
                 if s["kind"] == "train" and s["stage"] != "base_model"}
        suffix = f"_{k}shot" if shots else ""
        assert tuned == {f"flan_heldout_{cluster}_instruction{suffix}":
                         str(out / r["name"] / "models" / f"instruction{suffix}")}
        flan = [s for s in r["stages"] if s["kind"] == "eval" and s["variant"] == "instruction"
                and s["eval_format"] == "instruction"]
        assert len(flan) == 1 and flan[0]["shots"] == shots
    assert "flan_heldout_nli_instruction_16shot" in plan(capsys, tmp_path, "9")[0]


def test_figure10_plan_tunes_one_flan_model_per_held_out_cluster(cache, capsys, tmp_path):
    out = tmp_path / "out"
    assert main(["reproduce", "--figure", "10", "--profile", "toy", "--out", str(out),
                 "--plan", "--json"]) == 0
    assert not out.exists()
    p = json.loads(capsys.readouterr().out)
    stages = p["runs"][0]["stages"]
    tuned = {s["mixture"]: s["checkpoint"] for s in stages
             if s["kind"] == "train" and s["stage"] != "base_model"}
    assert sorted(tuned) == sorted(f"flan_heldout_{c}_instruction" for c in p["clusters"])
    assert {"nli", "reading_comprehension"} <= set(p["clusters"])
    prompts = [s for s in stages if s["label"].startswith("prompt-tune")]
    # per dataset: base and FLAN, 32 examples and all; the FLAN model held out its cluster
    assert len(prompts) % 4 == 0 and prompts
    rte = [s["checkpoint"] for s in prompts if " on rte," in s["label"]]
    assert str(out / "models" / "heldout_nli") in rte and len(rte) == 4


def test_figure9_cells_carry_the_interval_n_and_the_template_spread():
    from flan_repro.ablation.reproduce import figure9_cell
    row = {"cluster_average": 36.25, "cluster_average_ci95": [33.0, 39.5],
           "datasets": {"rte": {"n": 200, "std_over_templates": 1.0},
                        "cb": {"n": 56, "std_over_templates": 3.0}},
           "zero_shot_only": ["wsc273"]}
    assert figure9_cell(row) == "36.2 [33.0, 39.5] (n 56-200); std 2.0 (without wsc273)"
