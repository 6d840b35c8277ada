"""The packer's promises: every example comes back out of the rows exactly once, laid out
as seqio's packing converters lay it out; no token attends across examples (the loss of a
packed batch is the token-weighted mean of the examples' losses); the same examples and
seed give the same batches; at least 90% of the tokens are real on the toy mixture at the
toy lengths (inputs 256 / targets 64)."""
import itertools
from collections import Counter

import jax
import numpy as np
import pytest

from flan_repro.train import input_pipeline, loss, packing

EOS = 1


def random_examples(seed, n, max_inputs, max_targets):
    """(inputs, targets) as Ragged: random tokens >= 2, each sequence ending in EOS."""
    rng = np.random.default_rng(seed)

    def ragged(max_len):
        seqs = [np.r_[rng.integers(2, 60, rng.integers(0, max_len)), EOS]
                for _ in range(n)]
        return packing.Ragged.from_lists(seqs)
    return ragged(max_inputs), ragged(max_targets)


def pairs(inputs, targets):
    return sorted((tuple(inputs[i]), tuple(targets[i])) for i in range(len(inputs)))


def segments(row_segment_ids):
    ids = row_segment_ids[row_segment_ids > 0]
    return list(dict.fromkeys(ids.tolist()))


def unpack_encoder_decoder(rows, sort=True):
    """(inputs, targets) of every segment, checking each segment's own features; in row
    order unless sorted."""
    out = []
    for r in range(len(rows["encoder_input_tokens"])):
        enc_seg, dec_seg = rows["encoder_segment_ids"][r], rows["decoder_segment_ids"][r]
        assert segments(enc_seg) == segments(dec_seg) == list(range(1, len(segments(enc_seg)) + 1))
        for s in segments(enc_seg):
            e, d = enc_seg == s, dec_seg == s
            for mask in (e, d):     # a segment is one contiguous run
                assert np.ptp(np.flatnonzero(mask)) == mask.sum() - 1
            inp, tgt = rows["encoder_input_tokens"][r][e], rows["decoder_target_tokens"][r][d]
            np.testing.assert_array_equal(rows["encoder_positions"][r][e], np.arange(len(inp)))
            np.testing.assert_array_equal(rows["decoder_positions"][r][d], np.arange(len(tgt)))
            np.testing.assert_array_equal(rows["decoder_input_tokens"][r][d], np.r_[0, tgt[:-1]])
            np.testing.assert_array_equal(rows["decoder_loss_weights"][r][d], 1)
            out.append((tuple(inp), tuple(tgt)))
        for key, seg in (("encoder", enc_seg), ("decoder", dec_seg)):
            for k, v in rows.items():
                if k.startswith(key):
                    assert not v[r][seg == 0].any(), f"{k} is not 0 on padding"
    return sorted(out) if sort else out


def unpack_prefix_lm(rows, sort=True):
    out = []
    for r in range(len(rows["decoder_target_tokens"])):
        seg = rows["decoder_segment_ids"][r]
        for s in segments(seg):
            m = seg == s
            seq = rows["decoder_target_tokens"][r][m]
            weights = rows["decoder_loss_weights"][r][m]
            n_in = int((weights == 0).sum())
            np.testing.assert_array_equal(weights, np.arange(len(seq)) >= n_in)
            np.testing.assert_array_equal(rows["decoder_causal_attention"][r][m],
                                          np.arange(len(seq)) <= n_in)
            np.testing.assert_array_equal(rows["decoder_positions"][r][m], np.arange(len(seq)))
            np.testing.assert_array_equal(rows["decoder_input_tokens"][r][m], np.r_[0, seq[:-1]])
            out.append((tuple(seq[:n_in]), tuple(seq[n_in:])))
        for k, v in rows.items():
            assert not v[r][seg == 0].any(), f"{k} is not 0 on padding"
    return sorted(out) if sort else out


def test_unpacking_encoder_decoder_rows_gives_back_every_example_once():
    inputs, targets = random_examples(0, 500, 40, 12)
    rows = packing.pack_window(inputs, targets, "encoder_decoder", (64, 16))
    assert {v.dtype for v in rows.values()} == {np.dtype(np.int32)}
    assert rows["encoder_input_tokens"].shape[1:] == (64,)
    assert rows["decoder_target_tokens"].shape[1:] == (16,)
    assert unpack_encoder_decoder(rows) == pairs(inputs, targets)


def test_unpacking_prefix_lm_rows_gives_back_every_example_once():
    inputs, targets = random_examples(1, 500, 40, 12)
    rows = packing.pack_window(inputs, targets, "prefix_lm", (40, 12))
    assert rows["decoder_target_tokens"].shape[1:] == (52,)
    assert unpack_prefix_lm(rows) == pairs(inputs, targets)


def test_rows_are_full_where_the_lengths_allow():
    # 1-d: sizes 3..7 tokens into rows of 10 fill every row but the last ones
    sizes = np.tile([3, 7, 4, 6, 5, 5], 20)
    rows = packing.fill_rows(sizes[:, None], [10])
    assert rows.max() + 1 == 60
    # 2-d: target-heavy and input-heavy examples pair up instead of stacking
    sizes = np.array([[2, 6], [8, 2]] * 30)
    rows = packing.fill_rows(sizes, [10, 8])
    assert rows.max() + 1 == 30


def test_too_long_example_is_an_error():
    with pytest.raises(ValueError, match="trim examples"):
        packing.fill_rows(np.array([[5, 9]]), [8, 8])


def next_fit(sizes, capacity):
    """seqio's packer: a row closes as soon as the next example does not fit."""
    row_of, room, row = [], np.array(capacity), 0
    for size in sizes:
        if np.any(size > room):
            row, room = row + 1, np.array(capacity)
        row_of.append(row)
        room = room - size
    return np.array(row_of)


def seqio_packed(converter, inputs, targets, lengths):
    import seqio  # noqa: F401  (imports TensorFlow)
    import tensorflow as tf
    spec = tf.TensorSpec([None], tf.int32)
    ds = tf.data.Dataset.from_generator(
        lambda: ({"inputs": inputs[i], "targets": targets[i]} for i in range(len(inputs))),
        output_signature={"inputs": spec, "targets": spec})
    out = list(converter(ds, {"inputs": lengths[0], "targets": lengths[1]}).as_numpy_iterator())
    return {k: np.stack([o[k] for o in out]) for k in out[0]}


def test_layout_matches_seqio_encoder_decoder_converter():
    import seqio
    inputs, targets = random_examples(2, 20, 14, 6)
    want = seqio_packed(seqio.EncDecFeatureConverter(pack=True), inputs, targets, (32, 8))
    row_of = next_fit(np.stack([inputs.lengths, targets.lengths], 1), (32, 8))
    got = packing.encoder_decoder_rows(inputs, targets, row_of, (32, 8))
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
        assert got[k].dtype == want[k].dtype, k


def test_layout_matches_seqio_prefix_lm_converter():
    import seqio
    inputs, targets = random_examples(3, 20, 14, 6)
    want = seqio_packed(seqio.PrefixLMFeatureConverter(pack=True), inputs, targets, (24, 8))
    row_of = next_fit((inputs.lengths + targets.lengths)[:, None], (32,))
    got = packing.prefix_lm_rows(inputs, targets, row_of, 32)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
        assert got[k].dtype == want[k].dtype, k


def unpacked(inputs, targets, lengths):
    """One example a row, padded, as EncDecFeatureConverter(pack=False) lays it out."""
    n = len(inputs)
    batch = {"encoder_input_tokens": np.zeros((n, lengths[0]), np.int32),
             "decoder_target_tokens": np.zeros((n, lengths[1]), np.int32),
             "decoder_input_tokens": np.zeros((n, lengths[1]), np.int32)}
    for i in range(n):
        inp, tgt = inputs[i], targets[i]
        batch["encoder_input_tokens"][i, :len(inp)] = inp
        batch["decoder_target_tokens"][i, :len(tgt)] = tgt
        batch["decoder_input_tokens"][i, 1:len(tgt)] = tgt[:-1]
    batch["decoder_loss_weights"] = (batch["decoder_target_tokens"] > 0).astype(np.int32)
    return batch


def example_nll_sums(logits, batch, segment_ids):
    """Summed target NLL of each (row, segment), in row-major segment order."""
    nll = np.asarray(loss.token_nll(logits, batch["decoder_target_tokens"]))
    weights = batch["decoder_loss_weights"]
    return np.array([(nll[r] * weights[r])[segment_ids[r] == s].sum()
                     for r in range(len(nll)) for s in segments(segment_ids[r])])


def example_order(unpacked_pairs_in_row_order, inputs, targets):
    """Index of the example in each (row, segment) of the packed rows."""
    order = []
    for pair in unpacked_pairs_in_row_order:
        order.append(next(i for i in range(len(inputs)) if i not in order
                          and (tuple(inputs[i]), tuple(targets[i])) == pair))
    return order


def logits_of(model, *batches):
    """The model's logits on each batch, with random parameters (nothing initialised or
    compiled beyond one forward pass per batch shape)."""
    from flax import linen as nn
    shapes = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), **batches[0]))
    rng = np.random.default_rng(0)
    params = jax.tree.map(lambda a: (0.5 * rng.normal(size=a.shape)).astype(np.float32),
                          nn.meta.unbox(shapes["params"]))
    forward = jax.jit(lambda p, b: model.apply({"params": p}, **b))
    return [forward(params, b) for b in batches]


def check_packed_loss(model_type, model, inputs, targets, rows, alone, alone_segment_ids):
    unpack = unpack_encoder_decoder if model_type == "encoder_decoder" else unpack_prefix_lm
    order = example_order(unpack(rows, sort=False), inputs, targets)
    packed_logits, alone_logits = logits_of(model, rows, alone)
    per_example = example_nll_sums(alone_logits, alone, alone_segment_ids)
    # each example's loss is what it is alone in a row: nothing attends across segments
    np.testing.assert_allclose(example_nll_sums(packed_logits, rows, rows["decoder_segment_ids"]),
                               per_example[order], rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(
        float(loss.mean_token_loss(packed_logits, rows["decoder_target_tokens"],
                                   rows["decoder_loss_weights"])),
        per_example.sum() / targets.lengths.sum(), rtol=2e-5)


def test_packed_loss_is_token_weighted_mean_of_example_losses_t5():
    from flan_repro.model import t5
    cfg = t5.T5Config(vocab_size=64, d_model=16, d_kv=8, num_heads=2, d_ff=32,
                      num_encoder_layers=1, num_decoder_layers=1, dropout_rate=0.0)
    inputs, targets = random_examples(4, 12, 20, 6)
    rows = packing.pack_window(inputs, targets, "encoder_decoder", (48, 12))
    assert len(rows["encoder_input_tokens"]) < len(inputs)      # really packed
    alone = unpacked(inputs, targets, (48, 12))
    check_packed_loss("encoder_decoder", t5.T5(cfg), inputs, targets, rows, alone,
                      alone["decoder_loss_weights"])


def test_packed_loss_is_token_weighted_mean_of_example_losses_prefix_lm():
    from flan_repro.model import decoder_only
    cfg = decoder_only.DecoderOnlyConfig(vocab_size=64, d_model=16, d_kv=8, num_heads=2,
                                         d_ff=32, num_layers=1, dropout_rate=0.0)
    inputs, targets = random_examples(5, 12, 20, 6)
    rows = packing.pack_window(inputs, targets, "prefix_lm", (20, 6))
    assert len(rows["decoder_target_tokens"]) < len(inputs)
    alone = [decoder_only.prefix_lm_features(inputs[i], targets[i], 26) for i in range(12)]
    alone = {k: np.stack([a[k] for a in alone]) for k in alone[0]}
    check_packed_loss("prefix_lm", decoder_only.DecoderOnly(cfg), inputs, targets, rows, alone,
                      alone["decoder_segment_ids"])


def test_same_examples_and_seed_give_the_same_batches():
    windows = [random_examples(10 + w, 300, 40, 12) for w in range(3)]

    def run(seed):
        return list(packing.packed_batches(windows, "encoder_decoder", (64, 16), 8, seed))
    a, b, c = run(0), run(0), run(1)
    assert len(a) == len(b) == len(c) > 0
    for x, y in zip(a, b):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    assert any(not np.array_equal(x["encoder_input_tokens"], y["encoder_input_tokens"])
               for x, y in zip(a, c))
    # every row of the windows is in a batch, except at most a final partial batch
    rows = [packing.pack_window(*w, "encoder_decoder", (64, 16)) for w in windows]
    total = sum(len(r["encoder_input_tokens"]) for r in rows)
    assert len(a) == total // 8
    seen = Counter(unpack_encoder_decoder({k: np.concatenate([x[k] for x in a]) for k in a[0]}))
    everything = Counter(p for w in windows for p in pairs(*w))
    assert not seen - everything                 # nothing duplicated or made up
    # and nothing lost but the rows of that partial batch (at most 16 examples a row)
    assert everything.total() - seen.total() < 8 * 16


def test_cache_key_changes_with_the_packer(monkeypatch):
    cfg = input_pipeline.DataConfig(mixture="m")
    key = input_pipeline.cache_key(cfg, 10)
    assert input_pipeline.cache_key(input_pipeline.DataConfig(mixture="m", packer="seqio"),
                                    10) != key
    monkeypatch.setattr(packing, "VERSION", packing.VERSION + 1)
    assert input_pipeline.cache_key(cfg, 10) != key
    with pytest.raises(ValueError, match="best_fit"):
        input_pipeline.DataConfig(mixture="m", packer="greedy")


@pytest.fixture(scope="module")
def toy_mixture_examples():
    """The toy NLI-held-out training mixture's examples at 256/64, rendered and tokenized
    as its seqio tasks do (mixing rates are equal on the toy source, so the mixture
    draws from this union evenly)."""
    from flan_repro.catalogue import load
    from flan_repro.registry import RegistryConfig
    from flan_repro.registry import examples as ex_lib
    cfg = RegistryConfig(toy_train_size=40, toy_eval_size=4)
    records = [r for entry in load().train_datasets("nli")
               for r in ex_lib.render_split(cfg, entry, "train")]
    sp = cfg.vocab.tokenizer

    def feature(key, length):   # seqio's tokenize + append_eos_after_trim
        return packing.Ragged.from_lists(
            [ids[:length - 1] + [EOS] for ids in sp.EncodeAsIds([r[key] for r in records])])
    return feature("inputs", 256), feature("targets", 64)


def test_ninety_percent_of_tokens_are_real_on_the_toy_mixture(toy_mixture_examples):
    inputs, targets = toy_mixture_examples
    assert len(inputs) > 1500
    rows = packing.pack_window(inputs, targets, "encoder_decoder", (256, 64))
    real = ((rows["encoder_input_tokens"] != 0).sum() + (rows["decoder_target_tokens"] != 0).sum())
    efficiency = real / (rows["encoder_input_tokens"].size + rows["decoder_target_tokens"].size)
    seqio_rows = next_fit(np.stack([inputs.lengths, targets.lengths], 1), (256, 64)).max() + 1
    seqio_efficiency = real / (seqio_rows * (256 + 64))
    assert efficiency >= 0.9, (efficiency, seqio_efficiency)
    assert seqio_efficiency < 0.75
    assert unpack_encoder_decoder(rows) == pairs(inputs, targets)


@pytest.fixture
def snli_task():
    from flan_repro.registry import configure, current
    from flan_repro.registry.tasks import ensure_task
    saved = current()
    configure(toy_train_size=40, toy_eval_size=4)
    yield ensure_task("snli")
    configure(**{f: getattr(saved, f) for f in saved.__dataclass_fields__})


def test_stream_is_deterministic_and_shaped_like_seqio_packing(snli_task):
    cfg = input_pipeline.DataConfig(mixture=snli_task, inputs_length=64, targets_length=16,
                                    batch_size=4, packing_window=128)
    a, b = (list(itertools.islice(input_pipeline.stream(cfg, start_step=1), 3)) for _ in "ab")
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    theirs = next(input_pipeline.dataset(
        input_pipeline.DataConfig(mixture=snli_task, inputs_length=64, targets_length=16,
                                  batch_size=4, packer="seqio")).as_numpy_iterator())
    assert {k: (v.dtype, v.shape) for k, v in a[0].items()} == \
        {k: (v.dtype, v.shape) for k, v in theirs.items()}


def test_each_shard_packs_its_own_examples(snli_task):
    def examples(index):
        cfg = input_pipeline.DataConfig(mixture=snli_task, inputs_length=64,
                                        targets_length=16, shard_index=index, num_shards=2)
        windows = input_pipeline.example_windows(cfg, num_epochs=1, shuffle=False)
        return [p for w in windows for p in pairs(*w)]
    first, second = examples(0), examples(1)
    assert first and second and not set(first) & set(second)


@pytest.mark.parametrize("pack, packer", [(False, "seqio"), (True, "seqio"), (True, "best_fit")])
def test_stream_resumes_at_the_same_batch(snli_task, pack, packer):
    """Resuming at step 2 serves exactly batches 2, 3, ... of an uninterrupted run,
    whether the skip happens in tf.data (seqio) or after packing (best_fit)."""
    cfg = input_pipeline.DataConfig(mixture=snli_task, inputs_length=64, targets_length=16,
                                    batch_size=4, pack=pack, packer=packer, packing_window=128)
    full = list(itertools.islice(input_pipeline.batches(cfg), 5))
    resumed = list(itertools.islice(input_pipeline.stream(cfg, start_step=2), 3))
    for x, y in zip(full[2:], resumed, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])


@pytest.mark.parametrize("verbose", [False, True])
def test_stream_start_drops_sentencepiece_kernel_logs_unless_verbose(
        snli_task, capfd, monkeypatch, verbose):
    """Each tf.text SentencePiece kernel logs `precompiled_charsmap is empty` as a new
    pipeline builds its first batch (the toy vocabulary normalizes nothing), ~100 lines
    per training mixture; the library's own log level cannot be set from Python."""
    from flan_repro import logs
    if verbose:
        monkeypatch.setenv(logs.VERBOSE_ENV, "1")
    else:
        monkeypatch.delenv(logs.VERBOSE_ENV, raising=False)
    cfg = input_pipeline.DataConfig(mixture=snli_task, inputs_length=64, targets_length=16,
                                    batch_size=4, packing_window=128)
    assert len(list(itertools.islice(input_pipeline.stream(cfg), 2))) == 2
    assert ("precompiled_charsmap is empty" in capfd.readouterr().err) == verbose
