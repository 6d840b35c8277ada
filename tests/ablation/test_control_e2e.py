"""The positive control at CI size (`control_ci` profile, ~2.5 minutes on 2 cores): the
ablation pipeline, run on tasks/control/ where instructions help by construction, must
find the effect: the FLAN row above every other Fig. 8 row and above the shuffled-
instruction row, each paired 95% interval above 0."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# a second full ablation subprocess: `make test` keeps one end-to-end run (test_ablation_e2e)
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = ["food_or_clothing", "sport_or_colour"]
OTHER_ROWS = {("no_template", "instruction"), ("dataset_name", "instruction"),
              ("dataset_name", "dataset_name"), ("instruction", "shuffled_instruction")}


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("control") / "run"
    cmd = [sys.executable, "-m", "flan_repro", "ablation", "--cluster", "new_topic_pairs",
           "--profile", "tests/gin/control_ci.gin", "--out", str(out)]
    p = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                       capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-4000:]
    assert "FLAN, shuffled instructions" in p.stdout
    return json.loads((out / "summary.json").read_text())


def test_control_detects_its_effect(summary):
    assert summary["suite"] == "control" and summary["paper"] is None
    comps = {(c["b"]["train_format"], c["b"]["eval_format"]): c for c in summary["comparisons"]
             if c["a"]["shots"] == 0}
    assert OTHER_ROWS <= set(comps)
    for key in OTHER_ROWS:
        c = comps[key]
        assert sorted(c["datasets"]) == HELD_OUT
        assert c["diff"] > 0 and c["ci95"][0] > 0, (key, c["diff"], c["ci95"])


def test_rows_that_cannot_read_the_question_are_near_chance(summary):
    """By construction only the instruction says what the answer is: the rows without it
    (and the FLAN model given another task's instruction) cannot do much better than 50%.
    The FLAN row's interval lies above all of theirs."""
    rows = {(r["train_format"], r["eval_format"]): r for r in summary["rows"]
            if not r["variant"].startswith("seen_") and r["shots"] == 0 and r["train_format"]}
    flan = rows[("instruction", "instruction")]
    for key in OTHER_ROWS:
        lo, hi = rows[key]["cluster_average_ci95"]
        assert lo < 50 + 5 and hi > 50 - 5, (key, lo, hi)        # 50% inside or near
        assert flan["cluster_average_ci95"][0] > hi, key
    seen = {r["train_format"]: r["cluster_average"] for r in summary["rows"]
            if r["variant"].startswith("seen_")}
    assert seen["instruction"] > 80 > 65 > max(seen["no_template"], seen["dataset_name"])
