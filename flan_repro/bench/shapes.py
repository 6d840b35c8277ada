"""The training shape the step benchmark times, its random batch and its FLOP model.

Conventions (what `bench_train_step` reports against):
  tokens/step  = batch * (inputs_length + targets_length)     (encoder + decoder tokens)
  model FLOPs  = analytic, matmuls only, 2 FLOPs per multiply-add, training = 3 x forward:
      6 * B * (P_enc * L_in + P_dec * L_tgt + P_xkv * L_in + P_head * L_tgt)
      + 12 * B * h * d_kv * (n_enc * L_in^2 + n_dec * (L_tgt^2 + L_tgt * L_in))
    P_enc: encoder layer weights (q,k,v,o, wi_0, wi_1, wo); P_dec: decoder layer weights
    applied to the target tokens (self-attention q,k,v,o; cross-attention q,o; MLP); P_xkv:
    cross-attention k,v (applied to the L_in encoder outputs); P_head: the d_model x vocab
    logits matrix. This is 6 * params_nonembedding * tokens with each weight counted against
    the tokens it actually sees, plus the attention score/value products (counted in full,
    no causal halving, which is what both implementations compute). Embedding lookups, norms,
    softmax, loss and optimizer are not counted.
"""
from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Shapes:
    """A T5 v1.1 (gated-GELU, untied head) training shape."""
    name: str = "B1"
    vocab_size: int = 32128
    d_model: int = 256
    d_ff: int = 1024
    num_heads: int = 4
    d_kv: int = 64
    num_encoder_layers: int = 4
    num_decoder_layers: int = 4
    relative_attention_num_buckets: int = 32
    relative_attention_max_distance: int = 128
    batch_size: int = 8
    inputs_length: int = 256
    targets_length: int = 64

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * (self.inputs_length + self.targets_length)

    def t5_config(self):
        from flan_repro.model.t5 import T5Config
        return T5Config(vocab_size=self.vocab_size, d_model=self.d_model, d_kv=self.d_kv,
                        num_heads=self.num_heads, d_ff=self.d_ff,
                        num_encoder_layers=self.num_encoder_layers,
                        num_decoder_layers=self.num_decoder_layers,
                        relative_attention_num_buckets=self.relative_attention_num_buckets,
                        relative_attention_max_distance=self.relative_attention_max_distance,
                        dropout_rate=0.0, dtype="float32", tie_word_embeddings=False)

    def hf_config(self):
        from transformers import T5Config as HFT5Config
        return HFT5Config(vocab_size=self.vocab_size, d_model=self.d_model, d_kv=self.d_kv,
                          num_heads=self.num_heads, d_ff=self.d_ff,
                          num_layers=self.num_encoder_layers,
                          num_decoder_layers=self.num_decoder_layers,
                          relative_attention_num_buckets=self.relative_attention_num_buckets,
                          relative_attention_max_distance=self.relative_attention_max_distance,
                          dropout_rate=0.0, feed_forward_proj="gated-gelu",
                          tie_word_embeddings=False, use_cache=False,
                          decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)


B1 = Shapes()
TINY = Shapes(name="tiny", vocab_size=512, d_model=32, d_ff=64, num_heads=2, d_kv=16,
              num_encoder_layers=1, num_decoder_layers=1, batch_size=2, inputs_length=16,
              targets_length=8)

FLOPS_FORMULA = ("6*B*(P_enc*L_in + P_dec*L_tgt + P_xkv*L_in + P_head*L_tgt) + "
                 "12*B*h*d_kv*(n_enc*L_in^2 + n_dec*(L_tgt^2 + L_tgt*L_in))")


def model_flops(s: Shapes) -> dict:
    """Analytic matmul FLOPs of one training step (forward + backward), see module doc."""
    d, f, hk, V = s.d_model, s.d_ff, s.num_heads * s.d_kv, s.vocab_size
    Li, Lt, B = s.inputs_length, s.targets_length, s.batch_size
    attn_w = 4 * d * hk                  # q, k, v, o
    mlp_w = 3 * d * f                    # wi_0, wi_1, wo
    p_enc = s.num_encoder_layers * (attn_w + mlp_w)
    p_dec = s.num_decoder_layers * (attn_w + 2 * d * hk + mlp_w)   # self + cross q,o + mlp
    p_xkv = s.num_decoder_layers * 2 * d * hk
    p_head = d * V
    parts = {
        "encoder_weights": 6 * p_enc * Li * B,
        "decoder_weights": 6 * p_dec * Lt * B,
        "cross_kv_weights": 6 * p_xkv * Li * B,
        "logits_head": 6 * p_head * Lt * B,
        "attention_scores": 12 * hk * B * (s.num_encoder_layers * Li * Li
                                           + s.num_decoder_layers * (Lt * Lt + Lt * Li)),
    }
    total = sum(parts.values())
    return {"total": total, "parts": parts,
            "params_nonembedding": p_enc + p_dec + p_xkv + p_head}


def make_batch(s: Shapes, seed: int = 0) -> dict:
    """Random full-length (unpadded) EncDecFeatureConverter batch, numpy int32/float32."""
    rng = np.random.RandomState(seed)
    enc = rng.randint(2, s.vocab_size, (s.batch_size, s.inputs_length)).astype(np.int32)
    tgt = rng.randint(2, s.vocab_size, (s.batch_size, s.targets_length)).astype(np.int32)
    dec_in = np.concatenate([np.zeros((s.batch_size, 1), np.int32), tgt[:, :-1]], axis=1)
    return dict(encoder_input_tokens=enc, decoder_input_tokens=dec_in,
                decoder_target_tokens=tgt,
                decoder_loss_weights=np.ones(tgt.shape, np.float32))
