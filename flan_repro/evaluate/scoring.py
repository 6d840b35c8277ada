"""log p(option | input) for rank classification and `flan-repro score`.

Encoder-decoder (T5): the encoder runs ONCE per example, and so does every decoder
layer's cross-attention key/value projection of its output (for a long prompt and
short options that projection, not the option tokens, is most of the decoder's
work). The options of a batch of examples sit in [example, option slot] order: the
self-attention, MLP and head run per option row, the cross-attention per example,
all its option tokens querying its keys/values at once, so nothing is copied per
option (`T5.decode` takes several decoder rows per input). lm-evaluation-harness instead
re-encodes the input once per option (`encode_once=False` here: the reference, and the
baseline of `bench/evaluation.py`).

Decoder-only (prefix LM): the model sees [input; option] exactly as
`decoder_only.prefix_lm_features` lays out training examples: the prefix [0; input]
(decoder input shifted right) attends bidirectionally within itself, the option
causally to the prefix and to its own earlier tokens. Prefix positions never attend to
option positions, so the prefix's keys/values and outputs are the same for every
option: with `encode_once` (the default) the prefix runs ONCE per example, each
layer's prefix keys/values are kept, and all option rows of the batch then run
together (`DecoderOnly.decode_cached`), each gathering its example's prefix keys/values
(`ex_index`) and attending to [prefix ; causal over its own tokens], at the positions
(hence relative position biases) of the full pass. The prefix's last output predicts
every option's first token. `encode_once=False` runs one full forward pass per
(input, option) pair, the reference the tests compare against.

Scores: the sum of the option's token log-probs INCLUDING its EOS (text options are
tokenized as vocab.encode(text) + [EOS], as seqio's `add_eos=True` targets are), the
per-token log-probs, and the token count (for length-normalised ranking, via
`rank_classification`; FLAN ranks by the sum).

Long inputs: text inputs are tokenized + EOS and, when longer than
`max_input_length`, trimmed at the START (the last `max_input_length` tokens are
kept). seqio's `append_eos_after_trim` would keep the start instead, but FLAN's
prompts put the options block and the question at the end and few-shot exemplars
at the start, so the end is what the model must see. Targets are never trimmed.

Fixed shapes: the example batch, the decoder-only option-row batch and both lengths
are padded up to powers of two (lengths at least 16 / 8, capped at the configured
maximum, +1 for the decoder-only prefix's leading 0; a run with several batches pads
every example batch to its largest); the T5 option slots per example are the batch's
largest option count (a dataset has one or a few). So a run compiles a handful of
programs instead of one per batch. The jitted functions are module-level with the
(hashable, frozen) config static, so every Scorer of the same model shares the
compiled programs. Examples are sorted by length before batching (deterministically),
which keeps padding low; results come back in the caller's order, and padding never
changes a score beyond float rounding.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from flan_repro.model import layers as L
from flan_repro.model.decoder_only import DecoderOnly, prefix_lm_features
from flan_repro.model.loading import LoadedModel, as_loaded_model
from flan_repro.model.t5 import T5

EOS_ID = 1
PAD_ID = 0
DEFAULT_MAX_INPUT_LENGTH = 1024
MIN_INPUT_BUCKET = 16
MIN_TARGET_BUCKET = 8

Text = Union[str, Sequence[int]]


def bucket(n: int, minimum: int = 1, cap: int | None = None) -> int:
    """Smallest power of two >= max(n, minimum); `cap` (>= n) when that is smaller."""
    b = 1 << max(int(max(n, minimum)) - 1, 0).bit_length()
    if cap is not None and b > cap >= n:
        return int(cap)
    return b


@dataclasses.dataclass(frozen=True)
class OptionScore:
    logprob: float                 # sum of token log-probs (incl. EOS for text targets)
    token_logprobs: np.ndarray     # float32 [num_tokens]
    num_tokens: int

    def to_dict(self) -> dict:
        return {"score": self.logprob, "token_logprobs": [float(x) for x in self.token_logprobs],
                "num_tokens": self.num_tokens}


# --------------------------------------------------------------------------- jitted cores
def _widened(input_mask, prompt):
    """The encoder's output mask: the input's, after the soft prompt's positions."""
    return input_mask if prompt is None else L.prompt_mask(input_mask, prompt.shape[-2])


@functools.partial(jax.jit, static_argnums=0)
def _encdec_encode_once(config, params, inputs, input_mask, dec_in, targets, weights,
                        prompt=None):
    """The encoder on [B, Lin] once; the decoder on the option slots [B, O, Lt] (example b's
    options at [b, :]), as B * O rows whose cross-attention reads their example's
    keys/values, projected once per example (see `T5.decode`). `prompt`: a soft prompt
    before every input (prompt tuning), here and in the other cores."""
    model = T5(config)
    encoded = model.apply({"params": params}, inputs, encoder_input_mask=input_mask,
                          normalize_output=True, prompt=prompt, method=T5.encode)
    b, o, lt = dec_in.shape
    logits = model.apply({"params": params}, encoded, dec_in.reshape(b * o, lt),
                         encoder_input_mask=_widened(input_mask, prompt),
                         normalize_output=True, method=T5.decode)
    return L.token_log_probs(logits, targets.reshape(b * o, lt)).reshape(b, o, lt) * weights


@functools.partial(jax.jit, static_argnums=0)
def _encdec_pairs(config, params, inputs, input_mask, dec_in, targets, weights, prompt=None):
    """Full forward pass per (input, option) row: the input is re-encoded for every option."""
    model = T5(config)
    encoded = model.apply({"params": params}, inputs, encoder_input_mask=input_mask,
                          prompt=prompt, method=T5.encode)
    logits = model.apply({"params": params}, encoded, dec_in,
                         encoder_input_mask=_widened(input_mask, prompt), method=T5.decode)
    return L.token_log_probs(logits, targets) * weights


@functools.partial(jax.jit, static_argnums=0)
def _prefix_lm_reuse(config, params, prefix, prefix_len, ex_index, dec_in, targets, weights,
                     prompt=None):
    """Decoder-only: prefix [B, Lp] = [0; input] once; option rows [N, Lt] reuse its K/V.

    prefix_len [B] >= 1. Option row n belongs to example ex_index[n]; dec_in[n, 1:] are
    its tokens fed to the model (option[:-1], at positions prefix_len + 0, 1, ...), and
    dec_in[n, 0] stands for the prefix's last position, whose output predicts option[0].
    A soft prompt [P, d] runs with the prefix, before it: every position moves by P.
    """
    model = DecoderOnly(config)
    run = functools.partial(model.apply, {"params": params}, method=DecoderOnly.decode_cached)
    n_prompt = 0 if prompt is None else prompt.shape[-2]
    if n_prompt:
        prefix_len = prefix_len + n_prompt
    k_pos = jnp.arange(n_prompt + prefix.shape[1])[None]                        # [1, P + Lp]
    x, prefix_kv = run(prefix, k_pos, k_pos, (k_pos < prefix_len[:, None])[:, None],
                       prompt=prompt)
    opt = dec_in[:, 1:]
    n, q = opt.shape
    row_len = jnp.take(prefix_len, ex_index)
    q_pos = row_len[:, None] + jnp.arange(q)[None]                              # [N, q]
    kv_pos = jnp.concatenate([jnp.broadcast_to(k_pos, (n, k_pos.shape[1])), q_pos], axis=1)
    valid = jnp.concatenate([kv_pos[:, :-q] < row_len[:, None], jnp.ones((n, q), bool)], 1)
    z, _ = run(opt, q_pos, kv_pos, valid[:, None, :] & (kv_pos[:, None, :] <= q_pos[..., None]),
               tuple(tuple(jnp.take(a, ex_index, axis=0) for a in kv) for kv in prefix_kv))
    last = jnp.take_along_axis(x, (prefix_len - 1)[:, None, None], axis=1)         # [B, 1, d]
    h = jnp.concatenate([jnp.take(last, ex_index, axis=0), z], axis=1)            # [N, Lt, d]
    logits = model.apply({"params": params}, h, method=DecoderOnly.logits)
    return L.token_log_probs(logits, targets) * weights


@functools.partial(jax.jit, static_argnums=0)
def _prefix_lm_pairs(config, params, dec_in, targets, causal, weights, prompt=None):
    logits = DecoderOnly(config).apply({"params": params}, dec_in,
                                       decoder_causal_attention=causal, prompt=prompt)
    return L.token_log_probs(logits, targets) * weights


# --------------------------------------------------------------------------- the scorer
class Scorer:
    """Per-option log-likelihoods from a loaded model.

    `model`: a LoadedModel, an in-memory (config, params) pair, or a checkpoint spec
    (see `model/loading.py`). `vocab` (a seqio vocabulary) is needed only for text
    inputs; token-id inputs are used verbatim (no EOS is added to them).
    `batch_size` caps the examples encoded (decoder-only: prefixes run) together,
    `max_rows` the option rows per batch (with `encode_once`: examples x the batch's
    largest option count; (input, option) pairs on the per-pair paths). A model with a
    soft prompt (`LoadedModel.prompt`) is scored with the prompt before every input.
    """

    def __init__(self, model, vocab=None, *, batch_size: int = 16, max_rows: int | None = None,
                 max_input_length: int = DEFAULT_MAX_INPUT_LENGTH, encode_once: bool = True):
        self.model: LoadedModel = as_loaded_model(model)
        self.config = self.model.config
        self.params = self.model.params
        self.prompt = self.model.prompt
        self.vocab = vocab
        if batch_size < 1 or max_input_length < 2:
            raise ValueError("batch_size must be >= 1 and max_input_length >= 2")
        self.batch_size = int(batch_size)
        self.max_rows = int(max_rows or 4 * batch_size)
        self.max_input_length = int(max_input_length)
        self.encode_once = encode_once
        if self.vocab is not None and self.vocab.vocab_size > self.config.vocab_size:
            raise ValueError(f"vocabulary has {self.vocab.vocab_size} ids but the model only "
                             f"{self.config.vocab_size}: wrong --vocabulary for this checkpoint?")

    @property
    def model_type(self) -> str:
        return self.model.model_type

    # ------------------------------------------------------------------ tokens
    def _encode(self, text: str) -> list[int]:
        if self.vocab is None:
            raise ValueError("text inputs need a vocabulary (Scorer(..., vocab=...))")
        return [int(t) for t in self.vocab.encode(text)]

    def input_ids(self, x: Text) -> list[int]:
        """Text -> tokens + EOS, trimmed from the start to max_input_length; ids verbatim."""
        ids = self._encode(x) + [EOS_ID] if isinstance(x, str) else [int(t) for t in x]
        if not ids:
            raise ValueError("empty input")
        return ids[-self.max_input_length:]

    def target_ids(self, y: Text) -> list[int]:
        ids = self._encode(y) + [EOS_ID] if isinstance(y, str) else [int(t) for t in y]
        if not ids:
            raise ValueError("empty target: nothing to score")
        return ids

    # ------------------------------------------------------------------ public API
    def score_options(self, inputs: Sequence[Text], options: Sequence[Sequence[Text]],
                      encode_once: bool | None = None) -> list[list[OptionScore]]:
        """For each example i and option k, log p(options[i][k] | inputs[i])."""
        if len(inputs) != len(options):
            raise ValueError(f"{len(inputs)} inputs but {len(options)} option lists")
        x = [self.input_ids(s) for s in inputs]
        y = [[self.target_ids(o) for o in opts] for opts in options]
        for i, opts in enumerate(y):
            if not opts:
                raise ValueError(f"example {i} has no options")
        return self.score_ids(x, y, encode_once)

    def score(self, inputs: Sequence[Text], targets: Sequence[Text]) -> list[OptionScore]:
        """One target per input: log p(target | input) (the `score` command)."""
        return [s[0] for s in self.score_options(inputs, [[t] for t in targets])]

    # ------------------------------------------------------------------ token level
    def score_ids(self, input_ids: Sequence[Sequence[int]],
                  option_ids: Sequence[Sequence[Sequence[int]]],
                  encode_once: bool | None = None) -> list[list[OptionScore]]:
        encode_once = self.encode_once if encode_once is None else encode_once
        prefix_lm = self.model_type == "prefix_lm"
        if encode_once:
            return self._score_encode_once(
                input_ids, option_ids,
                self._prefix_lm_reuse_batch if prefix_lm else self._encdec_once_batch)
        return self._score_pairs(input_ids, option_ids,
                                 self._prefix_lm_batch if prefix_lm else self._encdec_pairs_batch)

    def _score_encode_once(self, xs, ys, run_batch) -> list[list[OptionScore]]:
        """Batches of examples; `run_batch(b, inputs, options)` scores the options of each
        input, returning their token log-probs [per example][per option]."""
        out: list[list[OptionScore] | None] = [None] * len(xs)
        order = sorted(range(len(xs)), key=lambda i: (-len(xs[i]), -len(ys[i]), i))
        # a batch holds at most batch_size examples and max_rows option slots, a slot per
        # option of its most-options example for every example (the encoder-decoder's layout)
        batches, cur, slots = [], [], 0
        for i in order:
            if cur and (len(cur) >= self.batch_size
                        or (len(cur) + 1) * max(slots, len(ys[i])) > self.max_rows):
                batches.append(cur)
                cur, slots = [], 0
            cur.append(i)
            slots = max(slots, len(ys[i]))
        if cur:
            batches.append(cur)
        # a multi-batch run pads every example batch to its largest (fewer shapes)
        b = bucket(max(map(len, batches)))
        for batch in batches:
            lps = run_batch(b, [xs[i] for i in batch], [ys[i] for i in batch])
            for i, lp in zip(batch, lps):
                out[i] = [_option_score(x) for x in lp]
        return out

    def _encdec_once_batch(self, b, xs, ys):
        lin = bucket(max(map(len, xs)), MIN_INPUT_BUCKET, self.max_input_length)
        inputs, mask = np.zeros((b, lin), np.int32), np.zeros((b, lin), bool)
        for r, x in enumerate(xs):
            inputs[r, :len(x)] = x
            mask[r, :len(x)] = True
        slots = max(map(len, ys))
        lt = bucket(max(len(t) for opts in ys for t in opts), MIN_TARGET_BUCKET)
        dec_in, targets, weights = teacher_forcing(
            [(r * slots + k, t) for r, opts in enumerate(ys) for k, t in enumerate(opts)],
            b * slots, lt)
        lp = np.asarray(_encdec_encode_once(
            self.config, self.params, inputs, mask,
            *(a.reshape(b, slots, lt) for a in (dec_in, targets, weights)), self.prompt))
        return [[lp[r, k, :len(t)] for k, t in enumerate(opts)] for r, opts in enumerate(ys)]

    def _prefix_lm_reuse_batch(self, b, xs, ys):
        # prefix = [0; input] (the shifted-right decoder input); padding examples are [0]
        lp = bucket(max(map(len, xs)) + 1, MIN_INPUT_BUCKET, self.max_input_length + 1)
        prefix, prefix_len = np.zeros((b, lp), np.int32), np.ones((b,), np.int32)
        for r, x in enumerate(xs):
            prefix[r, 1:len(x) + 1] = x
            prefix_len[r] = len(x) + 1
        # option rows back to back, padded to a power of two; padding rows read example 0
        ex_index = np.zeros((bucket(sum(map(len, ys))),), np.int32)
        rows = [(r, t) for r, opts in enumerate(ys) for t in opts]
        for row, (r, _) in enumerate(rows):
            ex_index[row] = r
        lt = bucket(max(len(t) for _, t in rows), MIN_TARGET_BUCKET)
        out = np.asarray(_prefix_lm_reuse(
            self.config, self.params, prefix, prefix_len, ex_index,
            *teacher_forcing(list(enumerate(t for _, t in rows)), len(ex_index), lt),
            self.prompt))
        starts = np.cumsum([0] + [len(opts) for opts in ys])
        return [[out[s + k, :len(t)] for k, t in enumerate(opts)]
                for s, opts in zip(starts, ys)]

    def _score_pairs(self, xs, ys, run_batch) -> list[list[OptionScore]]:
        """One row per (input, option) pair (re-encoding, or the decoder-only prefix LM)."""
        pairs = [(i, k) for i in range(len(xs)) for k in range(len(ys[i]))]
        pairs.sort(key=lambda p: (-(len(xs[p[0]]) + len(ys[p[0]][p[1]])), p))
        out = [[None] * len(y) for y in ys]
        for s in range(0, len(pairs), self.max_rows):
            chunk = pairs[s:s + self.max_rows]
            lps = run_batch([xs[i] for i, _ in chunk], [ys[i][k] for i, k in chunk])
            for (i, k), lp in zip(chunk, lps):
                out[i][k] = _option_score(lp)
        return out

    def _encdec_pairs_batch(self, xs, ys) -> list[np.ndarray]:
        n = bucket(len(xs))
        lin = bucket(max(map(len, xs)), MIN_INPUT_BUCKET, self.max_input_length)
        lt = bucket(max(map(len, ys)), MIN_TARGET_BUCKET)
        inputs, mask = np.zeros((n, lin), np.int32), np.zeros((n, lin), bool)
        for r, x in enumerate(xs):
            inputs[r, :len(x)] = x
            mask[r, :len(x)] = True
        dec_in, targets, weights = teacher_forcing(enumerate(ys), n, lt)
        lp = np.asarray(_encdec_pairs(self.config, self.params, inputs, mask, dec_in, targets,
                                      weights, self.prompt))
        return [lp[r, :len(t)] for r, t in enumerate(ys)]

    def _prefix_lm_batch(self, xs, ys) -> list[np.ndarray]:
        n = bucket(len(xs))
        length = bucket(max(len(x) + len(t) for x, t in zip(xs, ys)), MIN_INPUT_BUCKET)
        dec_in, targets, causal, weights = (np.zeros((n, length), np.int32),
                                            np.zeros((n, length), np.int32),
                                            np.zeros((n, length), np.int32),
                                            np.zeros((n, length), np.float32))
        for r, (x, t) in enumerate(zip(xs, ys)):
            f = prefix_lm_features(x, t, length)
            dec_in[r], targets[r] = f["decoder_input_tokens"], f["decoder_target_tokens"]
            causal[r], weights[r] = f["decoder_causal_attention"], f["decoder_loss_weights"]
        lp = np.asarray(_prefix_lm_pairs(self.config, self.params, dec_in, targets, causal,
                                         weights, self.prompt))
        return [lp[r, len(x):len(x) + len(t)] for r, (x, t) in enumerate(zip(xs, ys))]


def teacher_forcing(rows, n, lt):
    """[(row, option tokens)] -> decoder inputs (shifted right), targets, weights [n, lt];
    rows not listed are padding (zero weights)."""
    dec_in, targets = np.zeros((n, lt), np.int32), np.zeros((n, lt), np.int32)
    weights = np.zeros((n, lt), np.float32)
    for row, t in rows:
        targets[row, :len(t)] = t
        dec_in[row, 1:len(t)] = t[:-1]
        weights[row, :len(t)] = 1.0
    return dec_in, targets, weights


def _option_score(token_lp: np.ndarray) -> OptionScore:
    token_lp = np.asarray(token_lp, np.float32)
    return OptionScore(logprob=float(np.sum(token_lp, dtype=np.float64)),
                       token_logprobs=token_lp, num_tokens=int(token_lp.size))


def cache_sizes() -> dict[str, int]:
    """Compiled programs per jitted core (to check that bucketing bounds recompiles)."""
    return {f.__name__: f._cache_size() for f in (_encdec_encode_once, _encdec_pairs,
                                                   _prefix_lm_reuse, _prefix_lm_pairs)}


__all__ = ["Scorer", "OptionScore", "bucket", "cache_sizes", "EOS_ID"]
