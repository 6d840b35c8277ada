"""T5 model behaviour that needs no reference implementation: packing, API, dropout, dtypes."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from flan_repro.model import layers, t5
from model_testlib import SMALL, make_enc_dec_batch, our_log_probs, random_params

CFG = t5.T5Config(**SMALL, num_encoder_layers=2, num_decoder_layers=2, dropout_rate=0.1)


@pytest.fixture(scope="module")
def params():
    return random_params(CFG, seed=0)


def _pack(examples, enc_len, dec_len):
    """seqio EncDecFeatureConverter(pack=True) layout for a list of (inputs, targets)."""
    row = {k: np.zeros(n, np.int32) for k, n in [
        ("encoder_input_tokens", enc_len), ("encoder_segment_ids", enc_len),
        ("encoder_positions", enc_len), ("decoder_target_tokens", dec_len),
        ("decoder_input_tokens", dec_len), ("decoder_segment_ids", dec_len),
        ("decoder_positions", dec_len)]}
    e = d = 0
    for seg, (inp, tgt) in enumerate(examples, start=1):
        row["encoder_input_tokens"][e:e + len(inp)] = inp
        row["encoder_segment_ids"][e:e + len(inp)] = seg
        row["encoder_positions"][e:e + len(inp)] = np.arange(len(inp))
        row["decoder_target_tokens"][d:d + len(tgt)] = tgt
        row["decoder_input_tokens"][d + 1:d + len(tgt)] = tgt[:-1]  # 0 starts every segment
        row["decoder_segment_ids"][d:d + len(tgt)] = seg
        row["decoder_positions"][d:d + len(tgt)] = np.arange(len(tgt))
        e, d = e + len(inp), d + len(tgt)
    row["decoder_loss_weights"] = (row["decoder_target_tokens"] > 0).astype(np.float32)
    return {k: v[None] for k, v in row.items()}


def test_packing_and_padding_do_not_change_log_probs(params):
    rng = np.random.RandomState(0)
    examples = [(rng.randint(2, 128, 19), rng.randint(2, 128, 11)),
                (rng.randint(2, 128, 23), rng.randint(2, 128, 16))]
    model = t5.T5(CFG)
    packed = _pack(examples, enc_len=48, dec_len=30)
    lp_packed = our_log_probs(model, params, packed)[0]
    start = 0
    for ex in examples:
        n = len(ex[1])
        lp_padded = our_log_probs(model, params, _pack([ex], enc_len=48, dec_len=30))[0][:n]
        np.testing.assert_allclose(lp_packed[start:start + n], lp_padded, atol=1e-5)
        start += n
    # Unpadded (exact length) == padded.
    lp_exact = our_log_probs(model, params, _pack([examples[0]], 19, 11))[0]
    lp_padded = our_log_probs(model, params, _pack([examples[0]], 48, 30))[0][:11]
    np.testing.assert_allclose(lp_exact, lp_padded, atol=1e-5)
    # Index-based relative positions give the same result for seqio packing (positions restart
    # at 0 per segment), so the cheaper [1, h, q, k] bias path is exact too.
    no_pos = {k: v for k, v in packed.items() if not k.endswith("_positions")}
    np.testing.assert_allclose(our_log_probs(model, params, no_pos)[0], lp_packed, atol=1e-5)


def test_encode_decode_equals_call(params):
    batch = {k: jnp.asarray(v) for k, v in make_enc_dec_batch(np.random.RandomState(2)).items()}
    model = t5.T5(CFG)

    @jax.jit
    def both(p, b):
        full = model.apply({"params": p}, **b)
        encoded = model.apply({"params": p}, b["encoder_input_tokens"], method=t5.T5.encode)
        logits = model.apply({"params": p}, encoded, b["decoder_input_tokens"],
                             b["encoder_input_tokens"], method=t5.T5.decode)
        return full, encoded, logits

    full, encoded, logits = both(params, batch)
    assert encoded.shape == batch["encoder_input_tokens"].shape + (CFG.d_model,)
    np.testing.assert_allclose(logits, full, atol=1e-6)
    assert full.dtype == jnp.float32 and full.shape[-1] == CFG.vocab_size


def test_init_dropout_and_grad():
    """The init (float32 params in logical-axis boxes) and a jitted training step with dropout."""
    cfg = t5.T5Config(**SMALL, num_encoder_layers=1, num_decoder_layers=1, dropout_rate=0.1)
    # The jax init is only traced here (compiling its ~30 RNG calls costs seconds on CPU).
    boxed = jax.eval_shape(lambda: t5.init_params(cfg, jax.random.PRNGKey(0), unbox=False))
    assert isinstance(boxed["encoder"]["layers_0"]["attention"]["query"]["kernel"],
                      nn.LogicallyPartitioned)
    assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(nn.meta.unbox(boxed)))
    params = random_params(cfg, seed=5)
    batch = {k: jnp.asarray(v) for k, v in make_enc_dec_batch(np.random.RandomState(3)).items()}
    model = t5.T5(cfg)

    def loss(p, key, enable_dropout):
        logits = model.apply({"params": p}, **batch, enable_dropout=enable_dropout,
                             rngs={"dropout": key})
        lp = layers.token_log_probs(logits, batch["decoder_target_tokens"])
        return -jnp.sum(lp * batch["decoder_loss_weights"])

    # Dropout on: outputs depend on the dropout key; gradients are finite. (Dropout off is
    # what every other test runs.)
    train_step = jax.jit(jax.value_and_grad(functools.partial(loss, enable_dropout=True)))
    (l1, grads), (l2, _) = train_step(params, jax.random.PRNGKey(0)), train_step(
        params, jax.random.PRNGKey(1))
    assert l1 != l2 and np.isfinite(l1)
    assert all(np.isfinite(g).all() for g in jax.tree_util.tree_leaves(grads))


def test_bfloat16_activations(params):
    cfg = t5.T5Config(**{**CFG.__dict__, "dtype": "bfloat16"})
    rng = np.random.RandomState(0)  # same shapes as the packing test: reuses its compiled f32 fn
    batch = _pack([(rng.randint(2, 128, 19), rng.randint(2, 128, 11))], enc_len=48, dec_len=30)
    lp16 = our_log_probs(t5.T5(cfg), params, batch)[0, :11]
    lp32 = our_log_probs(t5.T5(CFG), params, batch)[0, :11]
    assert np.isfinite(lp16).all()
    assert np.abs(lp16 - lp32).mean() < 0.1 * np.abs(lp32).mean()


def test_logical_axes_cover_every_param():
    axes = t5.param_logical_axes(CFG)
    shapes = jax.eval_shape(lambda: t5.init_params(CFG, jax.random.PRNGKey(0)))
    allowed = {"vocab", "embed", "heads", "kv", "mlp", "relpos_buckets"}
    is_spec = lambda x: isinstance(x, jax.sharding.PartitionSpec)
    flat_axes = jax.tree_util.tree_leaves(axes, is_leaf=is_spec)
    flat_shapes = jax.tree_util.tree_leaves(shapes)
    assert len(flat_axes) == len(flat_shapes)
    for spec, shape in zip(flat_axes, flat_shapes):
        assert len(spec) == len(shape.shape) and set(spec) <= allowed
    assert axes["encoder"]["layers_0"]["attention"]["query"]["kernel"] == \
        jax.sharding.PartitionSpec("embed", "heads", "kv")
