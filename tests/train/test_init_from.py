"""`train.init_from` tunes from any checkpoint the loader reads: one of our model dirs
(how the ablation tunes its base model), a HuggingFace folder (hf:DIR) or a t5x
checkpoint (t5x:DIR), each written here from known random params.

With a zero learning rate the params after training equal the ones before the first
update, so they must equal the checkpoint's bitwise: the run started from them, not
from a fresh init."""
import dataclasses
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import trainlib  # noqa: E402


def known_params(config, seed=7):
    from flan_repro.model.params import param_shapes
    rng = np.random.RandomState(seed)
    return jax.tree.map(lambda s: rng.normal(0.0, 0.05, s.shape).astype(np.float32),
                        param_shapes(config))


def write_model_dir(path, config, params) -> str:
    import jax.numpy as jnp
    from flan_repro.train.checkpoints import Checkpointer
    bindings = "\n".join(f"T5Config.{f.name} = {getattr(config, f.name)!r}"
                         for f in dataclasses.fields(config))
    path.mkdir(parents=True)
    (path / "config.gin").write_text(f"{bindings}\ntrain.model_config = @T5Config()\n")
    c = Checkpointer(path / "checkpoints")
    c.save(100, {"step": jnp.int32(100), "params": jax.tree.map(jnp.asarray, params),
                 "opt_state": {}}, {"step": 100})
    c.close()
    return str(path)


def write_hf(path, config, params) -> str:
    from flan_repro.model.hf_import import export_hf_t5
    export_hf_t5(params, config, str(path))
    return f"hf:{path}"


def write_t5x(path, config, params) -> str:
    """A t5x model dir: checkpoint_<step>/ holding the params (t5x layout) and state."""
    import orbax.checkpoint as ocp
    from flan_repro.model.t5x_import import params_to_t5x
    tree = {"target": params_to_t5x(params), "state": {"step": np.int32(100)}}
    ocp.PyTreeCheckpointer().save(str(path / "checkpoint_100"), tree)
    return f"t5x:{path}"


def tune(model_dir, init_from, steps=2):
    """The MICRO run, in process, tuned from `init_from` with a zero learning rate."""
    from flan_repro import gin_config
    from flan_repro.registry.config import configure, configure_from_gin, current
    from flan_repro.train import trainer
    flags = [a for a in trainlib.MICRO if a.startswith("--gin.")] + [
        f"--gin.TRAIN_STEPS={steps}", "--gin.learning_rate_schedule.learning_rate=0.0",
        "--gin.learning_rate_schedule.warmup_steps=0"]
    bindings = gin_config.gin_bindings(flags) + [
        f"MODEL_DIR = '{model_dir}'", f"train.init_from = '{init_from}'"]
    files = [a.split("=", 1)[1] for a in trainlib.MICRO if a.startswith("--gin_file")]
    saved = current()
    try:
        with gin_config.gin_scope(files, bindings):
            configure_from_gin()
            return trainer.train()
    finally:
        configure(**{f: getattr(saved, f) for f in saved.__dataclass_fields__})


@pytest.mark.parametrize("write", [write_model_dir, write_hf, write_t5x],
                         ids=["model_dir", "hf", "t5x"])
def test_tuning_starts_from_the_checkpoints_params(tmp_path, write):
    config = trainlib.micro_config()
    params = known_params(config)
    spec = write(tmp_path / "init", config, params)
    result = tune(tmp_path / "run", spec)
    assert result.step == 2 and np.isfinite(result.final_loss)
    got = trainlib.final_params(tmp_path / "run")
    jax.tree.map(np.testing.assert_array_equal, got, params)


def test_a_t5x_checkpoint_of_another_size_names_the_bindings(tmp_path):
    from flan_repro.model.params import param_shapes
    from flan_repro.train.trainer import init_params_from
    config = trainlib.micro_config()
    bigger = dataclasses.replace(config, num_decoder_layers=2, d_ff=128)
    spec = write_t5x(tmp_path / "t5x", bigger, known_params(bigger))
    with pytest.raises(ValueError, match=r"has d_ff=128, num_decoder_layers=2 but .* bind "
                                         r"T5Config.d_ff = 128, T5Config.num_decoder_layers = 2"):
        init_params_from(spec, config, param_shapes(config))
