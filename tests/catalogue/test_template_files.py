"""Mechanical checks of the instruction templates in tasks/templates/<key>.yaml.

Each file is a YAML list of exactly 10 templates {input, target[, turned_around]}.
Checked here, against the catalogue (tasks/catalogue.yaml) and the fields each dataset
declares (its `fields:` map, or the `fields=` of its converter in
flan_repro/catalogue/converters.py):
  - every catalogue `templates:` key has a file, and every file is such a key;
  - at most 3 templates are turned around; standard ones have target "{<target>}";
  - classification standard inputs end with "\n{options_}", turned-around ones lack it;
  - translation keys have exactly 3 turned-around (X -> English) templates;
  - every placeholder is a field the dataset declares (or `options_`), and there are no
    stray braces.
The declarations are checked against real converter output by `convert` itself (and
tests/data/test_toy.py runs every dataset through it), so this check needs no data.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from flan_repro.catalogue import load
from flan_repro.catalogue.converters import output_fields

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "tasks" / "templates"

PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
N_TEMPLATES = 10
MAX_TURNED = 3
N_TRANSLATION_TURNED = 3
# Fields datasets declare that are not text, or not meant for templates.
NOT_TEXT = {"options", "label", "answers", "idx/question", "score"}


# ----------------------------------------------------------------- helpers
def _catalogue_keys() -> dict[str, dict]:
    """templates key -> {fields, target, classification, translation, datasets}."""
    keys: dict[str, dict] = {}
    for name, spec in load().datasets.items():
        info = {"fields": output_fields(spec), "target": spec.target,
                "classification": spec.classification,
                "translation": spec.converter == "translation"}
        key = spec.templates
        if key in keys:
            prev = {k: v for k, v in keys[key].items() if k != "datasets"}
            assert prev == info, (f"datasets sharing templates key {key!r} disagree: "
                                  f"{keys[key]['datasets']} vs {name}")
            keys[key]["datasets"].append(name)
        else:
            keys[key] = {**info, "datasets": [name]}
    return keys


KEYS = _catalogue_keys()
FILES = sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))


def _load(key: str) -> list[dict]:
    with open(TEMPLATES_DIR / f"{key}.yaml") as f:
        return yaml.safe_load(f)


# ----------------------------------------------------------------- tests
def test_declared_fields_sanity():
    # Guards the declarations' reading: known datasets with known fields.
    cat = load()
    assert output_fields(cat.dataset("rte")) == {"premise", "hypothesis", "options", "label",
                                                 "answer"}
    assert {"lang1", "lang2", "sent1", "sent2"} <= output_fields(cat.dataset("wmt14_enfr"))
    assert {"text", "highlights"} <= output_fields(cat.dataset("cnn_dailymail"))


def test_every_key_has_a_file_and_every_file_a_key():
    assert len(KEYS) == 58
    missing = sorted(set(KEYS) - set(FILES))
    extra = sorted(set(FILES) - set(KEYS))
    assert not missing, f"templates keys without tasks/templates/<key>.yaml: {missing}"
    assert not extra, f"template files that no catalogue entry uses: {extra}"


@pytest.mark.parametrize("key", sorted(KEYS))
def test_template_file(key):
    info = KEYS[key]
    templates = _load(key)
    assert isinstance(templates, list), f"{key}.yaml must be a YAML list"
    assert len(templates) == N_TEMPLATES, f"{key}: {len(templates)} templates, want {N_TEMPLATES}"

    allowed = (info["fields"] - NOT_TEXT) | {"options_"}
    assert info["target"] in allowed, f"{key}: target field {info['target']!r} not emitted"
    standard_target = "{" + info["target"] + "}"

    turned = 0
    inputs = []
    for i, t in enumerate(templates):
        where = f"{key}.yaml template {i}"
        assert isinstance(t, dict), where
        assert set(t) <= {"input", "target", "turned_around"}, f"{where}: keys {sorted(t)}"
        assert isinstance(t.get("input"), str) and t["input"].strip(), f"{where}: empty input"
        assert isinstance(t.get("target"), str) and t["target"].strip(), f"{where}: empty target"
        is_turned = t.get("turned_around", False)
        assert is_turned in (True, False), f"{where}: turned_around must be a boolean"
        inputs.append(t["input"])

        for text in (t["input"], t["target"]):
            used = PLACEHOLDER.findall(text)
            bad = sorted(set(used) - allowed)
            assert not bad, f"{where}: unknown placeholders {bad}; allowed {sorted(allowed)}"
            leftover = PLACEHOLDER.sub("", text)
            assert "{" not in leftover and "}" not in leftover, f"{where}: stray brace in {text!r}"
        assert "{options_}" not in t["target"], f"{where}: options_ in target"

        if is_turned:
            turned += 1
            assert t["target"] != standard_target, f"{where}: turned around, but standard target"
            if info["classification"]:
                assert "{options_}" not in t["input"], f"{where}: turned around with options_"
            if info["translation"]:
                assert t["target"] == "{sent1}" and "{sent2}" in t["input"], (
                    f"{where}: turned-around translation must map {{sent2}} -> {{sent1}}")
                assert "{sent1}" not in t["input"], where
        else:
            assert t["target"] == standard_target, (
                f"{where}: standard template target {t['target']!r}, want {standard_target!r}")
            if info["classification"]:
                assert t["input"].endswith("\n{options_}"), (
                    f"{where}: classification input must end with a newline and {{options_}}")
                assert t["input"].count("{options_}") == 1, where
            else:
                assert "{options_}" not in t["input"], f"{where}: options_ in a generation task"
            if info["translation"]:
                assert "{sent1}" in t["input"] and "{sent2}" not in t["input"], (
                    f"{where}: standard translation must map {{sent1}} -> {{sent2}}")
            # The input must show some of the example, not just an instruction.
            assert PLACEHOLDER.search(t["input"]), f"{where}: input uses no field"

    assert turned <= MAX_TURNED, f"{key}: {turned} turned-around templates, max {MAX_TURNED}"
    if info["translation"]:
        assert turned == N_TRANSLATION_TURNED, f"{key}: {turned} X->English templates, want 3"
    assert len(set(inputs)) == len(inputs), f"{key}: duplicate inputs"


def test_inputs_are_not_shared_across_keys():
    # Diversity across datasets: no template input is copied verbatim between files,
    # except trivial bare-field inputs such as "{question}".
    seen: dict[str, str] = {}
    dupes = []
    for key in sorted(KEYS):
        for t in _load(key):
            text = t["input"]
            if PLACEHOLDER.sub("", text).strip() == "":
                continue
            if text in seen and seen[text] != key:
                dupes.append((seen[text], key, text))
            seen.setdefault(text, key)
    assert not dupes, f"identical inputs in several files: {dupes[:5]}"
