"""Evaluator micro-benchmarks: pure functions returning dicts (wired into `make bench`).

  bench_rank_classification  examples/s of rank classification with the encoder run
                             once per example (ours) vs once per option (what
                             lm-evaluation-harness does for seq2seq models), at 2, 3, 4
                             and 8 options, same model, same data, same batching
  bench_generation           greedy-decoding tokens/s with and without the KV cache

Both use random token ids (no vocabulary, no data files) and, by default, the toy
profile's model shape (T5 v1.1 tiny: d_model 128, d_ff 256, 2+2 layers, 4 heads,
d_kv 32, vocab 2176) with random parameters. Compilation is excluded: every
configuration runs once before it is timed; the best of `repeats` runs is reported.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np


def toy_config():
    from flan_repro.model.t5 import T5Config
    return T5Config(vocab_size=2176, d_model=128, d_ff=256, num_encoder_layers=2,
                    num_decoder_layers=2, num_heads=4, d_kv=32, dropout_rate=0.0)


def _model(config, params, seed):
    import jax
    config = config or toy_config()
    if params is None:
        from flan_repro.model import t5
        params = t5.init_params(config, jax.random.PRNGKey(seed))
    return config, params


def _best_time(fn, repeats: int) -> float:
    fn()                                         # compile + warm up
    best = float("inf")
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_rank_classification(config=None, params=None, *,
                              option_counts: Sequence[int] = (2, 3, 4, 8),
                              num_examples: int = 32, input_length: int = 256,
                              option_length: int = 8, batch_size: int = 8, repeats: int = 3,
                              seed: int = 0) -> dict:
    """Examples/s scoring `num_examples` inputs of `input_length` tokens against n options
    of `option_length` tokens (EOS included), encode-once vs re-encode, per n."""
    from flan_repro.evaluate.scoring import Scorer, bucket
    config, params = _model(config, params, seed)
    rng = np.random.RandomState(seed)
    xs = [list(rng.randint(2, config.vocab_size, input_length - 1)) + [1]
          for _ in range(num_examples)]
    rows = []
    for n in option_counts:
        ys = [[list(rng.randint(2, config.vocab_size, option_length - 1)) + [1]
               for _ in range(n)] for _ in range(num_examples)]
        # encode-once: batch_size examples (batch_size * n decoder rows) per batch;
        # re-encode: the same rows, rounded up to the power-of-two row bucket and filled
        # with further pairs, so the baseline pays no padding
        rows_per_batch = bucket(batch_size * n)
        scorers = {True: Scorer((config, params), batch_size=batch_size,
                                max_rows=batch_size * n, max_input_length=input_length),
                   False: Scorer((config, params), batch_size=batch_size,
                                 max_rows=rows_per_batch, max_input_length=input_length)}
        got = {}

        def run(encode_once):
            got[encode_once] = scorers[encode_once].score_ids(xs, ys, encode_once=encode_once)

        t_once = _best_time(lambda: run(True), repeats)
        t_re = _best_time(lambda: run(False), repeats)
        diff = max(abs(a.logprob - b.logprob) for ea, eb in zip(got[True], got[False])
                   for a, b in zip(ea, eb))
        rows.append({"options": n, "encode_once_examples_per_s": num_examples / t_once,
                     "reencode_examples_per_s": num_examples / t_re,
                     "speedup": t_re / t_once, "max_abs_logprob_diff": diff})
    return {"model": _describe(config), "num_examples": num_examples,
            "input_length": input_length, "option_length": option_length,
            "batch_size": batch_size, "repeats": repeats, "results": rows}


def bench_generation(config=None, params=None, *, batch_size: int = 8, input_length: int = 128,
                     max_decode_length: int = 64, repeats: int = 3, seed: int = 0) -> dict:
    """Greedy tokens/s (batch_size * max_decode_length tokens; EOS never stops a row)."""
    from flan_repro.evaluate.generation import greedy_decode
    config, params = _model(config, params, seed)
    rng = np.random.RandomState(seed)
    inputs = rng.randint(2, config.vocab_size, (batch_size, input_length)).astype(np.int32)
    lengths = np.full((batch_size,), input_length, np.int32)
    got = {}

    def run(use_cache):
        got[use_cache] = greedy_decode(config, params, inputs, lengths,
                                       max_decode_length=max_decode_length,
                                       use_cache=use_cache, eos_id=-1)

    t_cache = _best_time(lambda: run(True), repeats)
    t_plain = _best_time(lambda: run(False), repeats)
    tokens = batch_size * max_decode_length
    return {"model": _describe(config), "batch_size": batch_size, "input_length": input_length,
            "max_decode_length": max_decode_length,
            "cached_tokens_per_s": tokens / t_cache, "uncached_tokens_per_s": tokens / t_plain,
            "speedup": t_plain / t_cache,
            "identical_tokens": bool(np.array_equal(got[True][0], got[False][0]))}


def _describe(config) -> dict:
    import dataclasses
    return {k: v for k, v in dataclasses.asdict(config).items()
            if k not in ("dropout_rate", "layer_norm_epsilon")}
