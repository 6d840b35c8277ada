"""`--templates` reads a FLAN-style templates.py as data, never executing it."""
import pytest

from flan_repro.catalogue import UnknownNameError, load
from flan_repro.prompts import templates as tmpl

FLAN_STYLE = '''
import os
os.system("echo SHOULD NOT RUN > {marker}")
PATTERNS = {{
    "rte": [
        ("{{premise}}\\nQ: {{hypothesis}}?\\n\\n{{options_}}", "{{answer}}"),
        ("Make up a premise and a hypothesis.", "{{premise}} / {{hypothesis}}"),
    ],
    "anli": [("{{context}} => {{hypothesis}}?\\n{{options_}}", "{{answer}}")],
}}
'''


def write_flan_file(tmp_path):
    marker = tmp_path / "ran.txt"
    path = tmp_path / "flan" / "templates.py"
    path.parent.mkdir()
    path.write_text(FLAN_STYLE.format(marker=marker))
    return path, marker


def test_flan_file_is_parsed_not_executed(tmp_path):
    path, marker = write_flan_file(tmp_path)
    table = tmpl.load_all(str(path))
    assert set(table) == {"rte", "anli"} and len(table["rte"]) == 2
    assert not marker.exists()
    # the checkout folder works too
    assert set(tmpl.load_all(str(tmp_path))) == {"rte", "anli"}


def test_turned_around_inferred_from_target(tmp_path):
    path, _ = write_flan_file(tmp_path)
    rte = tmpl.templates_for(load().dataset("rte"), str(path))
    assert [t.turned_around for t in rte] == [False, True]


def test_missing_key_and_bad_file_errors(tmp_path):
    path, _ = write_flan_file(tmp_path)
    with pytest.raises(UnknownNameError, match="template key 'cb'.*anli, rte"):
        tmpl.templates_for(load().dataset("cb"), str(path))
    bad = tmp_path / "bad.py"
    bad.write_text("X = 1\n")
    with pytest.raises(ValueError, match="no top-level `PATTERNS"):
        tmpl.load_all(str(bad))
    with pytest.raises(FileNotFoundError, match="no such file"):
        tmpl.load_all(str(tmp_path / "nope.py"))


def test_unknown_template_field_is_reported(tmp_path):
    spec = load().dataset("rte")
    bad = (tmpl.Template("{premise} {hypothesys}", "{answer}"),)
    with pytest.raises(UnknownNameError, match="'hypothesys'.*hypothesis.*dataset 'rte'"):
        tmpl.validate(spec, bad, {"premise": "p", "hypothesis": "h", "answer": "yes"})
