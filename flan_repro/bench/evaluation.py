"""Evaluator micro-benchmarks: pure functions returning dicts (wired into `make bench`).

  bench_rank_classification  examples/s of rank classification with the encoder run
                             once per example (ours) vs once per option (what
                             lm-evaluation-harness does for seq2seq models, with the
                             flax model), and vs HF transformers' PyTorch
                             T5ForConditionalGeneration with OUR weights scoring the
                             same encode-once way, at 2, 3, 4 and 8 options, same data,
                             same example batches
  bench_prefix_lm_rank_classification
                             the decoder-only counterpart: the input prefix run once per
                             example and its keys/values reused by every option, vs one
                             full [input; option] pass per pair
  bench_generation           greedy-decoding tokens/s with and without the KV cache

All use random token ids (no vocabulary, no data files) and, by default, the toy
profile's model shapes with random parameters: T5 v1.1 tiny (d_model 128, d_ff 256, 2+2
layers, 4 heads, d_kv 32, vocab 2176) and its decoder-only twin (4 layers,
gin/model/decoder_only_tiny.gin, with the same vocabulary). Compilation is excluded:
every side runs once before it is timed; the sides then run interleaved, alternating
their order, `repeats` times, and the best time of each is reported (machine load hits
all sides alike).

The PyTorch side (`torch_side=True`, skipped with a note when torch / transformers are
missing) gets our parameters through `hf_import.params_to_hf_state_dict`, so its log-probs
must match ours to float rounding (`max_abs_logprob_diff_torch`), which also proves the
weights are the same. Per batch of examples it runs the encoder once, index-selects the
encoder outputs per option row, runs the decoder over all option rows with teacher
forcing and sums the per-token log-softmax at the targets, under `torch.inference_mode()`.
It uses exact shapes (eager PyTorch has nothing to recompile); ours pads rows and lengths
to powers of two. Threads: torch's default intra-op thread count or 1, whichever scores
the first problem faster (OpenMP's spin-waiting makes 2 threads several times slower
than 1 on a loaded shared CPU at these sizes); the baseline gets its better setting, and
the choice is reported.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, Sequence

import numpy as np


def toy_config():
    from flan_repro.model.t5 import T5Config
    return T5Config(vocab_size=2176, d_model=128, d_ff=256, num_encoder_layers=2,
                    num_decoder_layers=2, num_heads=4, d_kv=32, dropout_rate=0.0)


def toy_decoder_only_config():
    from flan_repro.model.decoder_only import DecoderOnlyConfig
    return DecoderOnlyConfig(vocab_size=2176, d_model=128, d_ff=256, num_layers=4,
                             num_heads=4, d_kv=32, dropout_rate=0.0)


def _params(config, params, seed):
    if params is not None:
        return params
    import jax
    from flan_repro.model.loading import model_type
    from flan_repro.model import decoder_only, t5
    init = decoder_only.init_params if model_type(config) == "prefix_lm" else t5.init_params
    return init(config, jax.random.PRNGKey(seed))


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _interleaved_best(sides: Dict[str, Callable[[], object]], repeats: int) -> Dict[str, float]:
    """Best wall time of each side over `repeats` rounds, alternating the side order."""
    for fn in sides.values():
        fn()                                     # compile + warm up
    names = list(sides)
    best = {name: float("inf") for name in names}
    for r in range(max(1, repeats)):
        for name in (names if r % 2 == 0 else names[::-1]):
            best[name] = min(best[name], _seconds(sides[name]))
    return best


def _problem(rng, vocab_size, num_examples, input_length, num_options, option_length):
    """Random inputs and options (EOS-terminated token ids), all of the given lengths."""
    xs = [list(rng.randint(2, vocab_size, input_length - 1)) + [1] for _ in range(num_examples)]
    ys = [[list(rng.randint(2, vocab_size, option_length - 1)) + [1] for _ in range(num_options)]
          for _ in range(num_examples)]
    return xs, ys


def _max_diff(a, b) -> float:
    return max(abs(float(p) - float(q)) for ra, rb in zip(a, b) for p, q in zip(ra, rb))


def _sums(scores) -> list[list[float]]:
    return [[o.logprob for o in row] for row in scores]


def _scorers(config, params, n, batch_size, input_length):
    """(reuse, per-pair) Scorers. The per-pair rows are rounded up to the power-of-two row
    bucket and filled with further pairs, so that baseline pays no row padding."""
    from flan_repro.evaluate.scoring import Scorer, bucket
    once = Scorer((config, params), batch_size=batch_size, max_rows=batch_size * n,
                  max_input_length=input_length)
    pairs = Scorer((config, params), batch_size=batch_size, max_rows=bucket(batch_size * n),
                   max_input_length=input_length, encode_once=False)
    return once, pairs


def bench_rank_classification(config=None, params=None, *,
                              option_counts: Sequence[int] = (2, 3, 4, 8),
                              num_examples: int = 16, input_length: int = 256,
                              option_length: int = 8, batch_size: int = 8, repeats: int = 3,
                              seed: int = 0, torch_side: bool = True) -> dict:
    """Examples/s scoring `num_examples` inputs of `input_length` tokens against n options
    of `option_length` tokens (EOS included): encode-once vs re-encode vs PyTorch, per n."""
    config = config or toy_config()
    params = _params(config, params, seed)
    rng = np.random.RandomState(seed)
    ref, torch_note = None, None
    if torch_side:
        try:
            ref = TorchEncodeOnce(config, params)
        except ImportError as e:
            torch_note = f"skipped: torch / transformers not importable ({e})"
    else:
        torch_note = "skipped (torch_side=False)"
    try:
        rows = [_rank_classification_row(config, params, ref, rng, n, num_examples,
                                         input_length, option_length, batch_size, repeats)
                for n in option_counts]
    finally:
        if ref is not None:
            ref.restore_threads()
    out = {"model": _describe(config), "num_examples": num_examples,
           "input_length": input_length, "option_length": option_length,
           "batch_size": batch_size, "repeats": repeats, "results": rows}
    out["torch"] = ref.describe() if ref is not None else {"note": torch_note}
    return out


def _rank_classification_row(config, params, ref, rng, n, num_examples, input_length,
                             option_length, batch_size, repeats) -> dict:
    xs, ys = _problem(rng, config.vocab_size, num_examples, input_length, n, option_length)
    once, pairs = _scorers(config, params, n, batch_size, input_length)
    got = {}
    sides = {"once": lambda: got.__setitem__("once", _sums(once.score_ids(xs, ys))),
             "re": lambda: got.__setitem__("re", _sums(pairs.score_ids(xs, ys)))}
    if ref is not None:
        if ref.threads is None:
            ref.pick_threads(xs, ys, batch_size)
        sides["torch"] = lambda: got.__setitem__("torch", ref.score(xs, ys, batch_size))
    t = _interleaved_best(sides, repeats)
    row = {"options": n, "encode_once_examples_per_s": num_examples / t["once"],
           "reencode_examples_per_s": num_examples / t["re"], "speedup": t["re"] / t["once"],
           "max_abs_logprob_diff": _max_diff(got["once"], got["re"])}
    if ref is not None:
        row.update(torch_examples_per_s=num_examples / t["torch"],
                   ours_over_torch=t["torch"] / t["once"],
                   max_abs_logprob_diff_torch=_max_diff(got["once"], got["torch"]))
    return row


def bench_prefix_lm_rank_classification(config=None, params=None, *,
                                        option_counts: Sequence[int] = (2, 4, 8),
                                        num_examples: int = 16, input_length: int = 248,
                                        option_length: int = 8, batch_size: int = 8,
                                        repeats: int = 3, seed: int = 0) -> dict:
    """Decoder-only rank classification, examples/s: the input prefix run once per example
    (keys/values reused by every option) vs one full pass per (input, option) pair.
    Default lengths: [input; option] = 248 + 8 fills the per-pair path's 256 bucket and the
    prefix [0; input] (249) the reuse path's, so neither side pays for a half-empty bucket."""
    config = config or toy_decoder_only_config()
    params = _params(config, params, seed)
    rng = np.random.RandomState(seed)
    rows = []
    for n in option_counts:
        xs, ys = _problem(rng, config.vocab_size, num_examples, input_length, n, option_length)
        reuse, pairs = _scorers(config, params, n, batch_size, input_length)
        got = {}
        t = _interleaved_best(
            {"reuse": lambda: got.__setitem__("reuse", _sums(reuse.score_ids(xs, ys))),
             "pairs": lambda: got.__setitem__("pairs", _sums(pairs.score_ids(xs, ys)))},
            repeats)
        rows.append({"options": n, "prefix_reuse_examples_per_s": num_examples / t["reuse"],
                     "per_pair_examples_per_s": num_examples / t["pairs"],
                     "speedup": t["pairs"] / t["reuse"],
                     "max_abs_logprob_diff": _max_diff(got["reuse"], got["pairs"])})
    return {"model": _describe(config), "num_examples": num_examples,
            "input_length": input_length, "option_length": option_length,
            "batch_size": batch_size, "repeats": repeats, "results": rows}


class TorchEncodeOnce:
    """HF transformers' PyTorch T5ForConditionalGeneration holding our T5 parameters,
    scoring options the encode-once way (see the module docstring)."""

    def __init__(self, config, params):
        import torch
        import transformers
        from flan_repro.model import hf_import
        hf = transformers.T5Config(**hf_import.hf_config_from_t5(config))
        # transformers 5.x ignores tie_word_embeddings=False in the constructor (it only
        # switches output scaling off); set on the object it unties the lm_head, and the
        # input embeddings with it, which are loaded from `shared` below (or their own
        # matrices with separate_input_embeddings, which must not be tied either).
        hf.tie_word_embeddings = config.tie_word_embeddings and \
            not config.separate_input_embeddings
        model = transformers.T5ForConditionalGeneration(hf).eval()
        sd = hf_import.params_to_hf_state_dict(params, config)
        for name in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight",
                     "lm_head.weight"):
            sd.setdefault(name, sd["shared.weight"])
        model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
        self.torch, self.model = torch, model
        self.default_threads = torch.get_num_threads()
        self.threads, self.thread_times = None, {}

    def pick_threads(self, xs, ys, batch_size: int, repeats: int = 2) -> int:
        """Sets (process-wide, until `restore_threads`) the faster of torch's default
        intra-op thread count and 1, timed on this problem."""
        for n in dict.fromkeys((self.default_threads, 1)):
            self.torch.set_num_threads(n)
            self.score(xs, ys, batch_size)                       # warm up
            self.thread_times[n] = min(_seconds(lambda: self.score(xs, ys, batch_size))
                                       for _ in range(repeats))
        self.threads = min(self.thread_times, key=self.thread_times.get)
        self.torch.set_num_threads(self.threads)
        return self.threads

    def restore_threads(self) -> None:
        self.torch.set_num_threads(self.default_threads)

    def describe(self) -> dict:
        import transformers
        return {"model": "transformers.T5ForConditionalGeneration (eager, inference_mode)",
                "torch": self.torch.__version__, "transformers": transformers.__version__,
                "threads": self.threads, "default_threads": self.default_threads,
                "threads_tried_s": {str(k): v for k, v in self.thread_times.items()},
                "attn_implementation": getattr(self.model.config, "_attn_implementation", None)}

    def score(self, xs, ys, batch_size: int) -> list[list[float]]:
        """Summed option log-probs, `batch_size` examples per encoder call, in input order."""
        torch = self.torch
        out = []
        with torch.inference_mode():
            for s in range(0, len(xs), batch_size):
                bx, by = xs[s:s + batch_size], ys[s:s + batch_size]
                inputs = np.zeros((len(bx), max(map(len, bx))), np.int64)
                mask = np.zeros(inputs.shape, np.int64)
                for r, x in enumerate(bx):
                    inputs[r, :len(x)] = x
                    mask[r, :len(x)] = 1
                rows = [(r, t) for r, opts in enumerate(by) for t in opts]
                lt = max(len(t) for _, t in rows)
                ex_index = np.array([r for r, _ in rows], np.int64)
                dec_in, targets = np.zeros((len(rows), lt), np.int64), np.zeros((len(rows), lt),
                                                                                 np.int64)
                weights = np.zeros((len(rows), lt), np.float32)
                for i, (_, t) in enumerate(rows):
                    targets[i, :len(t)] = t
                    dec_in[i, 1:len(t)] = t[:-1]
                    weights[i, :len(t)] = 1.0
                inputs, mask = torch.from_numpy(inputs), torch.from_numpy(mask)
                ex_index = torch.from_numpy(ex_index)
                encoded = self.model.encoder(input_ids=inputs, attention_mask=mask)[0]
                logits = self.model(encoder_outputs=(encoded.index_select(0, ex_index),),
                                    attention_mask=mask.index_select(0, ex_index),
                                    decoder_input_ids=torch.from_numpy(dec_in),
                                    use_cache=False).logits
                lp = torch.log_softmax(logits.float(), -1).gather(
                    -1, torch.from_numpy(targets)[..., None])[..., 0]
                sums = (lp * torch.from_numpy(weights)).sum(-1).tolist()
                k = 0
                for opts in by:
                    out.append(sums[k:k + len(opts)])
                    k += len(opts)
        return out


def bench_generation(config=None, params=None, *, batch_size: int = 8, input_length: int = 128,
                     max_decode_length: int = 64, repeats: int = 3, seed: int = 0) -> dict:
    """Greedy tokens/s (batch_size * max_decode_length tokens; EOS never stops a row)."""
    from flan_repro.evaluate.generation import greedy_decode
    config = config or toy_config()
    params = _params(config, params, seed)
    rng = np.random.RandomState(seed)
    inputs = rng.randint(2, config.vocab_size, (batch_size, input_length)).astype(np.int32)
    lengths = np.full((batch_size,), input_length, np.int32)
    got = {}

    def run(use_cache):
        got[use_cache] = greedy_decode(config, params, inputs, lengths,
                                       max_decode_length=max_decode_length,
                                       use_cache=use_cache, eos_id=-1)

    t = _interleaved_best({"cache": lambda: run(True), "plain": lambda: run(False)}, repeats)
    tokens = batch_size * max_decode_length
    return {"model": _describe(config), "batch_size": batch_size, "input_length": input_length,
            "max_decode_length": max_decode_length,
            "cached_tokens_per_s": tokens / t["cache"],
            "uncached_tokens_per_s": tokens / t["plain"],
            "speedup": t["plain"] / t["cache"],
            "identical_tokens": bool(np.array_equal(got[True][0], got[False][0]))}


def _describe(config) -> dict:
    import dataclasses
    return {k: v for k, v in dataclasses.asdict(config).items()
            if k not in ("dropout_rate", "layer_norm_epsilon")}
