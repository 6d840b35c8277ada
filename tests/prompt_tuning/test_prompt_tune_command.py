"""`flan-repro prompt-tune` on an `hf:` folder: a run killed with SIGKILL and re-run
gives the uninterrupted run's prompt bitwise; the outputs are the prompt, the loop's
checkpoints and the evaluator's files, never the model."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = 600


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    from flan_repro.model import hf_import
    from flan_repro.model.t5 import T5Config
    from model_testlib import random_params
    cfg = T5Config(vocab_size=2176, d_model=32, d_ff=64, num_heads=2, d_kv=16,
                   num_encoder_layers=1, num_decoder_layers=1, dropout_rate=0.0)
    folder = tmp_path_factory.mktemp("hf") / "t5"
    hf_import.export_hf_t5(random_params(cfg, seed=0), cfg, str(folder))
    return folder


@pytest.fixture(scope="module")
def recipe_gin(tmp_path_factory):
    path = tmp_path_factory.mktemp("gin") / "pt.gin"
    path.write_text("include 'gin/prompt_tuning/toy.gin'\n"
                    "PromptTuningConfig.checkpoint_every = 100\n"
                    "PromptTuningConfig.batch_size = 4\n"
                    "PromptTuningConfig.max_input_length = 64\n")
    return path


def _cmd(hf_dir, recipe_gin, out):
    return [sys.executable, "-m", "flan_repro", "prompt-tune", f"--checkpoint=hf:{hf_dir}",
            "--dataset=sst2", "--prompt_length=4", "--train_examples=32", f"--steps={STEPS}",
            "--lr=0.1", "--seed=1", f"--gin_file={recipe_gin}", "--max_examples=2",
            "--no_plots", f"--out={out}"]


def _env():
    import os
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")


def _run(cmd):
    p = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def _steps(out):
    ckpts = Path(out) / "checkpoints"
    return sorted(int(p.name) for p in ckpts.iterdir() if p.name.isdigit()) \
        if ckpts.is_dir() else []


def test_sigkill_and_resume_gives_the_same_prompt(hf_dir, recipe_gin, tmp_path):
    whole = tmp_path / "whole"
    printed = _run(_cmd(hf_dir, recipe_gin, whole)).stdout
    assert "prompt-tuned" in printed and "sst2: accuracy" in printed
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cmd(hf_dir, recipe_gin, killed), cwd=ROOT, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t = time.time()
    while not _steps(killed):
        assert proc.poll() is None, proc.stderr.read()[-2000:]
        assert time.time() - t < 300, "no checkpoint after 300 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _steps(killed)[-1] < STEPS and not (killed / "prompt.npy").exists()
    _run(_cmd(hf_dir, recipe_gin, killed))
    np.testing.assert_array_equal(np.load(whole / "prompt.npy"), np.load(killed / "prompt.npy"))
    results = json.loads((killed / "results.json").read_text())
    assert results["checkpoint"] == f"hf:{hf_dir}" and results["model_type"] == "encoder_decoder"
    assert (killed / "sst2" / "instruction_0shot.examples.jsonl").is_file()
    assert not list(killed.rglob("*.safetensors")) and not list(killed.rglob("config.json"))


def test_a_dir_of_another_run_is_not_resumed(hf_dir, recipe_gin, tmp_path):
    out = tmp_path / "run"
    cmd = _cmd(hf_dir, recipe_gin, out)
    _run([a if not a.startswith("--steps") else "--steps=100" for a in cmd])
    p = subprocess.run([a if not a.startswith("--seed") else "--seed=2" for a in cmd],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 2 and "other settings" in p.stderr, p.stderr[-2000:]


def test_bad_train_examples_is_named(hf_dir, tmp_path):
    p = subprocess.run([sys.executable, "-m", "flan_repro", "prompt-tune",
                        f"--checkpoint=hf:{hf_dir}", "--dataset=sst2", "--train_examples=some",
                        f"--out={tmp_path}"], cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 2 and "--train_examples must be a number or 'all'" in p.stderr
