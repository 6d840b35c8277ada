"""Fig. 10's run set (`make reproduce FIGURE=10`): which datasets, which held-out model
each starts from, 32 examples vs all; and a tiny run end to end."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from flan_repro.ablation import figure10
from flan_repro.ablation.profile import RunConfig
from flan_repro.catalogue import UnknownNameError
from flan_repro.registry.mixtures import MixtureName

SUPERGLUE = ["bool_q", "cb", "copa", "multirc", "record", "rte", "wic"]


@pytest.fixture(scope="module")
def toy_plan(tmp_path_factory):
    run = RunConfig.load("toy")
    settings, recipe = figure10.load_settings("toy")
    out = tmp_path_factory.mktemp("fig10")
    runs, stages = figure10.plan_figure10(run, settings, recipe, out)
    return run, settings, recipe, out, runs, stages


def test_toy_profile_settings(toy_plan):
    _, settings, recipe, *_ = toy_plan
    assert settings.train_examples == (32, None)
    assert settings.tune_steps and settings.eval_max_examples
    assert recipe.train_examples is None and recipe.steps >= 1


def test_superglue_datasets_with_a_train_split(toy_plan):
    run, settings, _, _, runs, _ = toy_plan
    assert list(dict.fromkeys(pr.dataset for pr in runs)) == SUPERGLUE
    _, skipped = figure10.select_datasets(settings, run.registry.catalogue)
    assert skipped == {"wsc273": "no train split to tune a prompt on"}


def test_each_dataset_four_runs_base_and_its_held_out_flan_model(toy_plan):
    run, _, _, out, runs, stages = toy_plan
    cat = run.registry.catalogue
    base = stages[0].checkpoint if stages[0].name == "base_model" else run.profile.base_checkpoint
    tunes = {st.checkpoint: st for st in stages if st.name.startswith("tune_")}
    for d in SUPERGLUE:
        mine = [pr for pr in runs if pr.dataset == d]
        assert {(pr.model, pr.train_examples) for pr in mine} == {
            ("base", 32), ("flan", 32), ("base", None), ("flan", None)}
        cluster = cat.dataset(d).cluster
        for pr in mine:
            assert pr.cluster == cluster
            if pr.model == "base":
                assert pr.checkpoint == base
                continue
            assert pr.checkpoint == str(out / "models" / f"heldout_{cluster}")
            tune = tunes[pr.checkpoint]
            assert tune.mixture == str(MixtureName.held_out(cluster, "instruction"))
            # the FLAN model never trained on the dataset it is prompt-tuned on
            assert d not in cat.train_datasets(cluster)
    # one instruction-tuned model per cluster the datasets need, tuned from the base
    assert sorted(tunes) == sorted(str(out / "models" / f"heldout_{c}") for c in
                                   {cat.dataset(d).cluster for d in SUPERGLUE})
    assert all(st.steps == 100 for st in tunes.values())
    assert len({pr.out for pr in runs}) == len(runs) == 4 * len(SUPERGLUE)


def test_reproduce_dispatches_figure_10():
    from flan_repro.ablation import reproduce
    assert reproduce.FIGURES["10"] is figure10.figure10


def test_unknown_profile_names_the_valid_ones():
    with pytest.raises(UnknownNameError, match="toy"):
        figure10.load_settings("tyo")


def test_tiny_run_end_to_end(tmp_path):
    """The CI profile's tiny model, one dataset, a few steps: every stage runs, the report
    has the four rows with intervals and the paired FLAN - base comparisons, and a re-run
    reads everything back."""
    run = RunConfig.load("tests/gin/ci.gin")       # toy train split of 24: 8 vs all
    settings = figure10.Figure10Settings(datasets=("rte",), train_examples=(8, None),
                                         tune_steps=4, eval_max_examples=4,
                                         eval_max_dev_examples=2)
    _, recipe = figure10.load_settings("toy")
    recipe = dataclasses.replace(recipe, steps=3, batch_size=4, checkpoint_every=3)
    text = figure10.figure10(run, tmp_path, settings, recipe)
    assert "| rte (nli) | accuracy |" in text and "no paper column" in text
    data = json.loads((tmp_path / "figure10.json").read_text())
    stats = data["statistics"]
    assert sorted(stats["rows"]) == ["base_8", "base_all", "flan_8", "flan_all"]
    for r in stats["rows"].values():
        e = r["datasets"]["rte"]
        assert e["ci95"][0] <= e["value"] <= e["ci95"][1] and e["n"] == 4
    assert [c["train_examples"] for c in stats["comparisons"]] == [8, None]
    assert (tmp_path / "figure10.png").stat().st_size > 0
    assert all((Path(r["out"]) / "prompt.npy").exists() for r in data["runs"])
    assert figure10.figure10(run, tmp_path, settings, recipe) == text
    # results.json names its files relative to its folder: a moved run reads back the same
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    shutil.copytree(tmp_path, moved)
    shutil.rmtree(tmp_path / "prompts")
    table = [line for line in text.splitlines() if line.startswith("| rte")]
    assert [line for line in figure10.figure10(run, moved, settings, recipe).splitlines()
            if line.startswith("| rte")] == table
