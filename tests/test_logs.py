"""Quiet by default: library start-up lines are dropped, everything else (errors, our own
lines) still reaches stderr; --verbose / FLAN_REPRO_VERBOSE=1 filters nothing."""
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flan_repro import logs
from flan_repro.cli import main

ROOT = Path(__file__).resolve().parents[1]

# lines seen in `make ablation` output before the filtering (verbatim, ids shortened)
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796199119.655211    3881 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "W0000 00:00:1796199119.655211    3881 cpu_feature_guard.cc:227] This TensorFlow binary",
    "normalizer.cc(51) LOG(INFO) precompiled_charsmap is empty. use identity normalization.",
]
KEPT = [
    "E0000 00:00:1796199136.126582    3881 cuda_platform.cc:52] failed call to cuInit",
    "F0000 00:00:1796199136.126582    3881 tensor.cc:1] Check failed: shape",
    "error: unknown cluster 'bogus'",
    "12:00:01 [3/14] tune no_template: 10 steps",
    "I think this line is ours",
]


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.delenv(logs.VERBOSE_ENV, raising=False)


def test_noise_patterns_match_library_info_lines_only():
    assert all(logs.is_library_noise(line) for line in NOISE)
    assert not any(logs.is_library_noise(line) for line in KEPT)


def test_filtered_window_drops_library_noise_and_writes_back_the_rest(quiet, capfd):
    with logs.library_stderr_filtered():
        os.write(2, ("\n".join(NOISE + KEPT) + "\n").encode())   # as C++ writes: fd 2
        print("from python", file=sys.stderr)
    os.write(2, b"after the window\n")
    lines = capfd.readouterr().err.splitlines()
    # (under pytest sys.stderr is not fd 2, so the Python line may come first)
    assert [line for line in lines if line != "from python"] == KEPT + ["after the window"]
    assert "from python" in lines


def test_filtered_window_keeps_what_was_written_before_an_exception(quiet, capfd):
    with pytest.raises(RuntimeError):
        with logs.library_stderr_filtered():
            os.write(2, (NOISE[1] + "\nreal problem\n").encode())
            raise RuntimeError("boom")
    os.write(2, b"fd 2 is back\n")
    assert capfd.readouterr().err.splitlines() == ["real problem", "fd 2 is back"]


def test_verbose_filters_nothing(monkeypatch, capfd):
    monkeypatch.setenv(logs.VERBOSE_ENV, "1")
    with logs.library_stderr_filtered():
        os.write(2, (NOISE[3] + "\n").encode())
    assert capfd.readouterr().err.splitlines() == [NOISE[3]]


def test_our_log_lines_are_time_then_message():
    fmt = logs._Formatter()

    def line(level, msg):
        return fmt.format(logging.LogRecord("flan_repro.x", level, __file__, 1, msg, (), None))
    assert re.fullmatch(r"\d\d:\d\d:\d\d \[1/9\] pretrain base model", line(logging.INFO,
                                                                          "[1/9] pretrain base model"))
    assert re.fullmatch(r"\d\d:\d\d:\d\d warning: disk almost full",
                        line(logging.WARNING, "disk almost full"))


@pytest.mark.parametrize("argv", [["--verbose", "tasks", "--dataset", "rte", "--show", "1"],
                                  ["tasks", "--dataset", "rte", "--show", "1", "-v"]])
def test_verbose_flag_before_or_after_the_subcommand(argv, quiet, monkeypatch, capsys):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    for name in logs.QUIET_ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(argv) == 0
    assert os.environ.get(logs.VERBOSE_ENV) == "1"          # inherited by child processes
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ         # libraries left as they are


def test_quiet_by_default_sets_library_log_levels(quiet, monkeypatch, capsys):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    for name in logs.QUIET_ENV:
        monkeypatch.setenv(name, "0")                          # as a user's shell might
    assert main(["tasks", "--dataset", "rte", "--show", "1"]) == 0
    assert {k: os.environ[k] for k in logs.QUIET_ENV} == logs.QUIET_ENV
    assert logs.VERBOSE_ENV not in os.environ


def run_cli(*args):
    env = {k: v for k, v in os.environ.items() if k != logs.VERBOSE_ENV}
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"                         # what a user's shell may hold
    p = subprocess.run([sys.executable, "-m", "flan_repro", *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def test_tasks_output_is_only_the_answer(library_noise):
    """`--show` renders without TensorFlow; `--stats` imports it (and with it the CUDA
    probe that logs on every machine without a GPU)."""
    p = run_cli("tasks", "--dataset", "rte", "--show", "1")
    assert p.stdout.startswith("--- rte [validation #0") and p.stdout.rstrip().endswith("no")
    assert p.stderr == ""
    p = run_cli("tasks", "--stats", "--cluster", "nli", "--format", "instruction")
    assert p.stdout.startswith("flan_heldout_nli_instruction: ")
    assert library_noise(p.stdout + p.stderr) == [] and p.stderr == ""
