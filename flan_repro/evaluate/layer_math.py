"""The models' layers as functions of their parameter subtrees, for cached inference.

The model classes (`model/t5.py`, `model/decoder_only.py`) run whole sequences and keep
no cache. Inference that reuses keys/values -- greedy decoding with a KV cache
(`generation.py`), T5 option scoring with each example's cross-attention keys/values
shared by all its options and prefix reuse in decoder-only scoring (`scoring.py`) -- re-assembles
the stacks from the SAME Flax sublayers applied with the model's own parameter subtrees
(`L.RMSNorm`, `L.Einsum` projections, `L.GatedGeluMlp`, `L.Embed` applied with
`params[stack]['layers_i'][...]`), so the arithmetic is the model's; only the attention
core, masks and relative position biases are written out here, because those are what a
cache changes.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from flan_repro.model import layers as L


def dtype(cfg):
    return jnp.dtype(cfg.dtype)


def norm(cfg, p, x):
    return L.RMSNorm(cfg.layer_norm_epsilon, dtype(cfg)).apply({"params": p}, x)


def qkv(cfg, p, x):
    """x [b, l, d] -> [b, l, heads, d_kv] with the attention's query/key/value kernel `p`."""
    return L.Einsum((x.shape[-1], cfg.num_heads, cfg.d_kv), ("embed", "heads", "kv"),
                    "bld,dhk->blhk", dtype=dtype(cfg)).apply({"params": p}, x)


def out(cfg, p, o):
    return L.Einsum((cfg.num_heads, cfg.d_kv, cfg.d_model), ("heads", "kv", "embed"),
                    "bqhd,hdD->bqD", dtype=dtype(cfg)).apply({"params": p}, o)


def attend(cfg, q, k, v, bias):
    """MultiHeadAttention's core: no 1/sqrt(d) scaling, float32 logits and softmax.

    q [b, q, h, d], k/v [b, k, h, d] -> [b, q, h, d]: the model's math, laid out for
    XLA:CPU. Heads-major copies of q, k, v: the model's einsums ('bqhd,bkhd->bhqk', then
    'bhqk,bkhd->bqhd') fuse into a program ~3.5x slower than the copies plus two plain
    batched matmuls. The softmax's division is applied to the [q, d] output instead of the
    [q, k] weights (one pass over the weights less; equal up to float rounding).
    Together ~1.7x faster for the T5 toy encoder over 256 tokens."""
    q, k, v = (jnp.swapaxes(a, 1, 2) for a in (q, k, v))
    logits = jnp.einsum("bhqd,bhkd->bhqk", q, k, preferred_element_type=jnp.float32) + bias
    e = jnp.exp(logits - jnp.max(logits, axis=-1, keepdims=True))
    o = jnp.einsum("bhqk,bhkd->bhqd", e.astype(dtype(cfg)), v, preferred_element_type=jnp.float32)
    return jnp.swapaxes(o / jnp.sum(e, axis=-1, keepdims=True), 1, 2).astype(dtype(cfg))


def mlp(cfg, p, x):
    return L.GatedGeluMlp(cfg.d_ff, 0.0, dtype(cfg)).apply({"params": p}, x)


def embed(cfg, params, tokens, stack: str):
    """`stack`'s ("encoder" / "decoder") input embedding, as `t5.input_embedder` picks it:
    the stack's own `token_embedder` with `separate_input_embeddings`, else the shared one
    (always for decoder-only models, whose config has no such field)."""
    own = getattr(cfg, "separate_input_embeddings", False)
    return L.Embed(cfg.vocab_size, cfg.d_model, dtype(cfg)).apply(
        {"params": (params[stack] if own else params)["token_embedder"]}, tokens)


def logits(cfg, params, y):
    """LogitsHead: untied `logits_dense`, or the tied (top-level, HF `shared`) embedding
    with d_model**-0.5."""
    dt = dtype(cfg)
    if cfg.tie_word_embeddings:
        emb = params["token_embedder"]["embedding"]
        return jnp.einsum("bld,vd->blv", (y * (cfg.d_model ** -0.5)).astype(dt), emb.astype(dt),
                          preferred_element_type=jnp.float32)
    kernel = params["decoder"]["logits_dense"]["kernel"]
    return jnp.einsum("bld,dv->blv", y.astype(dt), kernel.astype(dt),
                      preferred_element_type=jnp.float32)


def relative_position_bias(cfg, table, rel, bidirectional: bool):
    """`RelativePositionBias` for relative positions rel = key_pos - query_pos.

    table: the stack's `relpos_bias/rel_embedding` [heads, buckets]; rel: int [..., q, k]
    (a leading batch axis or none). Returns float32 [..., heads, q, k].
    """
    m = cfg.relative_attention_max_distance
    lut = jnp.asarray(L.relative_position_bucket_table(
        bidirectional, cfg.relative_attention_num_buckets, m))
    buckets = lut[jnp.clip(rel, -m, m) + m]                               # [..., q, k]
    return jnp.moveaxis(jnp.take(table, buckets, axis=1), 0, -3)          # [..., h, q, k]


def additive_mask(allowed):
    """Boolean 'may attend' -> 0 / NEG_INF float32 of the same shape."""
    return jnp.where(allowed, 0.0, L.NEG_INF).astype(jnp.float32)


def encode(cfg, params, tokens, input_mask):
    """`T5.encode` (no dropout, no packing): [b, Lin] tokens -> [b, Lin, d_model]."""
    enc = params["encoder"]
    j = jnp.arange(tokens.shape[1])
    bias = (relative_position_bias(cfg, enc["relpos_bias"]["rel_embedding"], j[None] - j[:, None],
                                   bidirectional=True)
            + padding_bias(input_mask))                                  # [b, h, Lin, Lin]
    x = embed(cfg, params, tokens, "encoder")
    for i in range(cfg.num_encoder_layers):
        p = enc[f"layers_{i}"]
        y = norm(cfg, p["pre_attention_layer_norm"], x)
        q, k, v = (qkv(cfg, p["attention"][name], y) for name in ("query", "key", "value"))
        x = x + out(cfg, p["attention"]["out"], attend(cfg, q, k, v, bias))
        x = x + mlp(cfg, p["mlp"], norm(cfg, p["pre_mlp_layer_norm"], x))
    return norm(cfg, enc["encoder_norm"], x)


def cross_kv(cfg, params, encoded):
    """Every decoder layer's cross-attention (keys, values) [b, Lin, heads, d_kv], projected
    once from the encoder output and then read by every decoding step / option row."""
    dec = params["decoder"]
    return tuple(tuple(qkv(cfg, dec[f"layers_{i}"]["encoder_decoder_attention"][name], encoded)
                       for name in ("key", "value"))
                 for i in range(cfg.num_decoder_layers))


def padding_bias(k_valid):
    """Keys' padding mask [b, Lk] -> additive bias [b, 1, 1, Lk] (any query, any head)."""
    return additive_mask(k_valid)[:, None, None, :]


def causal_bias(cfg, table, length: int, bidirectional: bool = False):
    """Relative position bias + causal mask of `length` tokens at positions 0, 1, ...:
    float32 [heads, length, length] (a trace-time-shaped constant of the table)."""
    j = jnp.arange(length)
    return (relative_position_bias(cfg, table, j[None] - j[:, None], bidirectional)
            + additive_mask(j[None] <= j[:, None]))
