"""The `baseline` format: the untuned LM's continuation prompts (ours, or FLAN's
baseline_templates.py read as data), for every dataset of every suite, scored option by
option as continuations; evaluation only."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flan_repro.catalogue import EVAL_FORMATS, FORMATS, UnknownNameError, load
from flan_repro.catalogue.converters import convert
from flan_repro.prompts import formats, templates as tmpl
from flan_repro.registry import RegistryConfig
from flan_repro.registry import examples as ex_lib

FLAN = RegistryConfig(data_dir="toy", toy_train_size=20, toy_eval_size=6)
CONTROL = RegistryConfig(data_dir="toy", toy_train_size=20, toy_eval_size=6, suite="control")


def test_an_evaluation_only_format():
    assert "baseline" in EVAL_FORMATS and "baseline" not in FORMATS
    with pytest.raises(UnknownNameError, match="evaluation-only"):
        load().check_format("baseline", training=True)


@pytest.mark.parametrize("cfg", [FLAN, CONTROL], ids=["flan", "control"])
def test_every_dataset_has_a_continuation_prompt(cfg):
    """No instruction's options block; a classification example's options are its
    continuations, distinct, the gold one its target; one prompt per entry."""
    for entry, spec in cfg.catalogue.datasets.items():
        recs = ex_lib.render_split(cfg, entry, "test", fmt="baseline")
        assert recs, entry
        for r in recs:
            assert "OPTIONS" not in r["inputs"] and r["inputs"].strip(), entry
            assert r["targets"].strip() and r["template"] == -1, entry
            if spec.classification:
                assert len(set(r["options"])) == len(r["options"]) >= 2, (entry, r["options"])
                assert r["targets"] == r["options"][r["label"]], entry
        instruction = ex_lib.render_split(cfg, entry, "test", fmt="instruction")
        if spec.classification:   # the same examples, labels and number of options
            assert [(r["idx"], r["label"], len(r["options"])) for r in recs] == \
                [(r["idx"], r["label"], len(r["options"])) for r in instruction]


def test_a_fixed_option_dataset_scores_its_answer_words():
    """RTE's options yes / no become the words of `answer_words` in the target pattern."""
    spec = load().dataset("rte")
    t = tmpl.Template("{premise}\nQ: {hypothesis}?\nA:", "{glm_answer}")
    fields = {"premise": "P.", "hypothesis": "H", "options": ["yes", "no"], "label": 1,
              "answer": "no"}
    r = formats.render(spec, fields, "baseline", baseline=(t, ("true", "false")))
    assert r == {"inputs": "P.\nQ: H?\nA:", "targets": "false", "template": -1,
                 "options": ["true", "false"]}
    # an option-per-example dataset scores each option in the target pattern
    copa = load().dataset("copa")
    fields = {"premise": "It rained.", "question": "effect", "glm_premise": "It rained so",
              "options": ["a", "b"], "label": 0, "answer": "a"}
    r = formats.render(copa, fields, "baseline",
                       baseline=(tmpl.Template("{glm_premise}", "{answer}."), ()))
    assert r["inputs"] == "It rained so" and r["options"] == ["a.", "b."] and r["targets"] == "a."


def test_copa_premise_continues_with_its_connective():
    copa = load().dataset("copa")
    raw = {"premise": "The man broke his toe.", "question": "cause", "choice1": "x",
           "choice2": "y", "label": 1}
    assert convert(copa, raw)["glm_premise"] == "The man broke his toe because"
    assert convert(copa, {**raw, "question": "effect"})["glm_premise"] == \
        "The man broke his toe so"


FLAN_FILE = '''
"""A file in the shape of FLAN's flan/baseline_templates.py (our own strings)."""
PATTERNS = {
    "rte": [("{premise}\\nIs it so that {hypothesis}?\\n", "{glm_answer}")],
    "copa": [("{glm_premise}", "{answer}")],
    "wmt16_translate": [("{sent1} in {lang2}:", "{sent2}"), ("{sent2} in {lang1}:", "{sent1}")],
}
'''


def test_flan_baseline_file_is_read_as_data(tmp_path):
    """Read without executing it; the answer words are ours; translation scores the first
    (forward) pattern; a dataset it does not cover is named."""
    f = tmp_path / "flan" / "baseline_templates.py"
    f.parent.mkdir()
    f.write_text(FLAN_FILE + "\nraise SystemExit('executed!')\n")
    cfg = RegistryConfig(data_dir="toy", toy_train_size=20, toy_eval_size=6,
                         baseline_templates=str(tmp_path))     # a checkout's folder
    ours = tmpl.load_baseline(None).answer_words["rte"]
    rte = ex_lib.render_split(cfg, "rte", "test", fmt="baseline")
    fields = [f for _, f in ex_lib.converted(cfg, "rte", "test")]
    assert rte[0]["inputs"] == f"{fields[0]['premise']}\nIs it so that {fields[0]['hypothesis']}?\n"
    assert rte[0]["options"] == list(ours)
    de = ex_lib.render_split(cfg, "wmt16_translate_deen", "test", fmt="baseline")
    assert de[0]["inputs"].endswith(" in German:")
    with pytest.raises(UnknownNameError, match="'cb'"):
        ex_lib.render_split(cfg, "cb", "test", fmt="baseline")
    with pytest.raises(FileNotFoundError, match="--baseline_templates"):
        tmpl.load_baseline(str(tmp_path / "missing.py"))


def test_answer_words_must_match_the_options(tmp_path, monkeypatch):
    bad = tmpl.BaselineSet({"rte": (tmpl.Template("{premise}", "{glm_answer}"),)},
                           {"rte": ("true", "false", "neither")})
    monkeypatch.setattr(tmpl, "load_baseline", lambda path=None, suite="flan": bad)
    with pytest.raises(ValueError, match=r"answer_words\['rte'\] has 3 words but dataset "
                                         r"'rte' has 2 options"):
        tmpl.baseline_for(load().dataset("rte"))


def test_few_shot_baseline_prompts_are_continuations_too():
    recs = ex_lib.render_split(FLAN, "rte", "test", fmt="baseline", shots=2)
    assert all(r["shots"] == 2 and "OPTIONS" not in r["inputs"] for r in recs)
    zero = ex_lib.render_split(FLAN, "rte", "test", fmt="baseline")
    assert all(r["inputs"].endswith(z["inputs"]) and r["inputs"] != z["inputs"]
               for r, z in zip(recs, zero))


def test_the_tasks_command_shows_baseline_prompts():
    out = subprocess.run([sys.executable, "-m", "flan_repro", "tasks", "--dataset", "rte",
                          "--format", "baseline", "--split", "test", "--show", "1", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout.splitlines()[0])
    assert "OPTIONS" not in shown["inputs"] and shown["targets"] in shown["options"]
