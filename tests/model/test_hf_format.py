"""safetensors I/O and HF export/import round trip without torch or transformers."""
import json

import ml_dtypes
import numpy as np

from flan_repro.model import hf_import, t5
from model_testlib import SMALL, random_params


def test_safetensors_roundtrip(tmp_path):
    rng = np.random.RandomState(0)
    tensors = {"a.weight": rng.randn(3, 5).astype(np.float32),
               "b": rng.randn(7).astype(ml_dtypes.bfloat16),
               "c": np.arange(6, dtype=np.int64).reshape(2, 3),
               "d": np.float16(rng.randn(1, 1, 2))}
    hf_import.write_safetensors(str(tmp_path / "x.safetensors"), tensors)
    back = hf_import.read_safetensors(str(tmp_path / "x.safetensors"))
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(np.asarray(back[k], np.float64), np.asarray(v, np.float64))


def test_export_import_roundtrip_bf16(tmp_path):
    cfg = t5.T5Config(**SMALL, num_encoder_layers=1, num_decoder_layers=2)
    params = random_params(cfg, seed=3)
    hf_import.export_hf_t5(params, cfg, str(tmp_path), dtype=ml_dtypes.bfloat16)
    hf = json.load(open(tmp_path / "config.json"))
    assert hf["dtype"] == "bfloat16" and hf["tie_word_embeddings"] is False
    assert hf["feed_forward_proj"] == "gated-gelu" and hf["num_decoder_layers"] == 2
    cfg2, params2 = hf_import.load_hf_t5(str(tmp_path))
    assert cfg2 == cfg
    rounded = lambda x: np.asarray(x).astype(ml_dtypes.bfloat16).astype(np.float32)
    import jax
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_array_equal(a, rounded(b)),
                           params2, params)
    assert params2["decoder"]["layers_0"]["self_attention"]["query"]["kernel"].dtype == np.float32
