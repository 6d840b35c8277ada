"""The one checkpoint loader: our model dirs load with the config their config.gin records,
hf: and t5x: with the config their files imply; a missing or wrong checkpoint is a
one-line error naming the path, before any data work; one place says which model a
config builds."""
import dataclasses

import jax
import numpy as np
import pytest

from flan_repro.model import hf_import, loading as ck, t5, t5x_import
from flan_repro.model.decoder_only import DecoderOnly, DecoderOnlyConfig
from model_testlib import SMALL, random_params, write_model_dir

CFG = t5.T5Config(**SMALL, num_encoder_layers=1, num_decoder_layers=1, dropout_rate=0.0)


@pytest.fixture(scope="module")
def tiny_t5():
    return CFG, random_params(CFG, seed=0)


def _assert_same_params(a, b):
    jax.tree_util.tree_map(np.testing.assert_array_equal, jax.device_get(a), jax.device_get(b))


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
    config, params = tiny_t5
    write_model_dir(tmp_path, config, params)

    gin.clear_config()
    gin.bind_parameter("flan_repro.model.t5.T5Config.d_model", 999)   # the caller's binding
    try:
        loaded = ck.load_checkpoint(str(tmp_path))
        assert gin.query_parameter("flan_repro.model.t5.T5Config.d_model") == 999
    finally:
        gin.clear_config()
    assert loaded.config == config and loaded.model_type == "encoder_decoder"
    assert loaded.source == str(tmp_path)
    _assert_same_params(loaded.params, params)


def test_hf_and_t5x_load_with_the_config_their_files_imply(tmp_path, tiny_t5):
    import orbax.checkpoint as ocp
    config, params = tiny_t5
    hf_import.export_hf_t5(params, config, str(tmp_path / "hf"))
    # a t5x model dir: the latest checkpoint_<step>/ is read, optimizer state skipped
    tree = {"target": t5x_import.params_to_t5x(params), "state": {"step": np.int32(7)}}
    ocp.PyTreeCheckpointer().save(str(tmp_path / "t5x" / "checkpoint_7"), tree)
    for spec in (f"hf:{tmp_path / 'hf'}", f"t5x:{tmp_path / 't5x'}"):
        loaded = ck.load_checkpoint(spec)
        assert loaded.source == spec and loaded.model_type == "encoder_decoder"
        assert ck.tree_fields(loaded.config, config) == []
        _assert_same_params(loaded.params, params)


def test_in_memory_pairs_are_accepted(tiny_t5):
    m = ck.as_loaded_model(tiny_t5)
    assert m.config is tiny_t5[0] and m.source == "<in memory>"
    assert ck.as_loaded_model(m) is m
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


def test_one_place_builds_the_model_of_a_config():
    dec = DecoderOnlyConfig(**SMALL, num_layers=1)
    assert ck.model_type(CFG) == "encoder_decoder" and ck.model_type(dec) == "prefix_lm"
    model, dummy_batch = ck.build_model(dec)
    assert isinstance(model, DecoderOnly) and set(dummy_batch()) == {"decoder_input_tokens"}
    model, dummy_batch = ck.build_model(CFG)
    assert isinstance(model, t5.T5) and "encoder_input_tokens" in dummy_batch()
    with pytest.raises(ValueError, match="got dict"):
        ck.build_model({})


def test_tree_fields_name_only_what_changes_the_parameter_tree():
    assert ck.tree_fields(dataclasses.replace(CFG, dropout_rate=0.3, dtype="bfloat16"), CFG) == []
    other = dataclasses.replace(CFG, dropout_rate=0.3, separate_input_embeddings=True,
                                num_decoder_layers=2)
    assert ck.tree_fields(other, CFG) == ["num_decoder_layers", "separate_input_embeddings"]
