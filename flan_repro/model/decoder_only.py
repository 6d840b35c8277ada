"""Decoder-only LM with the T5 v1.1 blocks, trained as a prefix LM over inputs + targets.

Features follow seqio's PrefixLMFeatureConverter: for an example (inputs, targets)

  decoder_target_tokens    = inputs + targets                       (0-padded)
  decoder_input_tokens     = [0] + (inputs + targets)[:-1]          (shifted right)
  decoder_loss_weights     = 1 on target positions only
  decoder_causal_attention = 1 on the first len(inputs) + 1 positions (the input prefix)
  decoder_segment_ids / decoder_positions for packing.

Attention is bidirectional inside the prefix, causal elsewhere, never across segments.
Parameter tree (t5x decoder-only names): token_embedder/embedding,
decoder/{relpos_bias, layers_i/{pre_self_attention_layer_norm, self_attention,
pre_mlp_layer_norm, mlp}, decoder_norm, logits_dense}.

The scorer's prefix reuse runs these same modules through `decode_cached` (the prefix's
keys/values kept for its options) and `logits` (the head, on the positions it needs).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from flan_repro.model import layers as L

Array = jax.Array
Cache = Tuple[L.KV, ...]   # per layer: self-attention keys/values


@gin.configurable
@dataclasses.dataclass(frozen=True)
class DecoderOnlyConfig:
    """Hyper-parameters of the decoder-only prefix LM (same meaning as in T5Config)."""
    vocab_size: int = 32128
    d_model: int = 512
    d_kv: int = 64
    num_heads: int = 6
    d_ff: int = 1024
    num_layers: int = 16
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    # Bidirectional buckets distinguish earlier from later tokens inside the bidirectional
    # prefix; False gives T5-decoder (causal) buckets, where all later tokens share bucket 0.
    relative_attention_bidirectional: bool = True
    dropout_rate: float = 0.1
    dtype: str = "float32"
    tie_word_embeddings: bool = False
    layer_norm_epsilon: float = 1e-6

    def __post_init__(self):
        object.__setattr__(self, "dtype", jnp.dtype(self.dtype).name)


class Decoder(nn.Module):
    """Returns the final hidden states [b, len, d_model] and each layer's keys/values; the
    head is the separate `logits`. Cached calls pass `cache` (keys/values the tokens' own
    are appended to, see L.MultiHeadAttention), the keys' positions `kv_positions` (the
    cache's, then the tokens') and `self_mask` [b|1, len, keys]. A soft `prompt` [L, d_model]
    goes before the tokens, inside the bidirectional prefix; the outputs keep its L
    positions (cached calls pass positions and masks that cover them)."""
    config: DecoderOnlyConfig
    shared_embedding: L.Embed

    def setup(self):
        self.logits_dense = L.LogitsHead(self.config, self.shared_embedding)

    def logits(self, y: Array) -> Array:
        return self.logits_dense(y)

    @nn.compact
    def __call__(self, tokens: Array, segment_ids: Optional[Array], positions: Optional[Array],
                 causal_attention: Optional[Array], deterministic: bool = True, *,
                 kv_positions: Optional[Array] = None, self_mask: Optional[Array] = None,
                 cache: Optional[Cache] = None, normalize_output: bool = False,
                 prompt: Optional[Array] = None) -> Tuple[Array, Cache]:
        cfg = self.config
        length = tokens.shape[1]
        if prompt is not None:
            if segment_ids is not None:
                raise ValueError("a soft prompt is prepended to unpacked sequences only")
            length += prompt.shape[-2]
            if causal_attention is None:
                causal_attention = jnp.zeros(tokens.shape, jnp.int32)
            causal_attention = L.prompt_mask(causal_attention, prompt.shape[-2])
        if self_mask is None:
            self_mask = L.attention_mask(
                q_segment_ids=segment_ids, k_segment_ids=segment_ids, causal=True,
                bidirectional_prefix=causal_attention, q_len=length, k_len=length)
        pos_bias = L.RelativePositionBias(
            cfg.num_heads, cfg.relative_attention_num_buckets,
            cfg.relative_attention_max_distance,
            bidirectional=cfg.relative_attention_bidirectional, name="relpos_bias")(
                length, length, positions, positions if kv_positions is None else kv_positions)
        self_bias = L.add_biases(pos_bias, L.mask_to_bias(self_mask))  # once per forward pass

        y = self.shared_embedding(tokens)
        y = L.broadcast_dropout(cfg, y if prompt is None else L.prepend_prompt(prompt, y),
                                deterministic)
        new_cache = []
        for i in range(cfg.num_layers):
            y, (kv, _) = L.DecoderLayer(cfg, cross_attention=False, name=f"layers_{i}")(
                y, self_bias, deterministic=deterministic,
                cache=None if cache is None else (cache[i], None),
                normalize_output=normalize_output)
            new_cache.append(kv)
        y = L.RMSNorm(cfg.layer_norm_epsilon, jnp.dtype(cfg.dtype), name="decoder_norm")(y)
        return L.broadcast_dropout(cfg, y, deterministic), tuple(new_cache)


class DecoderOnly(nn.Module):
    """Prefix LM; returns float32 logits [batch, len, vocab]."""
    config: DecoderOnlyConfig

    def setup(self):
        cfg = self.config
        self.token_embedder = L.Embed(cfg.vocab_size, cfg.d_model, jnp.dtype(cfg.dtype))
        self.decoder = Decoder(cfg, self.token_embedder)

    def __call__(self, decoder_input_tokens: Array,
                 decoder_target_tokens: Optional[Array] = None,
                 decoder_segment_ids: Optional[Array] = None,
                 decoder_positions: Optional[Array] = None,
                 decoder_causal_attention: Optional[Array] = None,
                 decoder_loss_weights: Optional[Array] = None, *,
                 enable_dropout: bool = False, prompt: Optional[Array] = None) -> Array:
        """`decoder_causal_attention` None = plain causal LM. Target tokens / loss weights
        are accepted (and ignored) so a whole seqio batch can be passed as `**batch`.
        A soft `prompt` (unpacked rows, no positions) joins the bidirectional prefix; the
        logits are those of the tokens only."""
        del decoder_target_tokens, decoder_loss_weights
        if prompt is not None and decoder_positions is not None:
            raise ValueError("a soft prompt is prepended to unpacked sequences only")
        y, _ = self.decoder(decoder_input_tokens, decoder_segment_ids, decoder_positions,
                            decoder_causal_attention, deterministic=not enable_dropout,
                            prompt=prompt)
        return self.decoder.logits(y if prompt is None else y[:, prompt.shape[-2]:])

    def decode_cached(self, decoder_input_tokens: Array, positions: Array, kv_positions: Array,
                      self_mask: Array, cache: Optional[Cache] = None,
                      prompt: Optional[Array] = None) -> Tuple[Array, Cache]:
        """Hidden states [b, len, d] of tokens at `positions` [b|1, len] attending to the keys
        at `kv_positions` [b|1, keys] (`cache`'s, per layer, then their own) as `self_mask`
        [b|1, len, keys] allows; returns them and the layers' keys/values. With a soft
        `prompt` [L, d] (the first call, no cache) the L + len positions, masks and outputs
        include the prompt's."""
        return self.decoder(decoder_input_tokens, None, positions, None,
                            kv_positions=kv_positions, self_mask=self_mask, cache=cache,
                            normalize_output=True, prompt=prompt)

    def logits(self, y: Array) -> Array:
        return self.decoder.logits(y)


def prefix_lm_features(inputs: Sequence[int], targets: Sequence[int],
                       length: int) -> Dict[str, np.ndarray]:
    """One unpacked example in PrefixLMFeatureConverter layout (arrays of shape [length])."""
    seq = list(inputs) + list(targets)
    if len(seq) > length:
        raise ValueError(f"inputs + targets ({len(seq)}) longer than length {length}")
    n = len(seq)
    target = np.zeros(length, np.int32)
    target[:n] = seq
    dec_in = np.zeros(length, np.int32)
    dec_in[1:n] = seq[:-1]
    weights = np.zeros(length, np.float32)
    weights[len(inputs):n] = 1.0
    causal = np.zeros(length, np.int32)
    causal[:min(len(inputs) + 1, length)] = 1
    seg = np.zeros(length, np.int32)
    seg[:n] = 1
    pos = np.zeros(length, np.int32)
    pos[:n] = np.arange(n)
    return dict(decoder_input_tokens=dec_in, decoder_target_tokens=target,
                decoder_loss_weights=weights, decoder_causal_attention=causal,
                decoder_segment_ids=seg, decoder_positions=pos)


def dummy_batch(batch: int = 1, length: int = 1) -> dict:
    return dict(decoder_input_tokens=jnp.ones((batch, length), jnp.int32))


def init_params(config: DecoderOnlyConfig, rng: Any, unbox: bool = True) -> Any:
    params = jax.jit(lambda r: DecoderOnly(config).init(r, **dummy_batch())["params"])(rng)
    return nn.meta.unbox(params) if unbox else params


def param_logical_axes(config: DecoderOnlyConfig) -> Any:
    boxed = jax.eval_shape(
        lambda: DecoderOnly(config).init(jax.random.PRNGKey(0), **dummy_batch()))
    return nn.get_partition_spec(boxed)["params"]
