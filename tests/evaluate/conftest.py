"""Fixtures of the evaluator tests: one tiny random T5 (shared, so jit caches are reused)
and the small toy registry (restored afterwards)."""
import os
import sys

import numpy as np
import pytest

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _p in (_REPO, os.path.join(_REPO, "tests", "model")):   # flan_repro, model_testlib
    if _p not in sys.path:
        sys.path.insert(0, _p)

TINY = dict(vocab_size=2176, d_model=32, d_ff=64, num_heads=2, d_kv=16, dropout_rate=0.0)


def random_params(config, seed=0):
    """Random numpy params with the model's shapes (no jax init to compile)."""
    import jax
    from flan_repro.model import params as params_lib
    rng = np.random.RandomState(seed)

    def gen(path, leaf):
        names = [getattr(p, "key", "") for p in path]
        if names[-1] == "scale":
            return (1.0 + 0.1 * rng.randn(*leaf.shape)).astype(np.float32)
        if names[-1] in ("embedding", "rel_embedding"):
            return rng.randn(*leaf.shape).astype(np.float32)
        fan_in = int(np.prod(leaf.shape[:-1])) if names[-2] == "out" else leaf.shape[0]
        return (rng.randn(*leaf.shape) / np.sqrt(fan_in)).astype(np.float32)

    return jax.tree_util.tree_map_with_path(gen, params_lib.param_shapes(config))


@pytest.fixture(scope="session")
def tiny_t5():
    from flan_repro.model.t5 import T5Config
    cfg = T5Config(**TINY, num_encoder_layers=1, num_decoder_layers=1)
    return cfg, random_params(cfg, seed=0)


@pytest.fixture(scope="session")
def tiny_t5_tied():
    """tiny_t5 with two decoder layers and the head tied to the embedding."""
    from flan_repro.model.t5 import T5Config
    cfg = T5Config(**TINY, num_encoder_layers=1, num_decoder_layers=2, tie_word_embeddings=True)
    return cfg, random_params(cfg, seed=3)


@pytest.fixture(scope="session")
def tiny_decoder_only():
    from flan_repro.model.decoder_only import DecoderOnlyConfig
    cfg = DecoderOnlyConfig(**TINY, num_layers=2)
    return cfg, random_params(cfg, seed=1)


@pytest.fixture
def toy_registry(registry_settings):
    return registry_settings(data_dir="toy", toy_train_size=40, toy_eval_size=12)


def _write_model_dir(path, config, params, cls_name):
    from model_testlib import write_model_dir
    assert type(config).__name__ == cls_name
    return write_model_dir(path, config, params)


@pytest.fixture(scope="session")
def write_model_dir():
    """Writes one of our model dirs as `train` leaves it: config.gin + an orbax step."""
    return _write_model_dir
