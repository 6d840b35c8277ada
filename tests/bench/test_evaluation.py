"""Smoke test of the evaluator benchmarks at tiny sizes: documented keys, finite positive
numbers, and the same log-probs on every side (speed is reported, never asserted)."""
import math

import pytest

from flan_repro.bench import command
from flan_repro.bench import evaluation as bench

# one batch of 4 examples x 4 options (16 option rows, 8-token bucket), inputs in the
# 32-token bucket: the padded shapes of tests/evaluate/test_eval_scoring.py's problems, so
# a session running both files compiles them once
TINY_RUN = dict(option_counts=(4,), num_examples=4, option_length=3, batch_size=4, repeats=1)
T5_INPUT, PREFIX_LM_INPUT = 32, 31        # [0; input] fills the 32 bucket


def _positive(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def _torch_importable():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def results(tiny_t5, tiny_decoder_only):
    return {"bench_rank_classification": bench.bench_rank_classification(
                *tiny_t5, **TINY_RUN, input_length=T5_INPUT),
            "bench_prefix_lm_rank_classification": bench.bench_prefix_lm_rank_classification(
                *tiny_decoder_only, **TINY_RUN, input_length=PREFIX_LM_INPUT)}


def test_rank_classification_sides_agree(results):
    r = results["bench_rank_classification"]
    assert [row["options"] for row in r["results"]] == [4]
    with_torch = _torch_importable()
    for row in r["results"]:
        for key in ("encode_once_examples_per_s", "reencode_examples_per_s", "speedup"):
            assert _positive(row[key]), key
        assert row["max_abs_logprob_diff"] < 1e-3
        if with_torch:
            assert _positive(row["torch_examples_per_s"]) and _positive(row["ours_over_torch"])
            assert row["max_abs_logprob_diff_torch"] < 1e-3
    assert ("threads" in r["torch"]) == with_torch
    assert ("note" in r["torch"]) != with_torch


def test_prefix_lm_rank_classification(results):
    r = results["bench_prefix_lm_rank_classification"]
    assert r["model"]["num_layers"] == 2
    for row in r["results"]:
        for key in ("prefix_reuse_examples_per_s", "per_pair_examples_per_s", "speedup"):
            assert _positive(row[key]), key
        assert row["max_abs_logprob_diff"] < 1e-3


def test_torch_side_can_be_switched_off(tiny_t5):
    r = bench.bench_rank_classification(*tiny_t5, **TINY_RUN, input_length=T5_INPUT,
                                        torch_side=False)
    assert "torch_examples_per_s" not in r["results"][0] and "note" in r["torch"]


def test_report_renders_the_rows(results):
    text = command.format_report({"evaluation": results})
    assert "torch once" in text and "ours/torch" in text
    assert "decoder-only prefix LM" in text and "4 options" in text
