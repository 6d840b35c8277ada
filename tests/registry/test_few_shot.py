"""Few-shot exemplars never come from the split being scored (FLAN draws them from train
only), a dataset without a train split refuses k > 0, and examples whose target renders
empty are dropped and counted."""
from __future__ import annotations

import pytest

from flan_repro.catalogue import load
from flan_repro.registry import RegistryConfig
from flan_repro.registry import examples as ex_lib
from flan_repro.registry import tasks

CFG = RegistryConfig(data_dir="toy", toy_train_size=40, toy_eval_size=12)


def rendered_sources(monkeypatch, entry: str, split: str, fmt: str, shots: int):
    """The records, and which converted example (by identity) each render call used: the
    query's own fields, then its exemplars' fields."""
    calls = []
    real = ex_lib._render_one

    def spy(cfg, spec, fields, *args, **kwargs):
        calls.append(id(fields))
        return real(cfg, spec, fields, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(ex_lib, "_render_one", spy)
        recs = ex_lib.render_split(CFG, entry, split, fmt=fmt, shots=shots)
    return recs, calls


@pytest.mark.parametrize("fmt", ["instruction", "no_template", "baseline"])
def test_no_k_shot_prompt_holds_another_example_of_the_evaluated_split(monkeypatch, fmt):
    cat = load()
    checked = 0
    for entry, spec in cat.datasets.items():
        if not spec.few_shot:
            continue
        train = {id(f) for _, f in ex_lib.converted(CFG, entry, "train")}
        for split in ("validation", "test"):
            if split not in spec.splits:
                continue
            rows = ex_lib.converted(CFG, entry, split)
            evaluated = {id(f) for _, f in rows}
            recs, calls = rendered_sources(monkeypatch, entry, split, fmt, shots=2)
            assert recs and any(r["shots"] for r in recs), (entry, split)
            # each scored example is rendered once, as its own query, and nowhere else
            assert [c for c in calls if c in evaluated] == [id(f) for _, f in rows], \
                (entry, split)
            assert all(c in train for c in calls if c not in evaluated), (entry, split)
            checked += 1
    assert checked >= 2 * 60


def test_a_dataset_without_train_refuses_few_shot():
    spec = load().dataset("wsc273")
    assert not spec.few_shot and "train" not in spec.splits
    with pytest.raises(ValueError, match=r"'wsc273' supports only shots=0.*train split"):
        ex_lib.render_split(CFG, "wsc273", "test", shots=2)
    with pytest.raises(ValueError, match="'wsc273' supports only shots=0"):
        tasks.build_task("wsc273", shots=16, cfg=CFG)
    assert ex_lib.render_split(CFG, "wsc273", "test")          # zero-shot is unchanged
    names = {tasks.task_name(**v) for v in tasks.variants(CFG)}
    assert "flan_wsc273_instruction_0shot" in names
    assert not any(n.startswith("flan_wsc273_") and not n.endswith("_0shot") for n in names)
    cat = load()
    assert "wsc273" in cat.eval_datasets("coreference")
    assert cat.eval_datasets("coreference", shots=2) == [
        d for d in cat.eval_datasets("coreference") if d != "wsc273"]


def test_the_cli_refuses_few_shot_wsc273_in_one_line(capsys):
    from flan_repro.cli import main
    assert main(["tasks", "--dataset", "wsc273", "--split", "test", "--shots", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: dataset 'wsc273' supports only shots=0")


def test_examples_with_an_empty_target_are_dropped_and_counted(monkeypatch):
    """OpenBookQA's last template turns the example around and asks for `fact`: over an
    empty fact its target is empty, which would train (or score) an empty answer."""
    real = ex_lib.converted(CFG, "openbookqa", "train")
    templates = ex_lib.dataset_templates(CFG, "openbookqa")
    fact_target = [i for i, t in enumerate(templates) if t.target == "{fact}"]
    assert fact_target and all(templates[i].turned_around for i in fact_target)
    drawn = ex_lib.render_split(CFG, "openbookqa", "train")
    assert ex_lib.empty_targets(CFG, "openbookqa", "train") == 0
    emptied = tuple((raw, {**f, "fact": ""}) for raw, f in real)
    monkeypatch.setattr(ex_lib, "converted", lambda cfg, entry, split: emptied)
    assert ex_lib.render_split(CFG, "openbookqa", "train", template=fact_target[0]) == []
    kept = ex_lib.render_split(CFG, "openbookqa", "train")
    assert all(r["targets"].strip() for r in kept)
    # the per-example template draws are unchanged: exactly the fact-target ones go
    assert [r["idx"] for r in kept] == [r["idx"] for r in drawn
                                        if r["template"] not in fact_target]
    assert ex_lib.empty_targets(CFG, "openbookqa", "train") == len(drawn) - len(kept) > 0
