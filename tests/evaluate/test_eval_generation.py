"""Greedy decoding: the KV-cached path produces exactly the uncached reference's tokens."""
import numpy as np

from flan_repro.evaluate.generation import Generator, greedy_decode
from flan_repro.evaluate.scoring import Scorer


def _inputs(seed, lengths, width=32, vocab=2176):
    rng = np.random.RandomState(seed)
    x = np.zeros((len(lengths), width), np.int32)
    for i, n in enumerate(lengths):
        x[i, :n] = rng.randint(2, vocab, n)
        x[i, n - 1] = 1
    return x, np.asarray(lengths, np.int32)


def test_cached_equals_uncached(tiny_t5):
    config, params = tiny_t5
    x, lengths = _inputs(0, [20, 7, 13, 2])
    for eos in (1, 1741):       # 1741: a frequent token here, so rows stop at different steps
        a, la = greedy_decode(config, params, x, lengths, max_decode_length=12, use_cache=True,
                              eos_id=eos)
        b, lb = greedy_decode(config, params, x, lengths, max_decode_length=12, use_cache=False,
                              eos_id=eos)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(la, lb, atol=1e-4)
        for row in a:            # nothing after EOS
            hits = np.flatnonzero(row == eos)
            if hits.size:
                assert not row[hits[0] + 1:].any()


def test_prefix_lm_generation_agrees_with_the_scorer(tiny_decoder_only):
    """Decoder-only greedy decoding (no cache): the log-prob of its output equals the
    Scorer's prefix-LM score of those tokens."""
    # the shapes of the test above (batch 4, inputs padded to 32, 12 steps)
    gen = Generator(tiny_decoder_only, max_decode_length=12, batch_size=4)
    prompts = [[5, 9, 33, 1], [70, 1], [8] * 19 + [1]]
    outs = gen.generate(prompts)
    targets = [list(g.token_ids) + ([1] if g.finished else []) for g in outs]
    keep = [i for i, t in enumerate(targets) if t]
    scores = Scorer(tiny_decoder_only).score([prompts[i] for i in keep],
                                             [targets[i] for i in keep])
    for i, s in zip(keep, scores):
        assert abs(s.logprob - outs[i].score) < 1e-4
