"""log p(option | input) for rank classification and `flan-repro score`.

Encoder-decoder (T5): the encoder runs ONCE per example; all options of a batch of
examples then go through the decoder together, each option row reading its
example's encoder output through an index gather (`ex_index`). lm-evaluation-harness
instead re-encodes the input once per option (`encode_once=False` here, kept as the
reference and for `bench.py`); with 2-8 options of a long prompt the encoder is most
of the work, so encoding once saves most of it.

Decoder-only (prefix LM): each (input, option) pair is one row [input; option]
exactly as `decoder_only.prefix_lm_features` lays out training examples
(bidirectional over the input prefix, causal over the option), with the loss only on
the option tokens. The shared input prefix is NOT reused across options (each pair
is a full forward pass); a prefix KV cache would be the decoder-only counterpart of
encode-once.

Scores: the sum of the option's token log-probs INCLUDING its EOS (text options are
tokenized as vocab.encode(text) + [EOS], as seqio's `add_eos=True` targets are), the
per-token log-probs, and the token count (for length-normalised ranking, via
`rank_classification`; FLAN ranks by the sum).

Long inputs: text inputs are tokenized + EOS and, when longer than
`max_input_length`, trimmed at the START (the last `max_input_length` tokens are
kept). seqio's `append_eos_after_trim` would keep the start instead, but FLAN's
prompts put the options block and the question at the end and few-shot exemplars
at the start, so the end is what the model must see. Targets are never trimmed.

Fixed shapes: the example batch, the option-row batch and both lengths are padded
up to powers of two (lengths at least 16 / 8, capped at the configured maximum; a
run with several batches pads every example batch to the full `batch_size`), so a
run compiles a handful of programs instead of one per batch. The jitted functions
are module-level with the (hashable, frozen) config static, so every Scorer of the
same model shares the compiled programs. Examples are sorted by length before
batching (deterministically), which keeps padding low; results come back in the
caller's order, and padding never changes a score beyond float rounding.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from flan_repro.evaluate.checkpoint import LoadedModel, as_loaded_model
from flan_repro.evaluate.rank_classification import RankResult, rank_classification

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
@functools.partial(jax.jit, static_argnums=0)
def _encdec_encode_once(config, params, inputs, input_mask, ex_index, dec_in, targets, weights):
    """Encoder on [B, Lin] once; decoder on [N, Lt] option rows gathering row ex_index[n]."""
    from flan_repro.model import layers as L
    from flan_repro.model.t5 import T5
    model = T5(config)
    encoded = model.apply({"params": params}, inputs, encoder_input_mask=input_mask,
                          method=T5.encode)
    enc = jnp.take(encoded, ex_index, axis=0)
    mask = jnp.take(input_mask, ex_index, axis=0)
    logits = model.apply({"params": params}, enc, dec_in, encoder_input_mask=mask,
                         method=T5.decode)
    return L.token_log_probs(logits, targets) * weights


@functools.partial(jax.jit, static_argnums=0)
def _encdec_pairs(config, params, inputs, input_mask, dec_in, targets, weights):
    """Full forward pass per (input, option) row: the input is re-encoded for every option."""
    from flan_repro.model import layers as L
    from flan_repro.model.t5 import T5
    model = T5(config)
    encoded = model.apply({"params": params}, inputs, encoder_input_mask=input_mask,
                          method=T5.encode)
    logits = model.apply({"params": params}, encoded, dec_in, encoder_input_mask=input_mask,
                         method=T5.decode)
    return L.token_log_probs(logits, targets) * weights


@functools.partial(jax.jit, static_argnums=0)
def _prefix_lm_pairs(config, params, dec_in, targets, causal, weights):
    from flan_repro.model import layers as L
    from flan_repro.model.decoder_only import DecoderOnly
    logits = DecoderOnly(config).apply({"params": params}, dec_in,
                                       decoder_causal_attention=causal)
    return L.token_log_probs(logits, targets) * weights


# --------------------------------------------------------------------------- the scorer
class Scorer:
    """Per-option log-likelihoods from a loaded model.

    `model`: a LoadedModel, an in-memory (config, params) pair, or a checkpoint spec
    (see `checkpoint.py`). `vocab` (a seqio vocabulary) is needed only for text
    inputs; token-id inputs are used verbatim (no EOS is added to them).
    `batch_size` caps the examples encoded together, `max_rows` the option rows
    (decoder rows; (input, option) pairs for decoder-only / re-encoding).
    """

    def __init__(self, model, vocab=None, *, batch_size: int = 16, max_rows: int | None = None,
                 max_input_length: int = DEFAULT_MAX_INPUT_LENGTH, encode_once: bool = True):
        self.model: LoadedModel = as_loaded_model(model)
        self.config = self.model.config
        self.params = self.model.params
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

    def rank(self, inputs: Sequence[Text], options: Sequence[Sequence[Text]],
             length_normalized: bool = False) -> tuple[RankResult, list[list[OptionScore]]]:
        """Rank classification: the first option with the best summed (or mean) log-prob."""
        scores = self.score_options(inputs, options)
        result = rank_classification([[o.logprob for o in s] for s in scores],
                                     [[o.num_tokens for o in s] for s in scores],
                                     length_normalized=length_normalized)
        return result, scores

    # ------------------------------------------------------------------ token level
    def score_ids(self, input_ids: Sequence[Sequence[int]],
                  option_ids: Sequence[Sequence[Sequence[int]]],
                  encode_once: bool | None = None) -> list[list[OptionScore]]:
        encode_once = self.encode_once if encode_once is None else encode_once
        if self.model_type == "prefix_lm":
            return self._score_pairs(input_ids, option_ids, self._prefix_lm_batch)
        if encode_once:
            return self._score_encode_once(input_ids, option_ids)
        return self._score_pairs(input_ids, option_ids, self._encdec_pairs_batch)

    def _score_encode_once(self, xs, ys) -> list[list[OptionScore]]:
        out: list[list[OptionScore] | None] = [None] * len(xs)
        order = sorted(range(len(xs)), key=lambda i: (-len(xs[i]), -len(ys[i]), i))
        batches, cur, rows = [], [], 0
        for i in order:
            if cur and (len(cur) >= self.batch_size or rows + len(ys[i]) > self.max_rows):
                batches.append(cur)
                cur, rows = [], 0
            cur.append(i)
            rows += len(ys[i])
        if cur:
            batches.append(cur)
        for batch in batches:
            # a multi-batch run pads every example batch to the full size (fewer shapes)
            b = bucket(self.batch_size if len(batches) > 1 else len(batch))
            lin = bucket(max(len(xs[i]) for i in batch), MIN_INPUT_BUCKET, self.max_input_length)
            inputs = np.zeros((b, lin), np.int32)
            for r, i in enumerate(batch):
                inputs[r, :len(xs[i])] = xs[i]
            mask = np.zeros((b, lin), bool)
            for r, i in enumerate(batch):
                mask[r, :len(xs[i])] = True
            pairs = [(r, i, k) for r, i in enumerate(batch) for k in range(len(ys[i]))]
            n = bucket(len(pairs))
            lt = bucket(max(len(ys[i][k]) for _, i, k in pairs), MIN_TARGET_BUCKET)
            ex_index = np.zeros((n,), np.int32)
            dec_in, targets, weights = (np.zeros((n, lt), np.int32), np.zeros((n, lt), np.int32),
                                        np.zeros((n, lt), np.float32))
            for row, (r, i, k) in enumerate(pairs):
                t = ys[i][k]
                ex_index[row] = r
                targets[row, :len(t)] = t
                dec_in[row, 1:len(t)] = t[:-1]
                weights[row, :len(t)] = 1.0
            lp = np.asarray(_encdec_encode_once(self.config, self.params, inputs, mask, ex_index,
                                                dec_in, targets, weights))
            for i in batch:
                out[i] = [None] * len(ys[i])
            for row, (r, i, k) in enumerate(pairs):
                out[i][k] = _option_score(lp[row, :len(ys[i][k])])
        return out

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
        dec_in, targets, weights = (np.zeros((n, lt), np.int32), np.zeros((n, lt), np.int32),
                                    np.zeros((n, lt), np.float32))
        for r, (x, t) in enumerate(zip(xs, ys)):
            inputs[r, :len(x)] = x
            mask[r, :len(x)] = True
            targets[r, :len(t)] = t
            dec_in[r, 1:len(t)] = t[:-1]
            weights[r, :len(t)] = 1.0
        lp = np.asarray(_encdec_pairs(self.config, self.params, inputs, mask, dec_in, targets,
                                      weights))
        return [lp[r, :len(t)] for r, t in enumerate(ys)]

    def _prefix_lm_batch(self, xs, ys) -> list[np.ndarray]:
        n = bucket(len(xs))
        length = bucket(max(len(x) + len(t) for x, t in zip(xs, ys)), MIN_INPUT_BUCKET)
        dec_in, targets, causal, weights = (np.zeros((n, length), np.int32),
                                            np.zeros((n, length), np.int32),
                                            np.zeros((n, length), np.int32),
                                            np.zeros((n, length), np.float32))
        from flan_repro.model.decoder_only import prefix_lm_features
        for r, (x, t) in enumerate(zip(xs, ys)):
            f = prefix_lm_features(x, t, length)
            dec_in[r], targets[r] = f["decoder_input_tokens"], f["decoder_target_tokens"]
            causal[r], weights[r] = f["decoder_causal_attention"], f["decoder_loss_weights"]
        lp = np.asarray(_prefix_lm_pairs(self.config, self.params, dec_in, targets, causal,
                                         weights))
        return [lp[r, len(x):len(x) + len(t)] for r, (x, t) in enumerate(zip(xs, ys))]


def _option_score(token_lp: np.ndarray) -> OptionScore:
    token_lp = np.asarray(token_lp, np.float32)
    return OptionScore(logprob=float(np.sum(token_lp, dtype=np.float64)),
                       token_logprobs=token_lp, num_tokens=int(token_lp.size))


def cache_sizes() -> dict[str, int]:
    """Compiled programs per jitted core (to check that bucketing bounds recompiles)."""
    return {f.__name__: f._cache_size() for f in (_encdec_encode_once, _encdec_pairs,
                                                   _prefix_lm_pairs)}


__all__ = ["Scorer", "OptionScore", "bucket", "cache_sizes", "EOS_ID"]
