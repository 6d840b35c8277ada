"""The trainer's promises: resume equals uninterrupted, SIGTERM saves, corrupt checkpoints
are skipped, NaN stops naming the step, bad gin names the binding, loss falls."""
import json
import signal
import shutil
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import trainlib  # noqa: E402


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    d = tmp_path_factory.mktemp("a") / "run"
    trainlib.run_train(d, 30)
    return d


def test_loss_falls_and_outputs_written(uninterrupted):
    rows = [json.loads(l) for l in open(uninterrupted / "metrics.jsonl")]
    assert [r["step"] for r in rows] == list(range(1, 31))
    first, last = np.mean([r["loss"] for r in rows[:5]]), np.mean([r["loss"] for r in rows[-5:]])
    assert last < first - 0.5, (first, last)
    assert (uninterrupted / "config.gin").read_text().count("T5Config.d_model = 32")
    assert list((uninterrupted / "tensorboard").glob("events.out.tfevents.*"))
    assert trainlib.checkpoint_steps(uninterrupted) == [25, 30]     # keep the last 2


def test_sigkill_and_resume_is_bitwise_identical(uninterrupted, tmp_path):
    d = tmp_path / "run"
    proc = trainlib.start_train(d, 30)
    trainlib.wait_for_checkpoint(d, 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert trainlib.checkpoint_steps(d)[-1] < 30
    trainlib.run_train(d, 30)
    a, b = trainlib.final_params(uninterrupted), trainlib.final_params(d)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_sigterm_saves_and_exits_cleanly(tmp_path):
    d = tmp_path / "run"
    proc = trainlib.start_train(d, 5000)
    trainlib.wait_for_checkpoint(d, 5, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert "stopped by signal" in out
    stopped_at = int(out.split("to step ")[1].split(",")[0])
    assert 5 <= stopped_at < 5000 and trainlib.checkpoint_steps(d)[-1] == stopped_at


def test_signal_during_a_periodic_save_saves_once_and_stops(tmp_path):
    """The signal lands while the step's own checkpoint is being written (checkpoint
    every step, flag already set): the trainer must stop there, not save the step twice."""
    import gin
    from flan_repro.registry.config import configure, configure_from_gin, current
    from flan_repro import gin_config
    from flan_repro.train import trainer
    saved = current()
    flag = trainer._StopFlag()
    flag.signal = signal.SIGTERM
    bindings = gin_config.gin_bindings([a for a in trainlib.MICRO if a.startswith("--gin.")]
                                    + ["--gin.TRAIN_STEPS=20", "--gin.train.checkpoint_every=1"])
    files = [a.split("=", 1)[1] for a in trainlib.MICRO if a.startswith("--gin_file")]
    gin.clear_config()
    try:
        gin_config.parse_gin(files, bindings + [f"MODEL_DIR = '{tmp_path / 'run'}'"])
        configure_from_gin()
        res = trainer.train(stop_flag=flag)
    finally:
        gin.clear_config()
        configure(**{f: getattr(saved, f) for f in saved.__dataclass_fields__})
    assert res.stopped_by_signal and res.step == 1
    assert trainlib.checkpoint_steps(tmp_path / "run") == [1]


def test_corrupt_latest_checkpoint_falls_back(uninterrupted, tmp_path):
    d = tmp_path / "run"
    shutil.copytree(uninterrupted, d)
    latest = d / "checkpoints" / "30"
    for f in latest.rglob("*"):
        if f.is_file() and f.stat().st_size > 0 and "manifest" in f.name:
            f.write_bytes(b"garbage")
    for f in (latest / "state").rglob("*"):
        if f.is_file():
            f.write_bytes(b"\0" * 7)
    p = trainlib.run_train(d, 35)
    assert "cannot be restored" in p.stderr and "falling back" in p.stderr
    assert trainlib.checkpoint_steps(d)[-1] == 35
    rows = [json.loads(l) for l in open(d / "metrics.jsonl")]
    assert rows[-10]["step"] == 26      # resumed after step 25, the previous checkpoint


def test_nan_loss_stops_naming_the_step(tmp_path):
    d = tmp_path / "run"
    p = trainlib.run_train(d, 40, "--gin.make_optimizer.name='adamw'",
                           "--gin.learning_rate_schedule.learning_rate=1e12",
                           "--gin.learning_rate_schedule.warmup_steps=0", check=False)
    assert p.returncode == 2
    err = p.stderr.strip().splitlines()[-1]
    assert err.startswith("error: loss is") and "at step" in err and "last good checkpoint" in err
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize("binding,expected", [
    ("--gin.train.bogus=1", "bogus"),
    ("--gin.MIXTURE=flan_heldout_bogus_instruction", "unknown cluster 'bogus'"),
])
def test_bad_gin_names_the_binding(tmp_path, binding, expected):
    p = trainlib.run_train(tmp_path / "r", 2, binding, check=False)
    assert p.returncode == 2 and expected in p.stderr and "Traceback" not in p.stderr


def test_missing_required_macro_is_named(tmp_path):
    import subprocess
    cmd = [a for a in trainlib.train_cmd(tmp_path / "r", 2) if "MODEL_DIR" not in a]
    p = subprocess.run(cmd, cwd=trainlib.ROOT, env=trainlib.env(), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 2 and "model_dir" in p.stderr.lower() and "Traceback" not in p.stderr


def test_init_from_hf_names_the_embedding_binding(tmp_path):
    """An hf: checkpoint with separate input embeddings initialises only a model gin that
    binds them; otherwise the error names the binding, not a tree mismatch."""
    import dataclasses
    from flan_repro.model import hf_import, t5
    from flan_repro.model.params import param_shapes
    from flan_repro.train.trainer import init_params_from
    cfg = t5.T5Config(vocab_size=16, d_model=8, d_ff=16, num_heads=2, d_kv=4,
                      num_encoder_layers=1, num_decoder_layers=1, separate_input_embeddings=True)
    params = t5.init_params(cfg, jax.random.PRNGKey(0))
    hf_import.export_hf_t5(params, cfg, str(tmp_path / "hf"))
    got = init_params_from(f"hf:{tmp_path / 'hf'}", cfg, param_shapes(cfg))
    jax.tree_util.tree_map(np.testing.assert_array_equal, got, params)
    shared = dataclasses.replace(cfg, separate_input_embeddings=False)
    with pytest.raises(ValueError, match="T5Config.separate_input_embeddings = True"):
        init_params_from(f"hf:{tmp_path / 'hf'}", shared, param_shapes(shared))
