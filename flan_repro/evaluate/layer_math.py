"""The models' layers as functions of their parameter subtrees, for cached inference.

The model classes (`model/t5.py`, `model/decoder_only.py`) run whole sequences and keep
no cache. Inference that reuses keys/values -- greedy decoding with a KV cache
(`generation.py`) and prefix reuse in decoder-only scoring (`scoring.py`) -- re-assembles
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
    """MultiHeadAttention's core: no 1/sqrt(d) scaling, float32 logits and softmax."""
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k, preferred_element_type=jnp.float32) + bias
    weights = jax.nn.softmax(logits, axis=-1)
    return jnp.einsum("bhqk,bkhd->bqhd", weights.astype(dtype(cfg)), v)


def mlp(cfg, p, x):
    return L.GatedGeluMlp(cfg.d_ff, 0.0, dtype(cfg)).apply({"params": p}, x)


def embed(cfg, params, tokens):
    return L.Embed(cfg.vocab_size, cfg.d_model, dtype(cfg)).apply(
        {"params": params["token_embedder"]}, tokens)


def logits(cfg, params, y):
    """LogitsHead: untied `logits_dense`, or the tied embedding with d_model**-0.5."""
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
