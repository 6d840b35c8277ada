"""Helpers for trainer tests: a micro model on a micro toy mixture, run as `flan-repro train`."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MICRO = [
    "--gin_file=gin/train/toy.gin",
    "--gin.MIXTURE=flan_heldout_nli_instruction",
    "--gin.T5Config.d_model=32", "--gin.T5Config.d_ff=64", "--gin.T5Config.num_heads=4",
    "--gin.T5Config.d_kv=8", "--gin.T5Config.num_encoder_layers=1",
    "--gin.T5Config.num_decoder_layers=1", "--gin.DROPOUT_RATE=0.1",
    "--gin.train.inputs_length=64", "--gin.train.targets_length=16", "--gin.train.batch_size=8",
    "--gin.train.checkpoint_every=5", "--gin.train.log_every=1",
    "--gin.registry.toy_train_size=24", "--gin.registry.toy_eval_size=4",
]


def train_cmd(model_dir, steps, *extra):
    return [sys.executable, "-m", "flan_repro", "train", *MICRO,
            f"--gin.MODEL_DIR={model_dir}", f"--gin.TRAIN_STEPS={steps}", *extra]


def env(devices: int | None = None):
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    if devices:
        e["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return e


def run_device_script(name: str, devices: int = 8) -> dict:
    """Runs tests/train/<name> in a process that sees `devices` host devices; returns the
    JSON it prints after "RESULT " (a fresh process: XLA fixes the count at start-up)."""
    p = subprocess.run([sys.executable, str(Path(__file__).parent / name)], cwd=ROOT,
                       env=env(devices=devices), capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout.split("RESULT ", 1)[1])


def run_train(model_dir, steps, *extra, check=True):
    p = subprocess.run(train_cmd(model_dir, steps, *extra), cwd=ROOT, env=env(),
                       capture_output=True, text=True, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"train failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p


def start_train(model_dir, steps, *extra):
    return subprocess.Popen(train_cmd(model_dir, steps, *extra), cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_checkpoint(model_dir, step, proc, timeout=300):
    path = Path(model_dir) / "checkpoints" / str(step)
    t = time.time()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"training ended before checkpoint {step}: "
                                 f"{proc.stderr.read()[-2000:]}")
        if time.time() - t > timeout:
            raise AssertionError(f"no checkpoint {step} after {timeout}s")
        time.sleep(0.05)


def checkpoint_steps(model_dir):
    return sorted(int(p.name) for p in (Path(model_dir) / "checkpoints").iterdir()
                  if p.name.isdigit())


def micro_config():
    from flan_repro.model.t5 import T5Config
    return T5Config(vocab_size=2176, d_model=32, d_ff=64, num_heads=4, d_kv=8,
                    num_encoder_layers=1, num_decoder_layers=1, dropout_rate=0.1)


def final_params(model_dir):
    from flan_repro.model.loading import load_model_dir
    import jax
    import numpy as np
    return jax.tree.map(np.asarray, load_model_dir(str(model_dir), micro_config()))
