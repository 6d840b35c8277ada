"""Fixtures of the prompt-tuning tests: tiny random models (numpy params, no jax init)
and the small toy registry (restored afterwards)."""
import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.dirname(os.path.dirname(_HERE))
for _p in (_REPO, os.path.join(_REPO, "tests", "model")):   # flan_repro, model_testlib
    if _p not in sys.path:
        sys.path.insert(0, _p)

TOY_VOCAB = 2176


@pytest.fixture(scope="session")
def tiny_t5():
    from flan_repro.model.loading import LoadedModel
    from flan_repro.model.t5 import T5Config
    from model_testlib import random_params
    cfg = T5Config(vocab_size=TOY_VOCAB, d_model=32, d_ff=64, num_heads=2, d_kv=16,
                   num_encoder_layers=1, num_decoder_layers=2, dropout_rate=0.0)
    return LoadedModel(cfg, random_params(cfg, seed=0))


@pytest.fixture(scope="session")
def tiny_decoder_only():
    from flan_repro.model.decoder_only import DecoderOnlyConfig
    from flan_repro.model.loading import LoadedModel
    from model_testlib import random_params
    cfg = DecoderOnlyConfig(vocab_size=TOY_VOCAB, d_model=32, d_ff=64, num_heads=2, d_kv=16,
                            num_layers=2, dropout_rate=0.0)
    return LoadedModel(cfg, random_params(cfg, seed=1))


@pytest.fixture
def toy_registry(registry_settings):
    return registry_settings(data_dir="toy", toy_train_size=200, toy_eval_size=40)
