"""`flan-repro calibration`: two checkpoints scored on the same examples, the study's
files written, and mistakes as one `error:` line."""
import json

import pytest

from flan_repro.cli import main
from flan_repro.evaluate import calibration_command


def test_two_checkpoints_same_examples_files(tmp_path, tiny_t5, tiny_t5_tied, write_model_dir,
                                             toy_registry):
    a = write_model_dir(tmp_path / "base", *tiny_t5, "T5Config")
    b = write_model_dir(tmp_path / "tuned", *tiny_t5_tied, "T5Config")
    out = tmp_path / "cal"
    assert main(["calibration", "--checkpoint", str(a), "--checkpoint", str(b), "--cluster",
                 "nli", "--datasets", "rte,cb", "--max_examples", "6", "--batch_size", "8",
                 "--max_input_length", "128", "--out", str(out)]) == 0
    s = json.loads((out / "calibration.json").read_text())
    assert s["reference"] == "base" and set(s["models"]) == {"base", "tuned"}
    assert s["datasets"] == ["rte", "cb"]
    for d in ("rte", "cb"):
        e = s["models"]["tuned"]["datasets"][d]
        assert e["n_examples"] == 6 and e["ece_ci95"][0] <= e["ece"] <= e["ece_ci95"][1]
        assert {"diff", "ci95", "p_value"} <= set(e["ece_diff_vs_reference"])
    assert (out / "figures/calibration_nli.png").read_bytes()[:4] == b"\x89PNG"
    assert "ΔECE" in (out / "calibration.md").read_text()
    assert (out / "models/base/rte/instruction_0shot.examples.jsonl").exists()


def test_mistakes_are_one_error_line(tmp_path, capsys):
    assert main(["calibration", "--checkpoint", str(tmp_path / "missing"), "--checkpoint",
                 str(tmp_path / "x"), "--cluster", "nli", "--out", str(tmp_path / "o")]) == 2
    assert main(["calibration", "--checkpoint", "a", "--cluster", "nli",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "error: give at least two --checkpoint" in err
    with pytest.raises(ValueError, match="repeat"):
        calibration_command.model_names(["runs/a/model", "other/model"], None)
    assert calibration_command.model_names(["hf:/m/t5-base", "runs/flan"], None) == \
        ["t5-base", "flan"]
