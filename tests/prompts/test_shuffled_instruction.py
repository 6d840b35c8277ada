"""shuffled_instruction: another task's instruction around this example's content, options
and target; deterministic; offered for every dataset of every suite, never for training."""
import dataclasses
import json
import os
import re
import subprocess
import sys

import pytest

from flan_repro.catalogue import EVAL_FORMATS, FORMATS, UnknownNameError, load
from flan_repro.prompts import formats
from flan_repro.prompts.templates import Template
from flan_repro.registry import RegistryConfig
from flan_repro.registry import examples as ex_lib

FLAN = RegistryConfig(data_dir="toy", toy_train_size=20, toy_eval_size=6)
CONTROL = RegistryConfig(data_dir="toy", toy_train_size=20, toy_eval_size=12, suite="control")


def test_eval_only_format():
    assert "shuffled_instruction" in EVAL_FORMATS and "shuffled_instruction" not in FORMATS
    cat = load()
    assert cat.check_format("shuffled_instruction") == "shuffled_instruction"
    with pytest.raises(UnknownNameError, match="evaluation-only"):
        cat.check_format("shuffled_instruction", training=True)


def test_fill_rules_on_a_dict():
    """Donor content fields take ours in order (the last takes the rest); options are ours;
    instruction-level fields (the control's topic) come from the donor's example."""
    rte, mrpc = load().dataset("rte"), load().dataset("glue_mrpc")
    ours = {"premise": "P.", "hypothesis": "H.", "options": ["yes", "no"], "label": 1,
            "answer": "no"}
    two = formats.Donor(mrpc, Template("{sentence1} / {sentence2}?\n{options_}", "{answer}"), 3,
                        {})
    r = formats.render(rte, ours, "shuffled_instruction", donor=two)
    assert r == {"inputs": "P. / H.?\nOPTIONS:\n- yes\n- no", "targets": "no",
                 "template": -1, "donor": "glue_mrpc:3"}
    control = load("control").dataset("animal_or_food")
    one = formats.Donor(control, Template("Is it about {topic}?\n{text}\n{options_}",
                                          "{answer}"), 0,
                        {"text": "their text", "topic": "a sport", "options": ["yes", "no"],
                         "label": 0, "answer": "yes"})
    assert one.own_fields == {"topic"}
    r = formats.render(rte, ours, "shuffled_instruction", donor=one)
    assert r["inputs"] == "Is it about a sport?\nP.\nH.\nOPTIONS:\n- yes\n- no"
    assert r["targets"] == "no"
    with pytest.raises(ValueError, match="cannot lend"):
        formats.render(control, {"text": "x", "topic": "food", "options": ["yes", "no"],
                                 "label": 0, "answer": "yes"},
                       "shuffled_instruction", donor=two)
    with pytest.raises(ValueError, match="needs a donor"):
        formats.render(rte, ours, "shuffled_instruction")


def test_control_shuffled_keeps_content_options_target_and_asks_the_donors_question():
    cfg = CONTROL
    cat = cfg.catalogue
    for entry in cat.eval_datasets("new_topic_pairs"):
        own = ex_lib.render_split(cfg, entry, "test", fmt="instruction", template=0)
        shuf = ex_lib.render_split(cfg, entry, "test", fmt="shuffled_instruction")
        fields = [f for _, f in ex_lib.converted(cfg, entry, "test")]
        assert len(shuf) == len(own) == len(fields)
        donors, other_question = set(), 0
        for s, o, f in zip(shuf, own, fields):
            name, index = s["donor"].split(":")
            donors.add(name)
            assert cat.dataset(name).cluster != cat.dataset(entry).cluster
            assert s["targets"] == o["targets"] and s["options"] == o["options"]
            assert s["label"] == o["label"]
            assert f["text"] in s["inputs"] and s["inputs"].endswith(
                formats.options_suffix(f["options"]))
            template = ex_lib.dataset_templates(cfg, name)[int(index)]
            assert not template.turned_around
            rows = ex_lib.converted(cfg, name, "test")
            donor_topic = rows[s["idx"] % len(rows)][1]["topic"]   # the donor example's
            assert template.input.replace("{topic}", donor_topic).split("{text}")[0] \
                in s["inputs"]
            other_question += donor_topic != f["topic"]
        assert len(donors) > 1
        assert other_question > 0.6 * len(shuf)      # mostly a question about another topic


def test_deterministic_by_seed_across_processes():
    code = ("import json; from flan_repro.registry import RegistryConfig; "
            "from flan_repro.registry import examples as E; "
            "cfg = RegistryConfig(data_dir='toy', toy_train_size=20, toy_eval_size=12, "
            "suite='control'); "
            "print(json.dumps([r['inputs'] for r in E.render_split(cfg, 'food_or_clothing', "
            "'test', fmt='shuffled_instruction')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONHASHSEED": "123"}).stdout
    a = ex_lib.render_split(CONTROL, "food_or_clothing", "test", fmt="shuffled_instruction")
    assert json.loads(out) == [r["inputs"] for r in a]
    other = dataclasses.replace(CONTROL, seed=1)
    c = ex_lib.render_split(other, "food_or_clothing", "test", fmt="shuffled_instruction")
    assert [r["donor"] for r in a] != [r["donor"] for r in c]
    assert [r["targets"] for r in a] == [r["targets"] for r in c]


@pytest.mark.parametrize("cluster", sorted(load().clusters))
def test_every_flan_cluster_renders_shuffled(cluster):
    cat = FLAN.catalogue
    for entry in cat.eval_datasets(cluster):
        spec = cat.dataset(entry)
        recs = ex_lib.render_split(FLAN, entry, "test", fmt="shuffled_instruction")
        plain = ex_lib.render_split(FLAN, entry, "test", fmt="no_template")
        assert recs and len(recs) == len(plain)
        for r, p in zip(recs, plain):
            donor = cat.dataset(r["donor"].split(":")[0])
            assert donor.cluster != spec.cluster
            assert donor.classification == spec.classification
            assert r["targets"] == p["targets"] and r["options"] == p["options"]
            for f in spec.inputs:                 # all of this example's content is there
                value = str(ex_lib.converted(FLAN, entry, "test")[r["idx"]][1][f])
                assert value in r["inputs"], (entry, f)


def test_few_shot_exemplars_share_the_query_donor():
    recs = ex_lib.render_split(CONTROL, "food_or_clothing", "test", fmt="shuffled_instruction",
                               shots=2)
    for r in recs[:4]:
        assert r["shots"] == 2
        name, index = r["donor"].split(":")
        template = ex_lib.dataset_templates(CONTROL, name)[int(index)]
        wording = max(re.split(r"\{[^{}]*\}", template.input), key=len)
        assert r["inputs"].count(wording) == 3            # two exemplars and the query


def test_no_dataset_to_borrow_from_is_a_clear_error():
    cfg = dataclasses.replace(CONTROL, toy_eval_size=5)
    alone = load("control")
    only_held_out = {n: d for n, d in alone.datasets.items() if d.cluster == "new_topic_pairs"}
    cfg.__dict__["catalogue"] = dataclasses.replace(alone, datasets=only_held_out)
    with pytest.raises(ValueError, match="no dataset outside cluster 'new_topic_pairs'"):
        ex_lib.render_split(cfg, "food_or_clothing", "test", fmt="shuffled_instruction")
