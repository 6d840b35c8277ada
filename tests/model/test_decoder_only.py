"""Decoder-only prefix LM: attention pattern and packing."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flan_repro.model import decoder_only as dec
from model_testlib import SMALL, random_params

CFG = dec.DecoderOnlyConfig(**SMALL, num_layers=3, dropout_rate=0.0)
N_IN, N_TGT, LEN = 7, 6, 20


@pytest.fixture(scope="module")
def setup():
    params = random_params(CFG, seed=0)
    model = dec.DecoderOnly(CFG)
    fn = jax.jit(lambda p, b: model.apply({"params": p}, **b))
    return params, fn


def _logits(setup, feats):
    params, fn = setup
    return np.asarray(fn(params, {k: jnp.asarray(v)[None] for k, v in feats.items()}))[0]


def _example(seed=0):
    rng = np.random.RandomState(seed)
    return list(rng.randint(2, 128, N_IN)), list(rng.randint(2, 128, N_TGT))


def test_features_layout():
    f = dec.prefix_lm_features([5, 6, 7], [8, 9], 8)
    np.testing.assert_array_equal(f["decoder_target_tokens"], [5, 6, 7, 8, 9, 0, 0, 0])
    np.testing.assert_array_equal(f["decoder_input_tokens"], [0, 5, 6, 7, 8, 0, 0, 0])
    np.testing.assert_array_equal(f["decoder_loss_weights"], [0, 0, 0, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(f["decoder_causal_attention"], [1, 1, 1, 1, 0, 0, 0, 0])


def test_prefix_lm_mask(setup):
    inputs, targets = _example()
    base_f = dec.prefix_lm_features(inputs, targets, LEN)
    base = _logits(setup, base_f)
    prefix = N_IN + 1  # decoder positions 0..N_IN see the whole prefix

    # A later target token never changes earlier logits (causal over targets).
    t = 3
    changed = dict(base_f, decoder_input_tokens=base_f["decoder_input_tokens"].copy())
    old = base_f["decoder_input_tokens"][prefix + t]
    changed["decoder_input_tokens"][prefix + t] = (old + 1) % 128 or 2
    out = _logits(setup, changed)
    np.testing.assert_array_equal(out[:prefix + t], base[:prefix + t])
    later = slice(prefix + t, prefix + N_TGT - 1)
    assert np.abs(out[later] - base[later]).max() > 1e-3

    # Any input token changes the logits at every input position (bidirectional prefix),
    # including positions before it.
    for pos in (1, N_IN // 2, N_IN):  # decoder_input_tokens[i] = inputs[i - 1]
        changed = dict(base_f, decoder_input_tokens=base_f["decoder_input_tokens"].copy())
        changed["decoder_input_tokens"][pos] = base_f["decoder_input_tokens"][pos] % 127 + 1
        out = _logits(setup, changed)
        per_pos = np.abs(out - base).max(axis=-1)
        assert (per_pos[:prefix] > 1e-4).all(), (pos, per_pos[:prefix])


def test_without_prefix_is_causal(setup):
    inputs, targets = _example(1)
    f = dec.prefix_lm_features(inputs, targets, LEN)
    del f["decoder_causal_attention"]
    base = _logits(setup, f)
    f2 = dict(f, decoder_input_tokens=f["decoder_input_tokens"].copy())
    f2["decoder_input_tokens"][4] = f["decoder_input_tokens"][4] % 127 + 1
    np.testing.assert_array_equal(_logits(setup, f2)[:4], base[:4])


def test_packed_equals_separate(setup):
    a, b = _example(2), (_example(3)[0][:4], _example(3)[1])
    fa = dec.prefix_lm_features(*a, length=len(a[0]) + len(a[1]))
    fb = dec.prefix_lm_features(*b, length=LEN * 2 - len(a[0]) - len(a[1]))
    packed = {k: np.concatenate([fa[k], fb[k] * (2 if k == "decoder_segment_ids" else 1)])
              for k in fa}
    out = _logits(setup, packed)
    na = len(fa["decoder_input_tokens"])
    np.testing.assert_allclose(out[:na], _logits(setup, dec.prefix_lm_features(*a, LEN))[:na],
                               atol=1e-5)
    nb = len(b[0]) + len(b[1])
    np.testing.assert_allclose(out[na:na + nb],
                               _logits(setup, dec.prefix_lm_features(*b, LEN))[:nb], atol=1e-5)
