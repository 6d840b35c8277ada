"""Our T5 v1.1 vs transformers' T5ForConditionalGeneration: import, export, buckets."""
import functools
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import jax  # noqa: E402

from flan_repro.model import hf_import, layers, t5  # noqa: E402
from model_testlib import SMALL, make_enc_dec_batch, our_log_probs, random_params  # noqa: E402

TOL = 1e-4


def build_hf_model(tied, seed: int = 0):
    """A small random HF T5 v1.1 with the requested head.

    tied=False: v1.1 layout (one shared input embedding, separate lm_head, no output scaling).
      transformers 5.x ignores tie_word_embeddings=False in the constructor (it only switches
      output scaling off), so it is also set on the object, which unties everything; the
      per-stack input embeddings are then made equal to `shared` again.
    tied=True: original T5 head (lm_head = shared, outputs scaled by d_model**-0.5).
    tied='unscaled': what the 5.x constructor alone gives for tie_word_embeddings=False (all
      embeddings tied, no scaling).
    """
    cfg = transformers.T5Config(
        vocab_size=SMALL["vocab_size"], d_model=SMALL["d_model"], d_ff=SMALL["d_ff"],
        num_layers=2, num_decoder_layers=3, num_heads=SMALL["num_heads"], d_kv=SMALL["d_kv"],
        feed_forward_proj="gated-gelu", dropout_rate=0.0, tie_word_embeddings=tied is True)
    if tied == "unscaled":  # 5.x constructor default for tie_word_embeddings=False: every
        tied = True           # embedding tied, but no output scaling
    else:
        cfg.tie_word_embeddings = tied
    torch.manual_seed(seed)
    model = transformers.T5ForConditionalGeneration(cfg).eval()
    if not tied:
        with torch.no_grad():
            model.encoder.embed_tokens.weight.copy_(model.shared.weight)
            model.decoder.embed_tokens.weight.copy_(model.shared.weight)
            assert not torch.equal(model.lm_head.weight, model.shared.weight)
    return model


def hf_log_probs(model, batch):
    enc = torch.tensor(batch["encoder_input_tokens"], dtype=torch.long)
    dec_in = torch.tensor(batch["decoder_input_tokens"], dtype=torch.long)
    tgt = torch.tensor(batch["decoder_target_tokens"], dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=enc, attention_mask=(enc > 0).long(), decoder_input_ids=dec_in,
                       decoder_attention_mask=torch.tensor(batch["decoder_loss_weights"]).long()
                       ).logits
    return torch.log_softmax(logits.float(), -1).gather(-1, tgt[..., None])[..., 0].numpy()


def padded_batch(rng):
    # Row 0 full, row 1 padded encoder, row 2 padded encoder and decoder. Lengths > 32 cross
    # the log-spaced bucket boundaries of the relative position bias.
    return make_enc_dec_batch(rng, batch=3, enc_len=40, dec_len=37,
                              enc_lens=[40, 23, 7], dec_lens=[37, 37, 12])


def max_diff(a, b, weights):
    return float(np.max(np.abs(a - b) * weights))


@pytest.mark.parametrize("tied", [False, True, "unscaled"],
                         ids=["untied", "tied", "tied_unscaled"])
def test_import_matches_transformers(tmp_path, tied):
    hf = build_hf_model(tied)
    hf.save_pretrained(tmp_path)
    saved = json.load(open(tmp_path / "config.json"))
    cfg, params = hf_import.load_hf_t5(str(tmp_path))
    # Our tied head always scales; a tied-but-unscaled checkpoint loads as an untied copy.
    assert cfg.tie_word_embeddings == (tied is True), saved
    assert ("logits_dense" in params["decoder"]) == (tied is not True)
    assert (cfg.num_encoder_layers, cfg.num_decoder_layers, cfg.d_ff) == (2, 3, SMALL["d_ff"])
    if tied is False:  # a transformers-4.x config.json (no scale_decoder_outputs) reads the same
        del saved["scale_decoder_outputs"]
        assert hf_import.t5_config_from_hf(saved) == cfg

    batch = padded_batch(np.random.RandomState(1))
    ours = our_log_probs(t5.T5(cfg), params, batch)
    ref = hf_log_probs(hf, batch)
    diff = max_diff(ours, ref, batch["decoder_loss_weights"])
    print(f"\n[hf import, tied={tied}] max |dlogp| = {diff:.3g}")
    assert diff <= TOL


def test_import_pytorch_bin(tmp_path):
    """Legacy pickled checkpoints (pytorch_model.bin) load the same as safetensors."""
    hf = build_hf_model(tied=False, seed=3)
    hf.save_pretrained(tmp_path)
    os.remove(tmp_path / "model.safetensors")
    torch.save({k: v.contiguous() for k, v in hf.state_dict().items()},
               tmp_path / "pytorch_model.bin")
    cfg, params = hf_import.load_hf_t5(str(tmp_path))
    batch = padded_batch(np.random.RandomState(2))
    diff = max_diff(our_log_probs(t5.T5(cfg), params, batch), hf_log_probs(hf, batch),
                    batch["decoder_loss_weights"])
    assert diff <= TOL


@pytest.mark.parametrize("tied", [False, True], ids=["untied", "tied"])
def test_export_roundtrip(tmp_path, tied):
    # Same config and shapes as the import test, so the jitted forward pass is reused.
    cfg = t5.T5Config(**SMALL, num_encoder_layers=2, num_decoder_layers=3, dropout_rate=0.0,
                      tie_word_embeddings=tied)
    params = random_params(cfg, seed=7)
    hf_import.export_hf_t5(params, cfg, str(tmp_path))
    hf = transformers.T5ForConditionalGeneration.from_pretrained(str(tmp_path)).eval()
    assert hf.config.num_decoder_layers == 3
    batch = padded_batch(np.random.RandomState(3))
    diff = max_diff(our_log_probs(t5.T5(cfg), params, batch), hf_log_probs(hf, batch),
                    batch["decoder_loss_weights"])
    print(f'\n[hf export, {"tied" if tied else "untied"}] max |dlogp| = {diff:.3g}')
    assert diff <= TOL
    # ... and importing the export gives back the same parameters.
    cfg2, params2 = hf_import.load_hf_t5(str(tmp_path))
    assert cfg2 == cfg
    jax.tree_util.tree_map(np.testing.assert_array_equal, params2, params)


def test_relative_position_buckets_match_transformers():
    bucket_fn = transformers.models.t5.modeling_t5.T5Attention._relative_position_bucket
    rel = torch.arange(-600, 601)
    for bidirectional in (True, False):
        ref = bucket_fn(rel, bidirectional=bidirectional, num_buckets=32, max_distance=128).numpy()
        lut = layers.relative_position_bucket_table(bidirectional, 32, 128)
        ours = lut[np.clip(rel.numpy(), -128, 128) + 128]
        np.testing.assert_array_equal(ours, ref)


def test_rejects_unsupported_configs(tmp_path):
    with pytest.raises(NotImplementedError):
        hf_import.t5_config_from_hf({"feed_forward_proj": "relu", "vocab_size": 8})
    hf = build_hf_model(tied=False)
    with torch.no_grad():
        hf.encoder.embed_tokens.weight.add_(1.0)
    sd = {k: v.numpy() for k, v in hf.state_dict().items()}
    hf_cfg = hf_import.t5_config_from_hf(hf.config.to_dict())
    # Separate input embeddings must not be folded into a shared one silently ...
    with pytest.raises(ValueError, match="separate_input_embeddings"):
        hf_import.hf_state_dict_to_params(sd, hf_cfg)
    # ... and a scaled head (original T5) whose lm_head is not `shared` has no equivalent.
    sd = {k: v.numpy() for k, v in build_hf_model(tied=False).state_dict().items()}
    with pytest.raises(ValueError, match="scale_decoder_outputs"):
        hf_import.hf_state_dict_to_params(sd, hf_import.t5_config_from_hf(
            {**hf.config.to_dict(), "scale_decoder_outputs": True}))


# ----------------------------------------------------------------------------- separate inputs

# HF module -> our parameter path with separate_input_embeddings
EMBEDDINGS = {"shared": ("token_embedder", "embedding"),
              "encoder.embed_tokens": ("encoder", "token_embedder", "embedding"),
              "decoder.embed_tokens": ("decoder", "token_embedder", "embedding")}


def build_hf_separate_inputs(scaled_head: bool, seed: int = 0):
    """A T5 as fine-tuning in transformers 5 leaves one: three different input matrices.

    tie_word_embeddings=False set on the config object gives `shared`, both `embed_tokens`
    and `lm_head` tensors of their own. Both `embed_tokens` start from `shared` and are moved
    apart separately, as different gradients would. scaled_head=True: the original T5 head
    (decoder outputs scaled by d_model**-0.5, lm_head = shared).
    """
    cfg = transformers.T5Config(
        vocab_size=SMALL["vocab_size"], d_model=SMALL["d_model"], d_ff=SMALL["d_ff"],
        num_layers=2, num_decoder_layers=3, num_heads=SMALL["num_heads"], d_kv=SMALL["d_kv"],
        feed_forward_proj="gated-gelu", dropout_rate=0.0, tie_word_embeddings=scaled_head)
    cfg.tie_word_embeddings = False
    torch.manual_seed(seed)
    model = transformers.T5ForConditionalGeneration(cfg).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for stack in (model.encoder, model.decoder):
            w = stack.embed_tokens.weight
            w.copy_(model.shared.weight + 0.5 * torch.randn(w.shape, generator=g))
        if scaled_head:
            model.lm_head.weight.copy_(model.shared.weight)
    assert model.config.scale_decoder_outputs == scaled_head
    return model


@pytest.fixture(scope="module", params=[False, True], ids=["untied_head", "scaled_head"])
def separate_inputs(request, tmp_path_factory):
    """(transformers model, its save_pretrained folder, scaled_head)."""
    hf = build_hf_separate_inputs(request.param)
    folder = tmp_path_factory.mktemp("hf_separate_inputs")
    hf.save_pretrained(folder)
    return hf, str(folder), request.param


def test_separate_input_embeddings_import(separate_inputs):
    hf, folder, scaled = separate_inputs
    cfg, params = hf_import.load_hf_t5(folder)
    assert cfg.separate_input_embeddings and cfg.tie_word_embeddings == scaled
    for name, path in EMBEDDINGS.items():
        ours = functools.reduce(lambda tree, key: tree[key], path, params)
        np.testing.assert_array_equal(ours, hf.get_submodule(name).weight.detach().numpy(),
                                      err_msg=name)
    batch = padded_batch(np.random.default_rng(4))
    ref, w = hf_log_probs(hf, batch), batch["decoder_loss_weights"]
    model = t5.T5(cfg)
    diff = max_diff(our_log_probs(model, params, batch), ref, w)
    print(f"\n[hf import, separate inputs, scaled={scaled}] max |dlogp| = {diff:.3g}")
    assert diff <= TOL
    # The comparison can fail: both stacks reading `shared` instead is far off.
    wrong = jax.tree_util.tree_map(np.asarray, params)
    for stack in ("encoder", "decoder"):
        wrong[stack]["token_embedder"] = dict(params["token_embedder"])
    assert max_diff(our_log_probs(model, wrong, batch), ref, w) > 100 * TOL


def _hf_target_log_probs(hf, x, y):
    dec_in = torch.tensor([[0] + y[:-1]])
    with torch.no_grad():
        logits = hf(input_ids=torch.tensor([x]), decoder_input_ids=dec_in).logits
    return torch.log_softmax(logits.float(), -1)[0].gather(-1, torch.tensor(y)[:, None])[:, 0]


def test_separate_input_embeddings_score_and_generate(separate_inputs):
    """Through the evaluator (`hf:DIR`): both scoring paths and both decoding paths (the
    model's cached calls and its plain forward pass)."""
    from flan_repro.model.loading import load_checkpoint
    from flan_repro.evaluate.generation import Generator
    from flan_repro.evaluate.scoring import Scorer
    hf, folder, _ = separate_inputs
    model = load_checkpoint(f"hf:{folder}")
    assert model.config.separate_input_embeddings
    rng = np.random.default_rng(5)
    xs = [rng.integers(2, SMALL["vocab_size"], n).tolist() + [1] for n in (9, 30, 4)]
    ys = [rng.integers(2, SMALL["vocab_size"], n).tolist() + [1] for n in (3, 7, 1)]
    refs = [_hf_target_log_probs(hf, x, y).numpy() for x, y in zip(xs, ys)]
    for encode_once in (True, False):
        scores = Scorer(model, encode_once=encode_once).score(xs, ys)
        worst = max(float(np.max(np.abs(s.token_logprobs - r))) for s, r in zip(scores, refs))
        print(f"\n[scorer, separate inputs, encode_once={encode_once}] max |dlogp| = {worst:.3g}")
        assert worst <= TOL
    steps = 8
    # use_cache=False: transformers 5 sizes its decoder cache by num_layers (2), not
    # num_decoder_layers (3), and fails on the third layer.
    with torch.no_grad():
        expected = []
        for x in xs:
            out = hf.generate(torch.tensor([x]), do_sample=False, num_beams=1, max_new_tokens=steps,
                              decoder_start_token_id=0, eos_token_id=1, pad_token_id=0,
                              use_cache=False)[0, 1:].tolist()
            expected.append(out[:out.index(1)] if 1 in out else out)
    for use_cache in (True, False):
        got = Generator(model, max_decode_length=steps, use_cache=use_cache).generate(xs)
        assert [list(g.token_ids) for g in got] == expected, use_cache


def test_separate_input_embeddings_export_roundtrip(separate_inputs, tmp_path):
    hf, folder, scaled = separate_inputs
    cfg, params = hf_import.load_hf_t5(folder)
    hf_import.export_hf_t5(params, cfg, str(tmp_path / "export"))
    back = transformers.T5ForConditionalGeneration.from_pretrained(str(tmp_path / "export")).eval()
    # transformers reads our config.json as the original's ...
    arch = ("vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_decoder_layers",
            "num_heads", "relative_attention_num_buckets", "relative_attention_max_distance",
            "layer_norm_epsilon", "feed_forward_proj", "dense_act_fn", "is_gated_act",
            "scale_decoder_outputs")
    assert {k: getattr(back.config, k) for k in arch} == {k: getattr(hf.config, k) for k in arch}
    # ... keeps the three input matrices apart, each as it was ...
    for name in (*EMBEDDINGS, "lm_head"):
        assert torch.equal(back.get_submodule(name).weight, hf.get_submodule(name).weight), name
    assert back.encoder.embed_tokens.weight is not back.shared.weight
    assert back.decoder.embed_tokens.weight is not back.shared.weight
    # ... and scores as we do.
    batch = padded_batch(np.random.default_rng(6))
    diff = max_diff(our_log_probs(t5.T5(cfg), params, batch), hf_log_probs(back, batch),
                    batch["decoder_loss_weights"])
    print(f"\n[hf export, separate inputs, scaled={scaled}] max |dlogp| = {diff:.3g}")
    assert diff <= TOL
    # What transformers saves of it again imports to the same config and parameters.
    back.save_pretrained(tmp_path / "resaved")
    cfg2, params2 = hf_import.load_hf_t5(str(tmp_path / "resaved"))
    assert cfg2 == cfg
    jax.tree_util.tree_map(np.testing.assert_array_equal, params2, params)
