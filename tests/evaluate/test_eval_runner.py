"""evaluate_cluster on the toy registry with a tiny random T5: files and keys, determinism,
few-shot prompts without the evaluated example, errors before any data work."""
import json
import os

import pytest

from flan_repro.cli import main
from flan_repro.evaluate import dataset_eval, runner
from flan_repro.prompts.formats import EXEMPLAR_SEPARATOR

DATASET_KEYS = {"dataset", "entry", "direction", "cluster", "format", "shots", "checkpoint",
                "kind", "metrics", "primary", "templates", "best_dev_unavailable", "num_examples",
                "per_template",
                "summary", "score", "calibration", "predictions", "settings", "stat_metric"}
FAST = dict(max_examples=3, max_decode_length=4, batch_size=8, num_predictions=2)


def _run(model, cluster, datasets, out, registry, fmt="instruction", shots=1):
    return runner.evaluate_cluster(model, cluster, fmt, shots, out, datasets=datasets,
                                   registry=registry, **FAST)


def _files(folder, suffix=".json"):
    return {os.path.relpath(os.path.join(d, f), folder): open(os.path.join(d, f), "rb").read()
            for d, _, fs in os.walk(folder) for f in fs if f.endswith(suffix)}


def test_files_keys_and_determinism(tmp_path, tiny_t5, toy_registry):
    for i in range(2):
        r = _run(tiny_t5, "nli", ["rte"], tmp_path / f"run{i}", toy_registry)
        g = _run(tiny_t5, "translation", ["wmt16_translate_deen"], tmp_path / f"run{i}",
                 toy_registry, shots=0)
    a, b = _files(tmp_path / "run0"), _files(tmp_path / "run1")
    assert a == b                                   # byte-identical JSON on a second run
    assert set(a) == {"rte/instruction_1shot.json", "nli_instruction_1shot.json",
                      "wmt16_translate_deen.en-de/instruction_0shot.json",
                      "wmt16_translate_deen.de-en/instruction_0shot.json",
                      "translation_instruction_0shot.json"}
    assert (tmp_path / "run0/rte/instruction_1shot_reliability.png").stat().st_size > 1000

    d = json.loads(a["rte/instruction_1shot.json"])
    assert set(d) == DATASET_KEYS and d["kind"] == "classification"
    assert d["templates"] == list(range(8)) and d["num_examples"] == {"test": 24, "validation": 24}
    assert set(d["per_template"]) == {"test", "validation"}
    assert set(d["summary"]) >= {"mean", "std", "best_dev_template", "best_dev"}
    assert set(d["calibration"]["pooled"]) >= {"ece", "mce", "brier", "bins"}
    assert set(d["calibration"]["per_template"]["0"]) >= {"ece", "mce", "brier"}
    p = d["predictions"]["0"][0]
    assert len(p["option_logprobs"]) == len(p["options"]) == 2 and p["prediction"] in (0, 1)
    assert d["score"]["mean"] == pytest.approx(r["scores"]["rte"]["mean"])

    fwd = json.loads(a["wmt16_translate_deen.en-de/instruction_0shot.json"])
    bwd = json.loads(a["wmt16_translate_deen.de-en/instruction_0shot.json"])
    assert fwd["kind"] == "generation" and fwd["calibration"] is None and fwd["primary"] == "bleu"
    assert (fwd["direction"], bwd["direction"]) == ("en-de", "de-en")
    assert fwd["templates"] == list(range(7)) and bwd["templates"] == [7, 8, 9]
    assert bwd["predictions"]["7"][0]["inputs"].startswith("Translate this German sentence into English")
    # per-example records: byte-identical too, one per (template, test example)
    ra, rb = _files(tmp_path / "run0", ".jsonl"), _files(tmp_path / "run1", ".jsonl")
    assert ra == rb and set(ra) == {
        "rte/instruction_1shot.examples.jsonl",
        "wmt16_translate_deen.en-de/instruction_0shot.examples.jsonl",
        "wmt16_translate_deen.de-en/instruction_0shot.examples.jsonl"}
    recs = runner.read_jsonl(tmp_path / "run0/rte/instruction_1shot.examples.jsonl")
    assert len(recs) == 24 and {r["template"] for r in recs} == set(range(8))
    assert set(recs[0]) == {"template", "example_index", "prediction", "target", "correct",
                            "confidence", "brier", "option_logprobs", "stats"}
    assert [r["example_index"] for r in recs if r["template"] == 0] == [0, 1, 2]
    for t in range(8):   # the records give back the per-template metric
        acc = 100 * sum(r["correct"] for r in recs if r["template"] == t) / 3
        assert acc == pytest.approx(d["per_template"]["test"][str(t)]["accuracy"])
    assert all(0.5 <= r["confidence"] <= 1 for r in recs)
    gen = runner.read_jsonl(tmp_path / "run0/wmt16_translate_deen.de-en/instruction_0shot.examples.jsonl")
    assert {"score", "correct"} & set(gen[0]) == set() and len(gen[0]["stats"]) == 10  # BLEU counts
    cl = json.loads(a["translation_instruction_0shot.json"])
    assert cl["datasets"] == ["wmt16_translate_deen:en-de", "wmt16_translate_deen:de-en"]
    assert set(cl["summary"]) == {"mean", "best_dev"} and g["files"]["cluster"]


@pytest.mark.parametrize("entry", ["rte", "winogrande"])   # wsc273 (no train split) is
def test_few_shot_prompts_never_contain_the_example(toy_registry, entry):  # zero-shot only
    shots = 3
    k = dataset_eval.build_prompts(toy_registry, entry, "test", "instruction", shots, template=1)
    zero = dataset_eval.build_prompts(toy_registry, entry, "test", "instruction", 0, template=1)
    assert len(k) == len(zero) and any(r["shots"] for r in k)
    for rk, r0 in zip(k, zero):
        assert rk["inputs"].endswith(r0["inputs"])
        blocks = rk["inputs"][:-len(r0["inputs"])].split(EXEMPLAR_SEPARATOR)
        assert len([b for b in blocks if b]) >= rk["shots"]
        assert r0["inputs"] not in rk["inputs"][:-len(r0["inputs"])]


def test_missing_checkpoint_fails_before_any_data_work(tmp_path, monkeypatch, capsys):
    from flan_repro.registry import examples
    def boom(*a, **k):
        raise AssertionError("data was read before the checkpoint was checked")
    monkeypatch.setattr(examples, "render_split", boom)
    monkeypatch.setattr(examples, "converted", boom)
    fake = str(tmp_path / "nowhere" / "run_42")
    with pytest.raises(FileNotFoundError, match="run_42"):
        runner.evaluate_cluster(fake, "nli", out_dir=tmp_path / "out")
    assert main(["eval", "--checkpoint", fake, "--cluster", "nli", "--out",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fake in err[0]
    assert main(["eval", "--checkpoint", f"hf:{tmp_path}", "--cluster", "nli"]) == 2
    assert "config.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_arguments(tiny_t5, toy_registry):
    with pytest.raises(ValueError, match="not reported"):
        runner.evaluate_cluster(tiny_t5, "nli", datasets=["copa"], registry=toy_registry)
    with pytest.raises(ValueError, match="unknown format"):
        runner.evaluate_cluster(tiny_t5, "nli", fmt="prose", registry=toy_registry)




def test_records_do_not_depend_on_batch_size(tmp_path, tiny_t5, toy_registry):
    out = {}
    for bs in (1, 16):
        r = runner.evaluate_cluster(tiny_t5, "nli", "instruction", 0, None, max_examples=4,
                                    datasets=["cb"], registry=toy_registry, batch_size=bs)
        out[bs] = r["records"]["cb"]
    assert len(out[1]) == len(out[16]) > 0
    for a, b in zip(out[1], out[16]):
        floats = ("option_logprobs", "confidence", "brier")
        assert {k: v for k, v in a.items() if k not in floats} == \
            {k: v for k, v in b.items() if k not in floats}
        assert a["option_logprobs"] == pytest.approx(b["option_logprobs"], abs=1e-4)
        assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-5)


def test_few_shot_rows_leave_out_datasets_without_a_train_split(tiny_t5, toy_registry):
    """WSC273 has no train split: a k-shot row scores the cluster's other datasets and
    names WSC273; asking for it explicitly at k > 0 is refused; zero-shot keeps it."""
    r = runner.evaluate_cluster(tiny_t5, "coreference", "instruction", 2, None,
                                registry=toy_registry, **FAST)
    assert "wsc273" not in r["datasets"] and r["datasets"]
    assert r["zero_shot_only"] == ["wsc273"]
    with pytest.raises(ValueError, match="no train split"):
        runner.evaluate_cluster(tiny_t5, "coreference", "instruction", 2, None,
                                datasets=["wsc273"], registry=toy_registry, **FAST)
    r0 = runner.evaluate_cluster(tiny_t5, "coreference", "instruction", 0, None,
                                 datasets=["wsc273"], registry=toy_registry, **FAST)
    assert r0["datasets"] == ["wsc273"] and r0["zero_shot_only"] == []
