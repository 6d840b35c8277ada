"""A soft prompt in the models, the scorer and the generator: a prompt made of token
embeddings acts exactly like those tokens in front of the input, and no prompt (or an
empty one) changes nothing."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flan_repro.evaluate.generation import Generator
from flan_repro.evaluate.scoring import Scorer
from flan_repro.model.decoder_only import DecoderOnly
from flan_repro.prompt_tuning.train import input_embedding, with_prompt

PROMPT_TOKENS = [17, 250, 33, 1024, 5]
INPUTS = [[40, 41, 42, 1], [7, 1], [300, 301, 302, 303, 304, 305, 306, 1]]
OPTIONS = [[[50, 1], [51, 52, 1]], [[60, 1], [61, 1], [62, 63, 64, 1]], [[70, 71, 1]]]


def _embedded(model, tokens):
    return input_embedding(model.config, model.params)[np.asarray(tokens)]


def _logprobs(scores):
    return np.array([s.logprob for row in scores for s in row])


@pytest.mark.parametrize("encode_once", [True, False])
def test_t5_prompt_equals_its_tokens(tiny_t5, encode_once):
    prompted = with_prompt(tiny_t5, _embedded(tiny_t5, PROMPT_TOKENS))
    got = Scorer(prompted, encode_once=encode_once).score_ids(INPUTS, OPTIONS)
    want = Scorer(tiny_t5).score_ids([PROMPT_TOKENS + x for x in INPUTS], OPTIONS)
    np.testing.assert_allclose(_logprobs(got), _logprobs(want), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("use_cache", [True, False])
def test_t5_generation_with_prompt_equals_its_tokens(tiny_t5, use_cache):
    prompted = with_prompt(tiny_t5, _embedded(tiny_t5, PROMPT_TOKENS))
    got = Generator(prompted, max_decode_length=6, use_cache=use_cache).generate(INPUTS)
    want = Generator(tiny_t5, max_decode_length=6).generate([PROMPT_TOKENS + x for x in INPUTS])
    assert [g.token_ids for g in got] == [g.token_ids for g in want]
    np.testing.assert_allclose([g.score for g in got], [g.score for g in want], atol=1e-4)


def _prefix_lm_reference(model, prompt_tokens, x, y):
    """log p(y | x) of the full pass over [prompt tokens; 0; x; y[:-1]], all of the prompt,
    the 0 and x in the bidirectional prefix."""
    dec_in = np.array([prompt_tokens + [0] + x + y[:-1]], np.int32)
    prefix = len(prompt_tokens) + 1 + len(x)
    causal = (np.arange(dec_in.shape[1]) < prefix).astype(np.int32)[None]
    logits = DecoderOnly(model.config).apply({"params": model.params}, dec_in,
                                             decoder_causal_attention=causal)
    lp = jax.nn.log_softmax(logits[0].astype(jnp.float32), -1)
    return float(sum(lp[prefix - 1 + j, t] for j, t in enumerate(y)))


@pytest.mark.parametrize("encode_once", [True, False])
def test_prefix_lm_prompt_joins_the_prefix(tiny_decoder_only, encode_once):
    model = tiny_decoder_only
    prompted = with_prompt(model, _embedded(model, PROMPT_TOKENS))
    got = _logprobs(Scorer(prompted, encode_once=encode_once).score_ids(INPUTS, OPTIONS))
    want = [_prefix_lm_reference(model, PROMPT_TOKENS, x, y)
            for x, opts in zip(INPUTS, OPTIONS) for y in opts]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_prefix_lm_generation_with_prompt_runs(tiny_decoder_only):
    prompted = with_prompt(tiny_decoder_only, _embedded(tiny_decoder_only, PROMPT_TOKENS))
    gens = Generator(prompted, max_decode_length=4).generate(INPUTS)
    first = _prefix_lm_reference(tiny_decoder_only, PROMPT_TOKENS, INPUTS[0],
                                 [gens[0].token_ids[0]])
    lp = Generator(prompted, max_decode_length=1).generate(INPUTS[:1])[0].score
    assert np.isclose(first, lp, atol=1e-4)


@pytest.mark.parametrize("family", ["tiny_t5", "tiny_decoder_only"])
@pytest.mark.parametrize("encode_once", [True, False])
def test_no_prompt_and_an_empty_prompt_leave_scores_bitwise_unchanged(request, family,
                                                                         encode_once):
    model = request.getfixturevalue(family)
    plain = _logprobs(Scorer(model, encode_once=encode_once).score_ids(INPUTS, OPTIONS))
    none = dataclasses.replace(model, prompt=None)
    empty = with_prompt(model, np.zeros((0, model.config.d_model), np.float32))
    for other in (none, empty):
        got = _logprobs(Scorer(other, encode_once=encode_once).score_ids(INPUTS, OPTIONS))
        np.testing.assert_array_equal(got, plain)


def test_with_prompt_checks_the_shape(tiny_t5):
    with pytest.raises(ValueError, match="d_model=32"):
        with_prompt(tiny_t5, np.zeros((4, 16), np.float32))
