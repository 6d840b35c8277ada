"""Greedy decoding: a KV-cached path for T5 and a no-cache reference path.

Cached (encoder-decoder): the encoder runs once; each decoder layer's cross-attention
keys/values are projected once from its output (by the first step); self-attention
keys/values of the tokens generated so far live in a [batch, max_decode_length, heads,
d_kv] cache per layer, filled one position per step. One step feeds only the newest
token, through the model's own decoder (`T5.decode_cached`).

Uncached reference: `T5.decode` over the whole [batch, max_decode_length] prefix
buffer at every step, reading the logits of position t. Both paths are jitted
`lax.while_loop`s over at most `max_decode_length` steps that stop as soon as every
row has produced EOS (id 1); the test suite checks they produce identical tokens.

Decoder-only (prefix LM) models get the uncached path only: [input; generated so
far] is re-run each step (`_prefix_lm_greedy`); fine for the toy models, slow at scale.
Beam search is not implemented (greedy only).

Shapes are fixed per call: the batch and input length are padded to powers of two
(as in `scoring.py`; several batches all use the full `batch_size`; padding rows are
done from the start so they never prolong the loop) and `max_decode_length` is a
static argument (the EOS id is not), so a run compiles one program per input bucket.
Outputs: tokens [batch, T] with the EOS included and 0 after it, and the log-prob of
every chosen token (0 after EOS).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from flan_repro.evaluate.scoring import (DEFAULT_MAX_INPUT_LENGTH, EOS_ID, MIN_INPUT_BUCKET,
                                         Text, bucket)
from flan_repro.model import layers as L
from flan_repro.model.decoder_only import DecoderOnly
from flan_repro.model.loading import LoadedModel, as_loaded_model
from flan_repro.model.t5 import T5


# --------------------------------------------------------------------------- decoding loops
def _encode(cfg, params, inputs, input_mask, prompt):
    """-> (encoder outputs, their mask): a soft prompt adds valid leading positions."""
    encoded = T5(cfg).apply({"params": params}, inputs, encoder_input_mask=input_mask,
                            prompt=prompt, method=T5.encode)
    return encoded, input_mask if prompt is None else L.prompt_mask(input_mask,
                                                                     prompt.shape[-2])


def _pick(logits, done, eos_id):
    """Greedy choice (first max among ties), its log-prob; 0 once a row is done."""
    lp_all = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    nxt = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    lp = jnp.take_along_axis(lp_all, nxt[:, None], axis=-1)[:, 0]
    nxt = jnp.where(done, 0, nxt)
    lp = jnp.where(done, 0.0, lp)
    return nxt, lp, done | (nxt == eos_id)


@functools.partial(jax.jit, static_argnames=("cfg", "max_decode_length"))
def _t5_greedy_cached(cfg, params, inputs, input_mask, eos_id, prompt=None, *,
                      max_decode_length):
    b, T = inputs.shape[0], max_decode_length
    encoded, encoded_mask = _encode(cfg, params, inputs, input_mask, prompt)

    def step(token, t, cache, encoded=None):
        logits, cache = T5(cfg).apply({"params": params}, encoded, token[:, None], encoded_mask,
                                      cache, t, method=T5.decode_cached)
        return logits[:, 0], cache

    # The first step also projects the cross-attention keys/values; the loop reads them
    # from its closure and carries only the self-attention caches.
    zeros = jnp.zeros((b, T, cfg.num_heads, cfg.d_kv), jnp.dtype(cfg.dtype))
    first = tuple(((zeros, zeros), None) for _ in range(cfg.num_decoder_layers))
    logits, cache = step(jnp.zeros((b,), jnp.int32), 0, first, encoded)
    self_kv, cross_kv = zip(*cache)
    nxt, lp, done = _pick(logits, ~jnp.any(input_mask, axis=1), eos_id)

    def cond(s):
        return (s[0] < T) & ~jnp.all(s[4])

    def body(s):
        t, token, out, lps, done, self_kv = s
        logits, cache = step(token, t, tuple(zip(self_kv, cross_kv)))
        nxt, lp, done = _pick(logits, done, eos_id)
        return (t + 1, nxt, out.at[:, t].set(nxt), lps.at[:, t].set(lp), done,
                tuple(kv for kv, _ in cache))

    init = (jnp.int32(1), nxt, jnp.zeros((b, T), jnp.int32).at[:, 0].set(nxt),
            jnp.zeros((b, T), jnp.float32).at[:, 0].set(lp), done, self_kv)
    _, _, out, lps, _, _ = jax.lax.while_loop(cond, body, init)
    return out, lps


@functools.partial(jax.jit, static_argnames=("cfg", "max_decode_length"))
def _t5_greedy_uncached(cfg, params, inputs, input_mask, eos_id, prompt=None, *,
                        max_decode_length):
    """Reference: the full decoder over the whole prefix buffer at every step."""
    b, T = inputs.shape[0], max_decode_length
    model = T5(cfg)
    encoded, encoded_mask = _encode(cfg, params, inputs, input_mask, prompt)

    def cond(s):
        return (s[0] < T) & ~jnp.all(s[4])

    def body(s):
        t, dec_in, out, lps, done = s
        logits = model.apply({"params": params}, encoded, dec_in,
                             encoder_input_mask=encoded_mask, method=T5.decode)
        logits_t = jax.lax.dynamic_index_in_dim(logits, t, axis=1, keepdims=False)
        nxt, lp, done = _pick(logits_t, done, eos_id)
        # position t + 1 of the (shifted) decoder input is the token chosen at t
        dec_in = jnp.where(jnp.arange(T)[None] == t + 1, nxt[:, None], dec_in)
        return (t + 1, dec_in, out.at[:, t].set(nxt), lps.at[:, t].set(lp), done)

    init = (jnp.int32(0), jnp.zeros((b, T), jnp.int32), jnp.zeros((b, T), jnp.int32),
            jnp.zeros((b, T), jnp.float32), ~jnp.any(input_mask, axis=1))
    _, _, out, lps, _ = jax.lax.while_loop(cond, body, init)
    return out, lps


@functools.partial(jax.jit, static_argnames=("cfg", "max_decode_length"))
def _prefix_lm_greedy(cfg, params, inputs, input_lengths, eos_id, prompt=None, *,
                      max_decode_length):
    """Decoder-only, no cache: row i is [0, x_i..., generated...] (shifted right)."""
    b, lin = inputs.shape
    T = max_decode_length
    length = lin + T + 1
    model = DecoderOnly(cfg)
    pos = jnp.arange(length)[None]
    dec_in = jnp.zeros((b, length), jnp.int32).at[:, 1:lin + 1].set(inputs)
    causal = (pos < input_lengths[:, None] + 1).astype(jnp.int32)

    def cond(s):
        return (s[0] < T) & ~jnp.all(s[4])

    def body(s):
        t, dec_in, out, lps, done = s
        logits = model.apply({"params": params}, dec_in, decoder_causal_attention=causal,
                             prompt=prompt)
        where = input_lengths + t                      # position predicting generated token t
        logits_t = jnp.take_along_axis(logits, where[:, None, None], axis=1)[:, 0]
        nxt, lp, done = _pick(logits_t, done, eos_id)
        dec_in = jnp.where(pos == (where + 1)[:, None], nxt[:, None], dec_in)
        return (t + 1, dec_in, out.at[:, t].set(nxt), lps.at[:, t].set(lp), done)

    init = (jnp.int32(0), dec_in, jnp.zeros((b, T), jnp.int32), jnp.zeros((b, T), jnp.float32),
            input_lengths == 0)
    _, _, out, lps, _ = jax.lax.while_loop(cond, body, init)
    return out, lps


def greedy_decode(config, params, inputs: np.ndarray, input_lengths: np.ndarray, *,
                  max_decode_length: int, use_cache: bool = True, eos_id: int = EOS_ID,
                  prompt=None) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded token ids [b, Lin] -> (tokens [b, T], chosen-token log-probs [b, T]).

    Rows of length 0 are batch padding: done from the start, all-zero output, and they
    never keep the loop running. `prompt`: a soft prompt before every input."""
    from flan_repro.model.loading import model_type
    # numpy in, so only the jitted loop compiles (no per-shape eager jax ops)
    inputs = np.asarray(inputs, np.int32)
    lengths = np.asarray(input_lengths, np.int32)
    eos = np.int32(eos_id)             # traced: another stop id does not recompile
    if model_type(config) == "prefix_lm":
        out = _prefix_lm_greedy(config, params, inputs, lengths, eos, prompt,
                                max_decode_length=max_decode_length)
    else:
        mask = np.arange(inputs.shape[1])[None] < lengths[:, None]
        fn = _t5_greedy_cached if use_cache else _t5_greedy_uncached
        out = fn(config, params, inputs, mask, eos, prompt, max_decode_length=max_decode_length)
    return tuple(np.asarray(a) for a in out)


# --------------------------------------------------------------------------- batching
@dataclasses.dataclass(frozen=True)
class Generation:
    text: str                 # decoded, without EOS (not stripped: see runner)
    token_ids: tuple          # generated ids before EOS
    score: float              # sum of the chosen tokens' log-probs, incl. EOS when reached
    finished: bool            # EOS produced within max_decode_length

    def to_dict(self) -> dict:
        return {"text": self.text, "token_ids": list(self.token_ids), "score": self.score,
                "finished": self.finished}


class Generator:
    """Greedy generation for lists of prompts (text, or token ids used verbatim)."""

    def __init__(self, model, vocab=None, *, batch_size: int = 16, max_decode_length: int = 64,
                 max_input_length: int = DEFAULT_MAX_INPUT_LENGTH, use_cache: bool = True,
                 eos_id: int = EOS_ID):
        self.model: LoadedModel = as_loaded_model(model)
        self.vocab = vocab
        self.batch_size = int(batch_size)
        self.max_decode_length = int(max_decode_length)
        self.max_input_length = int(max_input_length)
        self.use_cache = use_cache
        self.eos_id = eos_id

    def input_ids(self, x: Text) -> list[int]:
        if isinstance(x, str):
            if self.vocab is None:
                raise ValueError("text inputs need a vocabulary (Generator(..., vocab=...))")
            ids = [int(t) for t in self.vocab.encode(x)] + [EOS_ID]
        else:
            ids = [int(t) for t in x]
        return ids[-self.max_input_length:]      # trim the start, as Scorer does

    def generate(self, inputs: Sequence[Text]) -> list[Generation]:
        xs = [self.input_ids(x) for x in inputs]
        order = sorted(range(len(xs)), key=lambda i: (-len(xs[i]), i))
        out: list[Generation | None] = [None] * len(xs)
        for s in range(0, len(order), self.batch_size):
            batch = order[s:s + self.batch_size]
            # a multi-batch run pads every batch to the full size: one shape fewer to compile
            b = bucket(self.batch_size if len(xs) > self.batch_size else len(batch))
            lin = bucket(max(len(xs[i]) for i in batch), MIN_INPUT_BUCKET, self.max_input_length)
            arr = np.zeros((b, lin), np.int32)
            lengths = np.zeros((b,), np.int32)       # padding rows: length 0, done at once
            for r, i in enumerate(batch):
                arr[r, :len(xs[i])] = xs[i]
                lengths[r] = len(xs[i])
            tokens, lps = greedy_decode(self.model.config, self.model.params, arr, lengths,
                                        max_decode_length=self.max_decode_length,
                                        use_cache=self.use_cache, eos_id=self.eos_id,
                                        prompt=self.model.prompt)
            for r, i in enumerate(batch):
                out[i] = self._result(tokens[r], lps[r])
        return out

    def _result(self, tokens: np.ndarray, lps: np.ndarray) -> Generation:
        toks = [int(t) for t in tokens]
        finished = self.eos_id in toks
        n = toks.index(self.eos_id) if finished else len(toks)
        ids = tuple(toks[:n])
        text = self.vocab.decode(list(ids)) if self.vocab is not None else ""
        score = float(np.sum(lps[:n + 1 if finished else n], dtype=np.float64))
        return Generation(text=text, token_ids=ids, score=score, finished=finished)


def cache_sizes() -> dict[str, int]:
    return {f.__name__: f._cache_size() for f in (_t5_greedy_cached, _t5_greedy_uncached,
                                                   _prefix_lm_greedy)}
