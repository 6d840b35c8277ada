"""Every report says what produced it: template set (with its sha256), data source,
checkpoints, the project's git commit ("unknown" outside a checkout, never an error) and
the command line; and beside one cluster it labels Fig. 8's values as a four-cluster
average, giving the paper's own number for the cluster where it has one."""
import hashlib
import json
import re

from flan_repro.ablation import provenance, report
from flan_repro.ablation.profile import AblationProfile, RunConfig
from flan_repro.registry.config import RegistryConfig

FLAN_TEMPLATES = 'PATTERNS = {"rte": [("{premise} {hypothesis}?", "{answer}")]}\n'


def fake_eval(score: float) -> dict:
    """What `runner.evaluate_row` keeps, for one dataset and two templates."""
    per_t = {"0": {"accuracy": score - 1}, "1": {"accuracy": score + 1}}
    return {"results": {"rte": {"summary": {
        "primary": "accuracy", "per_template": per_t, "mean": {"accuracy": score},
        "std": {"accuracy": 1.4}, "best_dev": {"accuracy": score}, "best_dev_template": 1}}},
        "summary": {"best_dev": {"average": score}}, "example_files": {"rte": "rte.jsonl"}}


def test_template_set_names_ours_or_flans_file_with_its_sha256(tmp_path):
    ours = provenance.template_set(None, "flan")
    assert ours["set"] == "ours" and ours["path"].endswith("tasks/templates")
    assert re.fullmatch(r"[0-9a-f]{64}", ours["sha256"])
    checkout = tmp_path / "FLAN"
    (checkout / "flan").mkdir(parents=True)
    (checkout / "flan" / "templates.py").write_text(FLAN_TEMPLATES)
    digest = hashlib.sha256(FLAN_TEMPLATES.encode()).hexdigest()
    for given in (checkout, checkout / "flan" / "templates.py"):   # as --templates takes it
        assert provenance.template_set(str(given), "flan") == {
            "set": "flan templates.py", "path": str(checkout / "flan" / "templates.py"),
            "sha256": digest}


def test_git_state_is_unknown_outside_a_checkout(tmp_path):
    assert provenance.git_state(tmp_path) == {"commit": "unknown", "dirty": None}
    here = provenance.git_state()
    if here["commit"] != "unknown":
        assert re.fullmatch(r"[0-9a-f]{40}", here["commit"]) and isinstance(here["dirty"], bool)


def test_summary_json_and_report_state_provenance(tmp_path, monkeypatch):
    flan = tmp_path / "templates.py"
    flan.write_text(FLAN_TEMPLATES)
    run = RunConfig(AblationProfile(name="tiny"),
                    RegistryConfig(data_dir="jsonl:/data/flan", templates=str(flan)))
    argv = ["flan-repro", "ablation", "--cluster", "nli", "--profile", "tiny"]
    monkeypatch.setattr("sys.argv", argv)
    rows = [report.row("base", None, "instruction", 0, fake_eval(40.0)),
            report.row("instruction", "instruction", "instruction", 0, fake_eval(60.0))]
    tuned = [str(tmp_path / "models" / "instruction")]
    s = report.summary("nli", run, rows, {"tune_instruction": 1.0}, "hf:/models/t5", tuned)
    report.write_all(tmp_path, s)

    p = json.loads((tmp_path / "summary.json").read_text())["provenance"]
    assert p["templates"] == {"set": "flan templates.py", "path": str(flan),
                              "sha256": hashlib.sha256(FLAN_TEMPLATES.encode()).hexdigest()}
    assert p["data_dir"] == "jsonl:/data/flan" and p["suite"] == "flan"
    assert p["checkpoints"] == {"base": "hf:/models/t5", "tuned": tuned}
    assert p["git"] == provenance.git_state() and p["command"] == argv
    md = (tmp_path / "report.md").read_text()
    assert "## Provenance" in md and p["templates"]["sha256"] in md
    assert "`flan-repro ablation --cluster nli --profile tiny`" in md
    # Fig. 8 is labelled as the four-cluster average; NLI's own number (Fig. 1) beside ours
    assert "| row | paper, 4-cluster average | ours, nli only |" in md
    assert "flan_137b_zero_shot 56.2" in md and "Ours, FLAN row: 60.0." in md


def test_a_summary_without_provenance_still_renders():
    assert provenance.markdown_lines(None)[-1].startswith("Not recorded")
