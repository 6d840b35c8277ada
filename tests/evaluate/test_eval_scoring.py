"""Scorer: encode-once (T5) / prefix-reuse (decoder-only) rank scoring equals a naive
per-option forward pass."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flan_repro.evaluate.rank_classification import rank_classification
from flan_repro.evaluate.scoring import Scorer, bucket, cache_sizes
from flan_repro.model import layers as L

TOL = 1e-4


OPTION_COUNTS = (2, 4, 3, 3, 2, 4, 3, 3)


def _random_problem(seed, n=8, vocab=2176):
    """Inputs of 17-32 tokens and 1-6-token options (EOS included): one length bucket each,
    so the batching below compiles few programs."""
    rng = np.random.RandomState(seed)
    xs = [list(rng.randint(2, vocab, rng.randint(16, 32))) + [1] for _ in range(n)]
    ys = [[list(rng.randint(2, vocab, rng.randint(0, 6))) + [1]
           for _ in range(OPTION_COUNTS[i % len(OPTION_COUNTS)])] for i in range(n)]
    return xs, ys


_NAIVE = {}
X_PAD, T_PAD = 48, 8      # one fixed shape: a single compile for all naive passes


def naive_t5(config, params, x, t):
    """One full forward pass (encoder + decoder) per (input, option), one row at a time."""
    from flan_repro.model.t5 import T5
    if (config, "t5") not in _NAIVE:
        def fn(p, enc, dec_in, tgt):
            logits = T5(config).apply({"params": p}, enc, dec_in)
            return L.token_log_probs(logits, tgt)
        _NAIVE[config, "t5"] = jax.jit(fn)
    enc, dec_in, tgt = (np.zeros((1, n), np.int32) for n in (X_PAD, T_PAD, T_PAD))
    enc[0, :len(x)] = x
    tgt[0, :len(t)] = t
    dec_in[0, 1:len(t)] = t[:-1]
    return np.asarray(_NAIVE[config, "t5"](params, enc, dec_in, tgt))[0, :len(t)]


def naive_prefix_lm(config, params, x, t):
    """[input; option] through the decoder-only LM, one row at a time."""
    from flan_repro.model.decoder_only import DecoderOnly, prefix_lm_features
    if (config, "lm") not in _NAIVE:
        def fn(p, f):
            logits = DecoderOnly(config).apply(
                {"params": p}, f["decoder_input_tokens"],
                decoder_causal_attention=f["decoder_causal_attention"])
            return L.token_log_probs(logits, f["decoder_target_tokens"])
        _NAIVE[config, "lm"] = jax.jit(fn)
    f = prefix_lm_features(x, t, X_PAD + T_PAD)
    f = {k: f[k][None] for k in ("decoder_input_tokens", "decoder_causal_attention",
                                 "decoder_target_tokens")}
    return np.asarray(_NAIVE[config, "lm"](params, f))[0, len(x):len(x) + len(t)]


def gathered_flax_t5(config, params, xs, ys):
    """The flax model scoring encode-once the plain way: T5.encode on all inputs at once,
    the encoder output copied per option row, T5.decode on all rows (one call)."""
    from flan_repro.model.t5 import T5

    def fn(p, inputs, ex_index, dec_in, tgt):
        model = T5(config)
        mask = inputs > 0
        encoded = model.apply({"params": p}, inputs, encoder_input_mask=mask, method=T5.encode)
        logits = model.apply({"params": p}, jnp.take(encoded, ex_index, axis=0), dec_in,
                             encoder_input_mask=jnp.take(mask, ex_index, axis=0),
                             method=T5.decode)
        return L.token_log_probs(logits, tgt)

    rows = [(i, t) for i, opts in enumerate(ys) for t in opts]
    inputs = np.zeros((len(xs), max(map(len, xs))), np.int32)
    for i, x in enumerate(xs):
        inputs[i, :len(x)] = x
    lt = max(len(t) for _, t in rows)
    dec_in, tgt = np.zeros((len(rows), lt), np.int32), np.zeros((len(rows), lt), np.int32)
    for r, (_, t) in enumerate(rows):
        tgt[r, :len(t)] = t
        dec_in[r, 1:len(t)] = t[:-1]
    lp = np.asarray(jax.jit(fn)(params, inputs, np.array([i for i, _ in rows], np.int32),
                                dec_in, tgt))
    it = iter(lp[r, :len(t)] for r, (_, t) in enumerate(rows))
    return [[next(it) for _ in opts] for opts in ys]


def _max_diff(scores, ref):
    return max(max(abs(s.logprob - float(np.sum(r))), float(np.max(np.abs(s.token_logprobs - r))))
               for row_s, row_r in zip(scores, ref) for s, r in zip(row_s, row_r))


def test_encode_once_equals_naive_per_option_forward(tiny_t5):
    config, params = tiny_t5
    xs, ys = _random_problem(0)
    long_input = list(range(2, 46)) + [1]              # 45 tokens, over max_input_length
    xs.append(long_input)
    ys.append([[5, 1], [6, 7, 8, 1]])
    scorer = Scorer((config, params), batch_size=4, max_rows=16,  # several batches
                    max_input_length=32)
    assert scorer.input_ids(long_input) == long_input[-32:]     # start trimmed, EOS kept
    once = scorer.score_options(xs, ys)
    ref = [[naive_t5(config, params, x[-32:], t) for t in opts] for x, opts in zip(xs, ys)]
    diff = _max_diff(once, ref)
    print(f"\n[encode once vs naive] max |dlogp| = {diff:.3g}")
    assert diff < TOL
    assert [[s.num_tokens for s in row] for row in once] == [[len(t) for t in o] for o in ys]


@pytest.mark.parametrize("model", ["tiny_t5", "tiny_t5_tied"])
def test_shared_cross_attention_equals_reencode_and_flax(model, request):
    """The functional decoder (cross-attention keys/values once per example, the queries of
    all its options against them) gives the log-probs of re-encoding per option and of the
    flax model on gathered encoder outputs: untied and tied heads, inputs of 1-30 tokens
    (16 and 32 buckets), 1-4 options of 1-7 tokens, two batches."""
    config, params = request.getfixturevalue(model)
    rng = np.random.RandomState(4)
    xs = [list(rng.randint(2, 2176, n)) + [1] for n in (0, 29, 3, 17, 22, 9, 14, 25)]
    ys = [[list(rng.randint(2, 2176, rng.randint(0, 7))) + [1] for _ in range(k)]
          for k in (1, 4, 2, 3, 4, 2, 3, 1)]
    once = Scorer((config, params), batch_size=4, max_rows=16).score_ids(xs, ys)
    reencode = Scorer((config, params), batch_size=4, max_rows=16,
                      encode_once=False).score_ids(xs, ys)
    flax_ref = gathered_flax_t5(config, params, xs, ys)
    for ref in ([[s.token_logprobs for s in row] for row in reencode], flax_ref):
        diff = _max_diff(once, ref)
        print(f"\n[{model}: shared cross K/V vs reference] max |dlogp| = {diff:.3g}")
        assert diff <= TOL


def test_prefix_lm_scores_equal_naive(tiny_decoder_only):
    config, params = tiny_decoder_only
    xs, ys = _random_problem(1, n=4)
    got = Scorer((config, params), batch_size=4).score_ids(xs, ys)
    ref = [[naive_prefix_lm(config, params, x, t) for t in opts] for x, opts in zip(xs, ys)]
    assert _max_diff(got, ref) < TOL


def test_prefix_reuse_equals_per_pair_forward(tiny_decoder_only):
    """Decoder-only: the prefix run once per example, option rows reading its keys/values,
    gives the scores and rankings of one full [input; option] pass per pair. Inputs of
    1-30 tokens (relative distances past the exact position buckets), options of 1-8
    tokens, 3-4 per example, three batches; lengths chosen so that every batch has the
    same padded shape (one compile per path, a quick test)."""
    config, params = tiny_decoder_only
    rng = np.random.RandomState(2)
    xs = [list(rng.randint(2, 2176, n)) + [1] for n in (0, 29, 17, 15, 22, 25, 16, 19, 27,
                                                        21, 15, 23)]
    ys = [[list(rng.randint(2, 2176, rng.randint(0, 8))) + [1] for _ in range(3 + i % 2)]
          for i in range(len(xs))]
    reuse = Scorer((config, params), batch_size=4, max_rows=16)
    pairs = Scorer((config, params), batch_size=4, max_rows=16, encode_once=False)
    compiled = cache_sizes()["_prefix_lm_reuse"]
    got, ref = reuse.score_ids(xs, ys), pairs.score_ids(xs, ys)
    assert cache_sizes()["_prefix_lm_reuse"] - compiled <= 1      # fixed shapes
    diff = _max_diff(got, [[s.token_logprobs for s in row] for row in ref])
    print(f"\n[prefix reuse vs per pair] max |dlogp| = {diff:.3g}")
    assert diff <= TOL
    assert [[s.num_tokens for s in row] for row in got] == [[len(t) for t in o] for o in ys]
    for normed in (False, True):
        a, b = (rank_classification([[o.logprob for o in row] for row in scores],
                                    [[o.num_tokens for o in row] for row in scores],
                                    length_normalized=normed) for scores in (got, ref))
        assert a.predictions.tolist() == b.predictions.tolist()


def test_buckets_are_powers_of_two_with_floor_and_cap():
    assert [bucket(n) for n in (1, 2, 3, 5, 8, 9)] == [1, 2, 4, 8, 8, 16]
    assert bucket(3, minimum=16) == 16
    assert bucket(700, 16, cap=1024) == 1024 and bucket(1000, 16, cap=1000) == 1000

