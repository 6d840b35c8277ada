"""Rendering: the three formats differ only in the prompt; few-shot pruning; fill errors."""
import random

import pytest

from flan_repro.catalogue import UnknownNameError, load
from flan_repro.prompts import formats
from flan_repro.prompts.templates import Template, fill, options_suffix

FIELDS = {"premise": "The cat sat.", "hypothesis": "A cat sat.", "options": ["yes", "no"],
          "label": 0, "answer": "yes"}
TEMPLATES = (Template("{premise}\nDoes it follow that {hypothesis}?\n{options_}", "{answer}"),
             Template("Write a premise.", "{premise}", turned_around=True))


def test_options_suffix_is_flans():
    assert options_suffix(["a", "b"]) == "OPTIONS:\n- a\n- b"


def test_formats_share_target_and_fields():
    spec = load().dataset("rte")
    ins = formats.render(spec, FIELDS, "instruction", templates=TEMPLATES, template_index=0)
    raw = formats.render(spec, FIELDS, "no_template")
    name = formats.render(spec, FIELDS, "dataset_name", display_name="Natural language inference")
    assert ins["inputs"] == "The cat sat.\nDoes it follow that A cat sat.?\nOPTIONS:\n- yes\n- no"
    assert raw["inputs"] == "The cat sat.\nA cat sat.\nOPTIONS:\n- yes\n- no"
    assert name["inputs"] == "[Natural language inference: RTE]\n" + raw["inputs"]
    assert ins["targets"] == raw["targets"] == name["targets"] == "yes"


def test_instruction_draw_is_seeded():
    spec = load().dataset("rte")
    draws = [formats.render(spec, FIELDS, "instruction", templates=TEMPLATES,
                            rng=formats.stable_rng(0, "rte", "train", i))["template"]
             for i in range(50)]
    again = [formats.render(spec, FIELDS, "instruction", templates=TEMPLATES,
                            rng=formats.stable_rng(0, "rte", "train", i))["template"]
             for i in range(50)]
    assert draws == again and set(draws) == {0, 1}


def test_fill_names_unknown_field_and_lists_valid():
    with pytest.raises(UnknownNameError, match="'hypotesis'.*hypothesis"):
        fill("{hypotesis}", {"hypothesis": "x", "premise": "y"})


def test_few_shot_prunes_to_budget_and_keeps_query():
    count = lambda s: len(s.split())
    query = {"inputs": "q1 q2 q3", "targets": "t"}
    shots = [{"inputs": f"e{i} e e", "targets": "a"} for i in range(5)]
    text, kept = formats.few_shot(query, shots, count, budget=3 + 2 * 5)
    assert kept == 2 and text.endswith("q1 q2 q3") and text.startswith("e0 e e\na")
    text, kept = formats.few_shot(query, shots, count, budget=1)
    assert kept == 0 and text == "q1 q2 q3"
