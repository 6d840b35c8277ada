"""Checkpoints: our model dirs load with the config their config.gin records; a missing
or wrong checkpoint is a one-line error naming the path, before any data work."""
import numpy as np
import pytest

from flan_repro.evaluate import checkpoint as ck


def test_missing_checkpoints_name_the_path(tmp_path):
    fake = tmp_path / "no_such_run"
    with pytest.raises(FileNotFoundError, match="no_such_run"):
        ck.check_checkpoint(str(fake))
    with pytest.raises(FileNotFoundError, match="config.json"):
        ck.check_checkpoint(f"hf:{tmp_path}")
    with pytest.raises(FileNotFoundError, match="config.gin"):
        ck.check_checkpoint(str(tmp_path))
    (tmp_path / "config.gin").write_text("")
    with pytest.raises(FileNotFoundError, match="checkpoints"):
        ck.check_checkpoint(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="t5x"):
        ck.check_checkpoint(f"t5x:{fake}")


def test_model_dir_roundtrip_keeps_the_callers_gin(tmp_path, tiny_t5):
    import gin
    import jax.numpy as jnp
    from flan_repro.train.checkpoints import Checkpointer
    config, params = tiny_t5
    bindings = "\n".join(f"T5Config.{k} = {v!r}" for k, v in
                         [("vocab_size", 2176), ("d_model", 32), ("d_ff", 64), ("num_heads", 2),
                          ("d_kv", 16), ("num_encoder_layers", 1), ("num_decoder_layers", 1),
                          ("dropout_rate", 0.0)])
    (tmp_path / "config.gin").write_text(
        "import flan_repro.model.t5\nimport flan_repro.train.trainer\n"
        f"{bindings}\ntrain.model_config = @T5Config()\ntrain.train_steps = 3\n")
    state = {"step": jnp.int32(3), "params": jax_tree(params), "opt_state": {}}
    c = Checkpointer(tmp_path / "checkpoints")
    c.save(3, state, {"step": 3})
    c.close()

    gin.clear_config()
    gin.bind_parameter("flan_repro.model.t5.T5Config.d_model", 999)   # the caller's binding
    try:
        loaded = ck.load_checkpoint(str(tmp_path))
        assert gin.query_parameter("flan_repro.model.t5.T5Config.d_model") == 999
    finally:
        gin.clear_config()
    assert loaded.config == config and loaded.model_type == "encoder_decoder"
    flat_a = np.concatenate([np.ravel(a) for a in _leaves(loaded.params)])
    flat_b = np.concatenate([np.ravel(a) for a in _leaves(params)])
    np.testing.assert_array_equal(flat_a, flat_b)


def jax_tree(params):
    import jax
    import jax.numpy as jnp
    return jax.tree_util.tree_map(jnp.asarray, params)


def _leaves(tree):
    import jax
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def test_in_memory_pairs_are_accepted(tiny_t5):
    m = ck.as_loaded_model(tiny_t5)
    assert m.config is tiny_t5[0] and m.source == "<in memory>"
    with pytest.raises(ValueError, match="T5Config or DecoderOnlyConfig"):
        ck.as_loaded_model(({"d_model": 3}, {}))


def test_unreadable_checkpoints_are_one_line_value_errors(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints" / "5").mkdir(parents=True)
    (run / "config.gin").write_text("this is = = not gin\n")
    with pytest.raises(ValueError, match="config.gin"):
        ck.load_checkpoint(str(run))
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text('{"feed_forward_proj": "gated-gelu"}')
    (hf / "model.safetensors").write_bytes(b"garbage!")
    with pytest.raises(ValueError, match=f"{hf}: cannot load it as a HuggingFace"):
        ck.load_checkpoint(f"hf:{hf}")
