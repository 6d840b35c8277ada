"""Building blocks shared by the T5 v1.1 encoder-decoder and the decoder-only LM.

Conventions (kept identical to t5x so t5x checkpoints map 1:1):
  * every parameter is float32 and carries logical axis names through
    `nn.with_logical_partitioning`; a sharding step maps them onto a
    ("data", "model") mesh with logical-axis rules;
  * attention projections are 3-D: query/key/value kernels [embed, heads, kv],
    output kernel [heads, kv, embed]; projections run through `kernels.project`;
  * no biases anywhere; T5-style RMSNorm; gated-GELU (tanh approximation) MLP;
  * T5 does not scale q.k by 1/sqrt(d_kv) (it is folded into the query init);
  * attention masks are additive float32 biases of shape [batch, 1, q, k]
    (or [batch, heads, q, k] once the relative position bias is folded in).

The same modules serve training and cached inference (scoring, generation): attention
returns the keys/values it attended to and accepts them back, so a cache is plain state.
A soft prompt (prompt tuning) is L learned embeddings placed before a stack's embedded
tokens, valid in every mask (`prepend_prompt`, `prompt_mask`).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from flan_repro.model.kernels import broadcast_add, project

Array = jax.Array
KV = Tuple[Array, Array]    # keys, values [batch, length, heads, d_kv]
PARAM_DTYPE = jnp.float32
NEG_INF = -1e10  # additive mask value (as in t5x); finite, so fully masked rows stay NaN-free

variance_scaling = nn.initializers.variance_scaling


def _param(module: nn.Module, name: str, init: Callable, shape: Tuple[int, ...],
           axes: Tuple[str, ...]) -> Array:
    """A float32 parameter annotated with logical axis names."""
    return module.param(name, nn.with_logical_partitioning(init, axes), shape, PARAM_DTYPE)


# ----------------------------------------------------------------------------- primitives


class RMSNorm(nn.Module):
    """T5 layer norm: scale only, no mean subtraction, no bias; statistics in float32."""
    epsilon: float = 1e-6
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        scale = _param(self, "scale", nn.initializers.ones, (x.shape[-1],), ("embed",))
        x32 = x.astype(jnp.float32)
        var = jnp.mean(jnp.square(x32), axis=-1, keepdims=True)
        y = (x32 * jax.lax.rsqrt(var + self.epsilon)).astype(self.dtype)
        return y * scale.astype(self.dtype)


class Einsum(nn.Module):
    """A bias-free projection `einsum(equation, x, kernel)` with a named kernel."""
    shape: Tuple[int, ...]
    axes: Tuple[str, ...]
    equation: str
    kernel_init: Callable = variance_scaling(1.0, "fan_in", "truncated_normal")
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array) -> Array:
        kernel = _param(self, "kernel", self.kernel_init, self.shape, self.axes)
        return project(self.equation, x.astype(self.dtype), kernel.astype(self.dtype))


class Embed(nn.Module):
    """Token embedding [vocab, embed]; `attend` projects back onto the vocabulary."""
    num_embeddings: int
    features: int
    dtype: Any = jnp.float32

    def setup(self):
        self.embedding = _param(self, "embedding", nn.initializers.normal(stddev=1.0),
                                (self.num_embeddings, self.features), ("vocab", "embed"))

    def __call__(self, tokens: Array) -> Array:
        return jnp.take(self.embedding, tokens.astype(jnp.int32), axis=0).astype(self.dtype)

    def attend(self, x: Array) -> Array:
        return project("bld,dv->blv", x.astype(self.dtype), self.embedding.astype(self.dtype).T,
                       preferred_element_type=jnp.float32)


# ----------------------------------------------------------------------------- positions & masks


def relative_position_bucket_table(bidirectional: bool, num_buckets: int,
                                   max_distance: int) -> np.ndarray:
    """Bucket of every relative position r = key_pos - query_pos in [-max_distance, max_distance].

    Index the result with `clip(r, -max_distance, max_distance) + max_distance`. Buckets
    saturate at |r| >= max_distance, so clipping is exact. Computed once in numpy float32
    exactly as Mesh TensorFlow / HF `_relative_position_bucket` do, which keeps the log out
    of the compiled graph and avoids off-by-one buckets from a less accurate device `log` at
    exact bucket boundaries.
    """
    r = np.arange(-max_distance, max_distance + 1)
    buckets = np.zeros_like(r)
    if bidirectional:
        num_buckets //= 2
        buckets += (r > 0).astype(r.dtype) * num_buckets
        n = np.abs(r)
    else:
        n = -np.minimum(r, 0)
    max_exact = num_buckets // 2
    with np.errstate(divide="ignore"):
        large = max_exact + (np.log(n.astype(np.float32) / np.float32(max_exact))
                             / np.float32(math.log(max_distance / max_exact))
                             * np.float32(num_buckets - max_exact))
    large = np.where(n < max_exact, 0, large).astype(np.int64)  # avoid casting -inf
    large = np.minimum(large, num_buckets - 1)
    buckets += np.where(n < max_exact, n, large)
    return buckets.astype(np.int32)


class RelativePositionBias(nn.Module):
    """T5 relative position bias, shared by all layers of one stack (param [heads, buckets])."""
    num_heads: int
    num_buckets: int = 32
    max_distance: int = 128
    bidirectional: bool = True

    @nn.compact
    def __call__(self, q_len: int, k_len: int, q_positions: Optional[Array] = None,
                 k_positions: Optional[Array] = None) -> Array:
        """Returns a float32 bias [1, heads, q, k] (or [batch, heads, q, k] given positions).

        Without positions the relative positions are the index differences, a trace-time
        constant. With per-token positions [batch|1, len] (packed examples; cached inference,
        whose keys sit elsewhere than its queries) r = k_pos - q_pos per row. For seqio-packed
        data (positions restart at 0 in each segment) both agree on every pair that the
        segment mask keeps, so passing no positions is an exact, cheaper alternative.
        """
        table = _param(self, "rel_embedding", variance_scaling(1.0, "fan_avg", "uniform"),
                       (self.num_heads, self.num_buckets), ("heads", "relpos_buckets"))
        m = self.max_distance
        lut = relative_position_bucket_table(self.bidirectional, self.num_buckets, m)
        if q_positions is None:
            rel = np.arange(k_len)[None, :] - np.arange(q_len)[:, None]
            buckets = lut[np.clip(rel, -m, m) + m]                          # [q, k] constant
            return jnp.take(table, jnp.asarray(buckets), axis=1)[None]     # [1, h, q, k]
        rel = k_positions[:, None, :].astype(jnp.int32) - q_positions[:, :, None].astype(jnp.int32)
        buckets = jnp.asarray(lut)[jnp.clip(rel, -m, m) + m]               # [b, q, k]
        return jnp.moveaxis(jnp.take(table, buckets, axis=1), 0, 1)        # [b, h, q, k]


def attention_mask(q_valid: Optional[Array] = None, k_valid: Optional[Array] = None,
                   q_segment_ids: Optional[Array] = None, k_segment_ids: Optional[Array] = None,
                   causal: bool = False, bidirectional_prefix: Optional[Array] = None,
                   q_len: Optional[int] = None, k_len: Optional[int] = None) -> Optional[Array]:
    """Boolean mask [batch|1, q, k] (True = may attend) built from the given pieces, or None.

    * k_valid / q_valid [b, len]: padding (pad id 0);
    * q_segment_ids / k_segment_ids [b, len]: packed examples never attend across segments;
    * causal: key index <= query index; `bidirectional_prefix` [b, len] (seqio's
      `decoder_causal_attention`) additionally lets prefix positions attend to each other.
    """
    if (q_segment_ids is None) != (k_segment_ids is None):
        raise ValueError("pass segment ids for both queries and keys (packed) or for neither")
    mask = None

    def _and(m, new):
        return new if m is None else jnp.logical_and(m, new)

    if k_valid is not None:
        mask = _and(mask, k_valid[:, None, :].astype(bool))
    if q_valid is not None:
        mask = _and(mask, q_valid[:, :, None].astype(bool))
    if q_segment_ids is not None:
        mask = _and(mask, q_segment_ids[:, :, None] == k_segment_ids[:, None, :])
    if causal:
        c = jnp.asarray(np.tril(np.ones((q_len, k_len), dtype=bool)))[None]
        if bidirectional_prefix is not None:
            p = bidirectional_prefix.astype(bool)
            c = jnp.logical_or(c, jnp.logical_and(p[:, :, None], p[:, None, :]))
        mask = _and(mask, c)
    return mask


def mask_to_bias(mask: Optional[Array]) -> Optional[Array]:
    """Boolean [b, q, k] -> additive float32 [b, 1, q, k] (0 or NEG_INF)."""
    if mask is None:
        return None
    return jnp.where(mask, 0.0, NEG_INF).astype(jnp.float32)[:, None]


def add_biases(*biases: Optional[Array]) -> Optional[Array]:
    out = None
    for b in biases:
        if b is not None:
            out = b if out is None else broadcast_add(out, b)
    return out


# ----------------------------------------------------------------------------- sublayers


def attend(q: Array, k: Array, v: Array, bias: Optional[Array], dtype: Any, *,
           dropout: Optional[Callable[[Array], Array]] = None,
           normalize_output: bool = False) -> Array:
    """T5's attention core: no 1/sqrt(d) scaling, float32 logits and softmax.

    q [b, q, h, d], k/v [b, k, h, d] -> [b, q, h, d]. Heads-major copies, then plain batched
    matmuls: XLA:CPU fuses the mixed-layout einsums ('bqhd,bkhd->bhqk') into a slower
    program. The model's plain forward pass (training, the reference paths) normalises the
    weights, where dropout acts (t5x). The scorer and the KV-cached decoder ask for
    `normalize_output` instead: the [q, d] output is divided by the softmax's sum, one pass
    over the [q, k] weights less, equal up to float rounding.
    """
    qh, kh, vh = (jnp.swapaxes(a, 1, 2) for a in (q, k, v))
    logits = jnp.einsum("bhqd,bhkd->bhqk", qh, kh, preferred_element_type=jnp.float32)
    if bias is not None:
        logits = logits + bias
    if normalize_output and dropout is None:
        e = jnp.exp(logits - jnp.max(logits, axis=-1, keepdims=True))
        o = jnp.einsum("bhqk,bhkd->bhqd", e.astype(dtype), vh, preferred_element_type=jnp.float32)
        return jnp.swapaxes(o / jnp.sum(e, axis=-1, keepdims=True), 1, 2).astype(dtype)
    weights = jax.nn.softmax(logits, axis=-1)
    if dropout is not None:
        weights = dropout(weights)
    return jnp.swapaxes(jnp.einsum("bhqk,bhkd->bhqd", weights.astype(dtype), vh), 1, 2)


class MultiHeadAttention(nn.Module):
    """Multi-head dot-product attention; returns (output, the keys/values attended to).

    `kv` hands keys/values [b, k, heads, d_kv] back in, for cached inference:
      * with `x_kv=None` they are attended to as they are (cross-attention keys/values,
        projected once per input);
      * with `x_kv` they are a cache: x_kv's own keys/values are written into it at
        `kv_index`, or appended after it when `kv_index` is None (self-attention over the
        tokens before).
    Queries whose batch is a multiple of the keys' ([b * o, l], the o options of each of b
    examples) attend to their example's keys as one row of o * l queries, so encoder
    outputs and their keys/values are never copied per option.
    """
    num_heads: int
    head_dim: int
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x_q: Array, x_kv: Optional[Array], bias: Optional[Array],
                 deterministic: bool = True, *, kv: Optional[KV] = None,
                 kv_index: Optional[Array] = None,
                 normalize_output: bool = False) -> Tuple[Array, KV]:
        d, h, k = x_q.shape[-1], self.num_heads, self.head_dim
        proj = lambda name, init: Einsum((d, h, k), ("embed", "heads", "kv"), "bld,dhk->blhk",
                                         init, self.dtype, name=name)
        # t5x init: fan-in normal; the query init is further scaled by 1/sqrt(head_dim).
        q = proj("query", variance_scaling(1.0 / k, "fan_in", "normal", in_axis=0,
                                           out_axis=(1, 2)))(x_q)
        if kv is None or x_kv is not None:
            kv_init = variance_scaling(1.0, "fan_in", "normal", in_axis=0, out_axis=(1, 2))
            new = (proj("key", kv_init)(x_kv), proj("value", kv_init)(x_kv))
            if kv is None:
                kv = new
            elif kv_index is None:
                kv = tuple(jnp.concatenate([c, n.astype(c.dtype)], axis=1)
                           for c, n in zip(kv, new))
            else:
                kv = tuple(jax.lax.dynamic_update_slice(c, n.astype(c.dtype), (0, kv_index, 0, 0))
                           for c, n in zip(kv, new))
        constrain = lambda a: nn.with_logical_constraint(a, ("batch", "length", "heads", "kv"))
        q, key, value = constrain(q), constrain(kv[0]), constrain(kv[1])

        dropout = None
        if not deterministic and self.dropout_rate > 0.0:  # t5x: one mask shared over queries
            drop = nn.Dropout(self.dropout_rate, broadcast_dims=(-2,))
            dropout = lambda w: drop(w, deterministic=False)
        grouped = q.shape[0] != key.shape[0]
        out = attend(q.reshape(key.shape[0], -1, h, k) if grouped else q, key, value, bias,
                     self.dtype, dropout=dropout, normalize_output=normalize_output)
        out = out.reshape(q.shape) if grouped else out
        out = Einsum((h, k, d), ("heads", "kv", "embed"), "bqhd,hdD->bqD",
                     variance_scaling(1.0, "fan_in", "normal", in_axis=(0, 1), out_axis=2),
                     self.dtype, name="out")(out)
        return out, (key, value)


class GatedGeluMlp(nn.Module):
    """T5 v1.1 feed-forward: wo(gelu_tanh(x wi_0) * (x wi_1))."""
    d_ff: int
    dropout_rate: float = 0.0
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: Array, deterministic: bool = True) -> Array:
        d = x.shape[-1]
        wi = lambda name: Einsum((d, self.d_ff), ("embed", "mlp"), "bld,df->blf",
                                 dtype=self.dtype, name=name)(x)
        hidden = jax.nn.gelu(wi("wi_0"), approximate=True) * wi("wi_1")
        hidden = nn.with_logical_constraint(hidden, ("batch", "length", "mlp"))
        hidden = nn.Dropout(self.dropout_rate, broadcast_dims=(-2,))(
            hidden, deterministic=deterministic)
        return Einsum((self.d_ff, d), ("mlp", "embed"), "blf,fd->bld", dtype=self.dtype,
                      name="wo")(hidden)


# ----------------------------------------------------------------------------- blocks
# `config` is any object with the fields of T5Config / DecoderOnlyConfig used below.


def broadcast_dropout(cfg, x, deterministic):
    """t5x's dropout of activations [b, l, d]: one mask shared over the length axis."""
    return nn.Dropout(cfg.dropout_rate, broadcast_dims=(-2,))(x, deterministic=deterministic)


def _constrain(x):
    return nn.with_logical_constraint(x, ("batch", "length", "embed"))


class EncoderLayer(nn.Module):
    """Pre-norm self-attention + MLP block (t5x names: attention, mlp, pre_*_layer_norm)."""
    config: Any

    @nn.compact
    def __call__(self, x: Array, bias: Optional[Array], deterministic: bool = True, *,
                 normalize_output: bool = False) -> Array:
        cfg, dt = self.config, jnp.dtype(self.config.dtype)
        y = RMSNorm(cfg.layer_norm_epsilon, dt, name="pre_attention_layer_norm")(x)
        y, _ = MultiHeadAttention(cfg.num_heads, cfg.d_kv, cfg.dropout_rate, dt, name="attention")(
            y, y, bias, deterministic, normalize_output=normalize_output)
        x = _constrain(x + broadcast_dropout(cfg, y, deterministic))
        y = RMSNorm(cfg.layer_norm_epsilon, dt, name="pre_mlp_layer_norm")(x)
        y = GatedGeluMlp(cfg.d_ff, cfg.dropout_rate, dt, name="mlp")(y, deterministic)
        return _constrain(x + broadcast_dropout(cfg, y, deterministic))


class DecoderLayer(nn.Module):
    """Self-attention [+ cross-attention] + MLP block; decoder-only uses cross_attention=False.

    Returns the output and the layer's keys/values (self, cross or None). Cached inference
    passes them back as `cache`: the self-attention's as the cache `kv_index` writes into
    (see MultiHeadAttention), the cross-attention's instead of projecting `encoded` again.
    """
    config: Any
    cross_attention: bool = True

    @nn.compact
    def __call__(self, x: Array, self_bias: Optional[Array], encoded: Optional[Array] = None,
                 cross_bias: Optional[Array] = None, deterministic: bool = True, *,
                 cache: Optional[Tuple[KV, Optional[KV]]] = None,
                 kv_index: Optional[Array] = None,
                 normalize_output: bool = False) -> Tuple[Array, Tuple[KV, Optional[KV]]]:
        cfg, dt = self.config, jnp.dtype(self.config.dtype)
        self_kv, cross_kv = cache or (None, None)
        attn = lambda name: MultiHeadAttention(cfg.num_heads, cfg.d_kv, cfg.dropout_rate, dt,
                                               name=name)
        y = RMSNorm(cfg.layer_norm_epsilon, dt, name="pre_self_attention_layer_norm")(x)
        y, self_kv = attn("self_attention")(y, y, self_bias, deterministic, kv=self_kv,
                                            kv_index=kv_index, normalize_output=normalize_output)
        x = _constrain(x + broadcast_dropout(cfg, y, deterministic))
        if self.cross_attention:
            y = RMSNorm(cfg.layer_norm_epsilon, dt, name="pre_cross_attention_layer_norm")(x)
            y, cross_kv = attn("encoder_decoder_attention")(
                y, encoded, cross_bias, deterministic, kv=cross_kv,
                normalize_output=normalize_output)
            x = _constrain(x + broadcast_dropout(cfg, y, deterministic))
        y = RMSNorm(cfg.layer_norm_epsilon, dt, name="pre_mlp_layer_norm")(x)
        y = GatedGeluMlp(cfg.d_ff, cfg.dropout_rate, dt, name="mlp")(y, deterministic)
        return _constrain(x + broadcast_dropout(cfg, y, deterministic)), (self_kv, cross_kv)


class LogitsHead(nn.Module):
    """Untied `logits_dense` [embed, vocab], or the tied embedding with d_model**-0.5 scaling."""
    config: Any
    shared_embedding: Optional[Embed] = None

    @nn.compact
    def __call__(self, y: Array) -> Array:
        cfg = self.config
        if cfg.tie_word_embeddings:
            return self.shared_embedding.attend(y * (cfg.d_model ** -0.5))
        kernel = _param(self, "kernel", variance_scaling(1.0, "fan_in", "truncated_normal"),
                        (cfg.d_model, cfg.vocab_size), ("embed", "vocab"))
        dt = jnp.dtype(cfg.dtype)
        return project("bld,dv->blv", y.astype(dt), kernel.astype(dt),
                       preferred_element_type=jnp.float32)


def prepend_prompt(prompt: Array, x: Array) -> Array:
    """A soft prompt [L, d] (or [b, L, d]) placed before embedded tokens x [b, len, d]."""
    p = jnp.broadcast_to(prompt.astype(x.dtype), (x.shape[0],) + prompt.shape[-2:])
    return jnp.concatenate([p, x], axis=1)


def prompt_mask(mask: Array, prompt_length: int) -> Array:
    """A [b, len] mask widened by `prompt_length` valid positions at the front (the soft
    prompt's, see `prepend_prompt`); unchanged for 0."""
    if not prompt_length:
        return mask
    return jnp.concatenate([jnp.ones((mask.shape[0], prompt_length), mask.dtype), mask], 1)


def token_log_probs(logits: Array, targets: Array) -> Array:
    """Per-token log p(target) [batch, len] from logits [batch, len, vocab] (float32)."""
    logits = logits.astype(jnp.float32)
    lse = jax.nn.logsumexp(logits, axis=-1)
    picked = jnp.take_along_axis(logits, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return picked - lse

