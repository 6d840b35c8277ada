"""A shortened toy ablation end to end (the `ci` profile): every report row and file,
re-running is a no-op, and a SIGKILL mid-run followed by a re-run gives the same summary;
its output is the plan, the stage announcements and our own lines, no library chatter."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NLI = ["anli_r1", "anli_r2", "anli_r3", "cb", "rte"]


def ablation(out, *extra, wait=True):
    cmd = [sys.executable, "-m", "flan_repro", "ablation", "--cluster", "nli",
           "--profile", "tests/gin/ci.gin", "--out", str(out), *extra]
    # quiet by default, even when the shell asks TensorFlow for every log line
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    env.pop("FLAN_REPRO_VERBOSE", None)
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stderr[-4000:]
    return p


def rows_without_timing(out):
    """The rows, comparisons and calibration study, and every per-example record."""
    s = json.loads((Path(out) / "summary.json").read_text())
    records = {str(p.relative_to(out)): p.read_text()
               for p in sorted(Path(out).glob("eval/**/*.examples.jsonl"))}
    return s["rows"], s["comparisons"], s["calibration_study"], records


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("abl") / "nli"
    t = time.time()
    p = ablation(out)
    return out, p, time.time() - t


def test_report_rows_and_files(finished):
    out, p, _ = finished
    for f in ("report.md", "report.csv", "summary.json", "figures/ablation_nli.png"):
        assert (out / f).exists(), f
    assert (out / "figures/ablation_nli.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(out.glob("eval/*/*/*_reliability.png"))
    s = json.loads((out / "summary.json").read_text())
    assert s["cluster"] == "nli" and s["profile"] == "ci" and s["wall_seconds"] > 0
    kinds = {(r["variant"], r["train_format"], r["eval_format"], r["shots"]) for r in s["rows"]}
    assert {("base", None, "baseline", 0), ("base_few_shot", None, "baseline", 2),
            ("no_template", "no_template", "instruction", 0),
            ("dataset_name", "dataset_name", "instruction", 0),
            ("dataset_name", "dataset_name", "dataset_name", 0),
            ("instruction", "instruction", "instruction", 0)} <= kinds
    assert any(r["variant"].startswith("seen_") for r in s["rows"])
    for r in s["rows"]:
        if r["variant"].startswith("seen_"):
            continue
        assert sorted(r["datasets"]) == sorted(NLI), r["variant"]
        assert r["cluster_average"] is not None
        for d in r["datasets"].values():
            assert d["metric"] == "accuracy" and 0 <= d["mean_over_templates"] <= 100
            assert d["ece"] is not None and d["brier"] is not None
            if r["eval_format"] == "instruction":
                assert len(d["per_template"]) >= 7
    assert [p["value"] for p in s["paper"]["role_of_instructions"]["rows"]] == \
        [37.3, 46.6, 47.0, 55.2]
    assert s["provenance"]["templates"]["set"] == "ours" and "nli" in s["provenance"]["command"]
    assert s["provenance"]["baseline_templates"]["set"] == "ours"
    # every number with its interval and n; FLAN compared, paired, with every other row
    for r in s["rows"]:
        lo, hi = r["cluster_average_ci95"]
        assert lo <= r["cluster_average"] <= hi, r["variant"]
        for d in r["datasets"].values():
            assert d["ci95"][0] <= d["mean_over_templates"] <= d["ci95"][1] and d["n"] > 0
            assert all((out / f).exists() for f in d["examples_files"])
    others = {(c["b"]["variant"], c["b"]["eval_format"]) for c in s["comparisons"]}
    assert others == {("base", "baseline"), ("no_template", "instruction"),
                      ("dataset_name", "instruction"), ("dataset_name", "dataset_name"),
                      ("instruction", "shuffled_instruction")}
    for c in s["comparisons"]:
        assert c["ci95"][0] <= c["diff"] <= c["ci95"][1] and 0 < c["p_value"] <= 1
    study = s["calibration_study"]
    assert study["held_out"]["reference"] == "base" and study["held_out"]["datasets"] == NLI
    assert study["seen"]["datasets"] == ["sst2"]
    assert (out / "figures/calibration_nli.png").exists()
    assert (out / "figures/calibration_nli_seen.png").exists()
    md = (out / "report.md").read_text()
    assert "FLAN (instructions)" in md and "55.2" in md and "Is the difference real?" in md
    assert "The untuned base rows use `baseline` prompts" in md and "baseline prompts (" in md
    csv_lines = (out / "report.csv").read_text().splitlines()
    assert len(csv_lines) > 6 * 5


def test_output_is_the_plan_then_each_stage_without_library_noise(finished, library_noise):
    _, p, _ = finished
    assert library_noise(p.stdout + p.stderr) == []
    # the plan: "  [i/N] what[: steps][  cached]", numbered 1..N
    plan = re.findall(r"^  \[(\d+)/(\d+)\] (.+?)(?:\s+cached)?$", p.stderr, re.M)
    n = len(plan)
    assert n >= 14 and [(int(i), int(total)) for i, total, _ in plan] == \
        [(i, n) for i in range(1, n + 1)]
    assert ("3", str(n), "tune no_template: 10 steps") in plan
    # each stage announced as it starts, in order: as planned, or as skipped when cached
    logged = [line[9:] for line in p.stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d \[", line)]
    positions = []
    for i, _, what in plan:
        start = (f"[{i}/{n}] {what}", f"[{i}/{n}] {what.split(': ')[0]}: cached, skipped")
        positions.append(next(k for k, line in enumerate(logged) if line in start))
    assert positions == sorted(positions)
    # training progress lines say which stage they count
    assert re.search(rf"^\d\d:\d\d:\d\d \[3/{n}\] tune no_template: step 10/10 loss ",
                     p.stderr, re.M)


@pytest.mark.slow   # a second ablation subprocess; `make test` keeps only `finished`
def test_rerun_is_a_noop_that_reprints(finished):
    out, first, _ = finished
    before = {p: p.stat().st_mtime for p in (out / "models").rglob("*") if p.is_file()}
    rows_before = rows_without_timing(out)
    p = ablation(out)
    assert "FLAN (instructions)" in p.stdout
    after = {p: p.stat().st_mtime for p in (out / "models").rglob("*") if p.is_file()}
    assert before == after
    assert rows_without_timing(out) == rows_before


@pytest.mark.slow   # two more ablation subprocesses
def test_sigkill_mid_run_then_rerun_gives_same_summary(finished, tmp_path):
    out, _, _ = finished
    killed = tmp_path / "nli"
    proc = ablation(killed, wait=False)
    ckpt = killed / "models" / "no_template" / "checkpoints"
    t = time.time()
    while not (ckpt.exists() and any(p.name.isdigit() for p in ckpt.iterdir())):
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() - t < 900
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "summary.json").exists()
    ablation(killed)
    assert rows_without_timing(killed) == rows_without_timing(out)


def test_bogus_cluster_fails_at_once():
    t = time.time()
    p = subprocess.run([sys.executable, "-m", "flan_repro", "ablation", "--cluster", "bogus"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "unknown cluster 'bogus'" in p.stderr and "nli" in p.stderr
    assert "Traceback" not in p.stderr


def test_report_command_compares_runs(finished):
    out, _, _ = finished
    p = subprocess.run([sys.executable, "-m", "flan_repro", "report", str(out), str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "instruction / instruction / 0-shot" in p.stdout
    p = subprocess.run([sys.executable, "-m", "flan_repro", "report", str(out / "nope")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "summary.json does not exist" in p.stderr
