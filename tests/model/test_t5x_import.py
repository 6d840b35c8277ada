"""t5x checkpoint import: legacy msgpack + tensorstore layout and orbax PyTree layout.

The checkpoints are written here in the documented t5x layouts from random params (no real
t5x checkpoint is available offline); the import must give back exactly those params.
"""
import os

import jax
import numpy as np
import pytest

from flan_repro.model import t5, t5x_import
from model_testlib import SMALL, random_params

CFG = t5.T5Config(**SMALL, num_encoder_layers=2, num_decoder_layers=3, dropout_rate=0.1)


def _flat(tree, prefix=()):
    for k, v in tree.items():
        if isinstance(v, dict):
            yield from _flat(v, prefix + (k,))
        else:
            yield prefix + (k,), v


def _write_legacy_t5x(ckpt_dir, t5x_params):
    """t5x checkpoints.py layout: msgpack `checkpoint` + one zarr array per large param."""
    ts = pytest.importorskip("tensorstore")
    from flax import serialization
    os.makedirs(ckpt_dir)
    target = {}
    for path, arr in _flat(t5x_params):
        node = target
        for p in path[:-1]:
            node = node.setdefault(p, {})
        arr = np.asarray(arr)
        if arr.ndim < 2:  # small arrays are stored inline in the msgpack file
            node[path[-1]] = arr
            continue
        name = "target." + ".".join(path)
        spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": name},
                "metadata": {"shape": list(arr.shape), "chunks": list(arr.shape),
                             "dtype": "<f4", "compressor": {"id": "gzip"}}}
        write = dict(spec, kvstore={"driver": "file", "path": os.path.join(ckpt_dir, name)})
        ts.open(write, create=True, open=True).result().write(arr).result()
        node[path[-1]] = spec
    state = {"version": 3,
             "optimizer": {"target": target,
                           "state": {"step": np.int32(100),
                                     "param_states": {"token_embedder": {"embedding": {
                                         "v_row": np.zeros(4, np.float32)}}}}}}
    with open(os.path.join(ckpt_dir, "checkpoint"), "wb") as f:
        f.write(serialization.msgpack_serialize(state))


@pytest.mark.parametrize("tied,separate", [(False, False), (True, False), (False, True)],
                         ids=["untied", "tied", "separate_inputs"])
def test_legacy_t5x_checkpoint(tmp_path, tied, separate):
    cfg = t5.T5Config(**{**CFG.__dict__, "tie_word_embeddings": tied,
                         "separate_input_embeddings": separate})
    params = random_params(cfg, seed=1)
    _write_legacy_t5x(str(tmp_path / "model" / "checkpoint_100"), t5x_import.params_to_t5x(params))
    loaded_cfg, loaded = t5x_import.load_t5x_t5(str(tmp_path / "model"), dropout_rate=0.1)
    assert loaded_cfg == cfg
    jax.tree_util.tree_map(np.testing.assert_array_equal, loaded, jax.device_get(params))


def test_orbax_checkpoint(tmp_path):
    ocp = pytest.importorskip("orbax.checkpoint")
    params = random_params(CFG, seed=2)
    tree = {"target": t5x_import.params_to_t5x(params), "state": {"step": np.int32(5)}}
    ocp.PyTreeCheckpointer().save(str(tmp_path / "ckpt"), tree)
    loaded_cfg, loaded = t5x_import.load_t5x_t5(str(tmp_path / "ckpt"), dropout_rate=0.1)
    assert loaded_cfg == CFG
    jax.tree_util.tree_map(np.testing.assert_array_equal, loaded, jax.device_get(params))
    # A mismatching explicit config is rejected instead of silently loading.
    with pytest.raises(ValueError):
        t5x_import.load_t5x_t5(str(tmp_path / "ckpt"),
                               config=t5.T5Config(**{**CFG.__dict__, "num_decoder_layers": 2}))
