"""T5 v1.1 encoder-decoder in Flax linen.

The parameter tree follows t5x names (so t5x checkpoints map 1:1, see `hf_import`):

token_embedder/embedding                                 [vocab, embed]
encoder/relpos_bias/rel_embedding                        [heads, buckets]
encoder/layers_i/{pre_attention_layer_norm,pre_mlp_layer_norm}/scale
encoder/layers_i/attention/{query,key,value}/kernel      [embed, heads, kv]
encoder/layers_i/attention/out/kernel                    [heads, kv, embed]
encoder/layers_i/mlp/{wi_0,wi_1}/kernel, mlp/wo/kernel   [embed, mlp], [mlp, embed]
encoder/encoder_norm/scale
decoder/relpos_bias/rel_embedding
decoder/layers_i/{pre_self_attention_layer_norm, self_attention,
                  pre_cross_attention_layer_norm, encoder_decoder_attention,
                  pre_mlp_layer_norm, mlp}/...
decoder/decoder_norm/scale
decoder/logits_dense/kernel                              [embed, vocab]  (absent when tied)

With `separate_input_embeddings` each stack reads its tokens with its own embedder, named as
flaxformer names an unshared one. transformers 5 gives a T5 whose config has
tie_word_embeddings=False three independent input matrices (HF `shared`,
`encoder.embed_tokens`, `decoder.embed_tokens`); fine-tuning moves them apart, and it saves
and reloads all three:

encoder/token_embedder/embedding        [vocab, embed]   HF encoder.embed_tokens
decoder/token_embedder/embedding        [vocab, embed]   HF decoder.embed_tokens

and the top-level `token_embedder/embedding` (HF `shared`) feeds no stack: it is the tied
head's matrix when `tie_word_embeddings`, otherwise kept unused so an export gives back all
three matrices. Off (the default, every public checkpoint) the tree is exactly the one above.

Inputs use seqio's EncDecFeatureConverter names; pad id is 0. With packing
(`*_segment_ids`, `*_positions`) no token attends across examples.

Cached inference (the scorer, greedy decoding) runs these same modules: `decode` takes
several option rows per input, `decode_cached` keeps each layer's keys/values between steps.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Optional, Tuple

import gin
import jax
import jax.numpy as jnp
from flax import linen as nn

from flan_repro.model import layers as L

Array = jax.Array
# per decoder layer: (self-attention keys/values, cross-attention keys/values or None)
Cache = Tuple[Tuple[L.KV, Optional[L.KV]], ...]


@gin.configurable
@dataclasses.dataclass(frozen=True)
class T5Config:
    """Hyper-parameters of a T5 v1.1 model (defaults: t5.1.1 small)."""
    vocab_size: int = 32128
    d_model: int = 512
    d_kv: int = 64
    num_heads: int = 6
    d_ff: int = 1024
    num_encoder_layers: int = 8
    num_decoder_layers: int = 8
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    dropout_rate: float = 0.1
    dtype: str = "float32"            # activation dtype; parameters are always float32
    tie_word_embeddings: bool = False  # v1.1 default: separate lm head (logits_dense)
    layer_norm_epsilon: float = 1e-6
    separate_input_embeddings: bool = False  # encoder/decoder token_embedder (see module doc)

    def __post_init__(self):
        object.__setattr__(self, "dtype", jnp.dtype(self.dtype).name)


def input_embedder(cfg: T5Config, shared_embedding: L.Embed) -> L.Embed:
    """The embedder a stack reads its tokens with: its own `token_embedder` (created in the
    calling stack's scope) with `separate_input_embeddings`, else the shared one."""
    if cfg.separate_input_embeddings:
        return L.Embed(cfg.vocab_size, cfg.d_model, jnp.dtype(cfg.dtype), name="token_embedder")
    return shared_embedding


class Encoder(nn.Module):
    config: T5Config
    shared_embedding: L.Embed

    @nn.compact
    def __call__(self, tokens: Array, input_mask: Optional[Array] = None,
                 segment_ids: Optional[Array] = None, positions: Optional[Array] = None,
                 deterministic: bool = True, normalize_output: bool = False,
                 prompt: Optional[Array] = None) -> Array:
        """`prompt` [L, d_model]: a soft prompt before the embedded tokens (the output has
        L more positions, all valid); unpacked inputs only."""
        cfg = self.config
        if input_mask is None:
            input_mask = tokens > 0
        if prompt is not None:
            if segment_ids is not None or positions is not None:
                raise ValueError("a soft prompt is prepended to unpacked inputs only")
            input_mask = L.prompt_mask(input_mask, prompt.shape[-2])
        length = input_mask.shape[1]
        mask = L.attention_mask(k_valid=input_mask, q_segment_ids=segment_ids,
                                k_segment_ids=segment_ids)
        pos_bias = L.RelativePositionBias(
            cfg.num_heads, cfg.relative_attention_num_buckets,
            cfg.relative_attention_max_distance, bidirectional=True,
            name="relpos_bias")(length, length, positions, positions)
        bias = L.add_biases(pos_bias, L.mask_to_bias(mask))  # computed once, shared by all layers

        x = input_embedder(cfg, self.shared_embedding)(tokens)
        if prompt is not None:
            x = L.prepend_prompt(prompt, x)
        x = L.broadcast_dropout(cfg, x, deterministic)
        for i in range(cfg.num_encoder_layers):
            x = L.EncoderLayer(cfg, name=f"layers_{i}")(x, bias, deterministic,
                                                        normalize_output=normalize_output)
        x = L.RMSNorm(cfg.layer_norm_epsilon, jnp.dtype(cfg.dtype), name="encoder_norm")(x)
        return L.broadcast_dropout(cfg, x, deterministic)


class Decoder(nn.Module):
    """Returns logits and the layers' keys/values (`Cache`). Cached decoding passes a `cache`
    and `kv_index` (see L.DecoderLayer), the keys' positions `kv_positions` (the cache's)
    and `self_mask` [b|1, len, keys], which keys each token may attend to."""
    config: T5Config
    shared_embedding: L.Embed

    @nn.compact
    def __call__(self, encoded: Optional[Array], tokens: Array, cross_bias: Optional[Array],
                 segment_ids: Optional[Array] = None, positions: Optional[Array] = None,
                 deterministic: bool = True, *, kv_positions: Optional[Array] = None,
                 self_mask: Optional[Array] = None, cache: Optional[Cache] = None,
                 kv_index: Optional[Array] = None,
                 normalize_output: bool = False) -> Tuple[Array, Cache]:
        cfg = self.config
        length = tokens.shape[1]
        if self_mask is None:
            # Causal; right padding needs no extra mask (valid queries never see later pads).
            self_mask = L.attention_mask(q_segment_ids=segment_ids, k_segment_ids=segment_ids,
                                         causal=True, q_len=length, k_len=length)
        pos_bias = L.RelativePositionBias(
            cfg.num_heads, cfg.relative_attention_num_buckets,
            cfg.relative_attention_max_distance, bidirectional=False, name="relpos_bias")(
                length, length, positions, positions if kv_positions is None else kv_positions)
        self_bias = L.add_biases(pos_bias, L.mask_to_bias(self_mask))

        y = input_embedder(cfg, self.shared_embedding)(tokens)
        y = L.broadcast_dropout(cfg, y, deterministic)
        new_cache = []
        for i in range(cfg.num_decoder_layers):
            y, layer_cache = L.DecoderLayer(cfg, name=f"layers_{i}")(
                y, self_bias, encoded, cross_bias, deterministic,
                cache=None if cache is None else cache[i], kv_index=kv_index,
                normalize_output=normalize_output)
            new_cache.append(layer_cache)
        y = L.RMSNorm(cfg.layer_norm_epsilon, jnp.dtype(cfg.dtype), name="decoder_norm")(y)
        y = L.broadcast_dropout(cfg, y, deterministic)
        return L.LogitsHead(cfg, self.shared_embedding, name="logits_dense")(y), tuple(new_cache)


def _cross_bias(encoder_input_tokens, encoder_input_mask, encoder_segment_ids,
                decoder_segment_ids) -> Optional[Array]:
    """Encoder padding (the mask, else tokens > 0, else none) and, packed, segments."""
    if encoder_input_mask is None and encoder_input_tokens is not None:
        encoder_input_mask = encoder_input_tokens > 0
    return L.mask_to_bias(L.attention_mask(
        k_valid=encoder_input_mask, q_segment_ids=decoder_segment_ids,
        k_segment_ids=encoder_segment_ids))


class T5(nn.Module):
    """T5 v1.1 encoder-decoder; returns float32 logits [batch, target_len, vocab]."""
    config: T5Config

    def setup(self):
        cfg = self.config
        self.token_embedder = L.Embed(cfg.vocab_size, cfg.d_model, jnp.dtype(cfg.dtype))
        self.encoder = Encoder(cfg, self.token_embedder)
        self.decoder = Decoder(cfg, self.token_embedder)

    def encode(self, encoder_input_tokens: Array, encoder_segment_ids: Optional[Array] = None,
               encoder_positions: Optional[Array] = None, *,
               encoder_input_mask: Optional[Array] = None, enable_dropout: bool = False,
               normalize_output: bool = False, prompt: Optional[Array] = None) -> Array:
        """[batch, len] tokens -> [batch, len, d_model]. Padding = token 0 unless a mask is
        given. `normalize_output`: see `layers.attend`. A soft `prompt` [L, d_model] adds L
        leading positions: decode with `layers.prompt_mask(mask, L)` as the input mask."""
        return self.encoder(encoder_input_tokens, encoder_input_mask, encoder_segment_ids,
                            encoder_positions, deterministic=not enable_dropout,
                            normalize_output=normalize_output, prompt=prompt)

    def decode(self, encoded: Array, decoder_input_tokens: Array,
               encoder_input_tokens: Optional[Array] = None, *,
               encoder_input_mask: Optional[Array] = None,
               encoder_segment_ids: Optional[Array] = None,
               decoder_segment_ids: Optional[Array] = None,
               decoder_positions: Optional[Array] = None,
               enable_dropout: bool = False, normalize_output: bool = False) -> Array:
        """Teacher-forced decoder pass -> logits. The encoder padding mask comes from
        `encoder_input_mask`, else `encoder_input_tokens > 0`, else no padding is assumed.
        Decoder rows may be a multiple of the encoder's: o rows per input, in input order
        (the options of each example), which read the keys/values of their input."""
        cross_bias = _cross_bias(encoder_input_tokens, encoder_input_mask,
                                 encoder_segment_ids, decoder_segment_ids)
        logits, _ = self.decoder(encoded, decoder_input_tokens, cross_bias, decoder_segment_ids,
                                 decoder_positions, deterministic=not enable_dropout,
                                 normalize_output=normalize_output)
        return logits

    def decode_cached(self, encoded: Optional[Array], decoder_input_tokens: Array,
                      encoder_input_mask: Array, cache: Cache, kv_index: Array
                      ) -> Tuple[Array, Cache]:
        """KV-cached greedy decoding: the tokens [b, n] at positions kv_index, kv_index + 1,
        ... attend to the cache's earlier positions and causally to each other; their
        keys/values are written into each layer's self-attention cache [b, T, h, d] at
        `kv_index`. Layers without cross-attention keys/values in the cache project them
        from `encoded` (the first step); later steps pass encoded=None. -> (logits, cache)."""
        positions = kv_index + jnp.arange(decoder_input_tokens.shape[1])[None]
        kv_positions = jnp.arange(cache[0][0][0].shape[1])[None]
        return self.decoder(encoded, decoder_input_tokens,
                            _cross_bias(None, encoder_input_mask, None, None),
                            positions=positions, kv_positions=kv_positions,
                            self_mask=kv_positions[:, None, :] <= positions[:, :, None],
                            cache=cache, kv_index=kv_index, normalize_output=True)

    def __call__(self, encoder_input_tokens: Array, decoder_input_tokens: Array,
                 decoder_target_tokens: Optional[Array] = None,
                 encoder_segment_ids: Optional[Array] = None,
                 decoder_segment_ids: Optional[Array] = None,
                 encoder_positions: Optional[Array] = None,
                 decoder_positions: Optional[Array] = None,
                 decoder_loss_weights: Optional[Array] = None, *,
                 enable_dropout: bool = False, prompt: Optional[Array] = None) -> Array:
        """Training forward pass; accepts a seqio EncDecFeatureConverter batch as `**batch`.

        `decoder_target_tokens` and `decoder_loss_weights` are accepted (and ignored) so a
        whole batch can be splatted in; the loss is computed by the caller from the returned
        logits. `prompt`: a soft prompt before the encoder input (prompt tuning).
        """
        del decoder_target_tokens, decoder_loss_weights
        if self.is_initializing() and self.config.separate_input_embeddings:
            # Nothing reads HF's `shared` when both the inputs and the head are untied;
            # touching it creates the parameter anyway, so a checkpoint keeps (and exports)
            # all three.
            self.token_embedder.embedding
        encoded = self.encode(encoder_input_tokens, encoder_segment_ids, encoder_positions,
                              enable_dropout=enable_dropout, prompt=prompt)
        mask = None if prompt is None else L.prompt_mask(encoder_input_tokens > 0,
                                                         prompt.shape[-2])
        return self.decode(encoded, decoder_input_tokens, encoder_input_tokens,
                           encoder_input_mask=mask, encoder_segment_ids=encoder_segment_ids,
                           decoder_segment_ids=decoder_segment_ids,
                           decoder_positions=decoder_positions, enable_dropout=enable_dropout)


def dummy_batch(batch: int = 1, length: int = 1) -> dict:
    """Smallest input accepted by `T5.init` (shapes of params do not depend on it)."""
    tokens = jnp.ones((batch, length), jnp.int32)
    return dict(encoder_input_tokens=tokens, decoder_input_tokens=tokens)


def init_params(config: T5Config, rng: Any, unbox: bool = True) -> Any:
    """Random parameters (float32); `unbox=False` keeps the nn.LogicallyPartitioned boxes."""
    # jit: one compiled program instead of op-by-op dispatch of every initializer.
    params = jax.jit(lambda r: T5(config).init(r, **dummy_batch())["params"])(rng)
    return nn.meta.unbox(params) if unbox else params


def param_logical_axes(config: T5Config) -> Any:
    """Tree of PartitionSpecs of logical axis names, e.g. P("embed", "heads", "kv")."""
    boxed = jax.eval_shape(lambda: T5(config).init(jax.random.PRNGKey(0), **dummy_batch()))
    return nn.get_partition_spec(boxed)["params"]
