"""`flan-repro export`: one of our model dirs becomes a HuggingFace T5 folder that
transformers scores like our model; float32 or bfloat16 tensors; mistakes are one
`error:` line and exit code 2, and a non-empty --out is never overwritten unasked."""
import json

import numpy as np
import pytest

from flan_repro.cli import main

TOL = 1e-4


@pytest.fixture(scope="module")
def t5_run(tmp_path_factory, tiny_t5, write_model_dir):
    """A toy T5 v1.1 model dir (untied head), as `flan-repro ablation` trains."""
    config, params = tiny_t5
    return write_model_dir(tmp_path_factory.mktemp("export") / "run", config, params,
                           "T5Config"), config, params


def _log_probs_ours(config, params, enc, dec_in, tgt):
    from flan_repro.model import layers, t5
    logits = t5.T5(config).apply({"params": params}, enc, dec_in)
    return np.asarray(layers.token_log_probs(logits, tgt))


def test_export_float32_matches_transformers(t5_run, tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    run, config, params = t5_run
    out = tmp_path / "exported"
    assert main(["export", "--checkpoint", str(run), "--out", str(out)]) == 0
    hf = transformers.T5ForConditionalGeneration.from_pretrained(str(out)).eval()
    assert not hf.config.scale_decoder_outputs    # v1.1: untied head, unscaled outputs
    rng = np.random.default_rng(0)
    enc = rng.integers(2, config.vocab_size, (2, 21)).astype(np.int32)
    tgt = rng.integers(2, config.vocab_size, (2, 9)).astype(np.int32)
    dec_in = np.concatenate([np.zeros((2, 1), np.int32), tgt[:, :-1]], axis=1)
    with torch.no_grad():
        logits = hf(input_ids=torch.tensor(enc, dtype=torch.long),
                    decoder_input_ids=torch.tensor(dec_in, dtype=torch.long)).logits
    ref = torch.log_softmax(logits.float(), -1).gather(
        -1, torch.tensor(tgt, dtype=torch.long)[..., None])[..., 0].numpy()
    diff = float(np.max(np.abs(_log_probs_ours(config, params, enc, dec_in, tgt) - ref)))
    print(f"\n[export vs transformers] max |dlogp| = {diff:.3g}")
    assert diff <= TOL


def test_export_bfloat16_writes_bf16_tensors(t5_run, tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    import ml_dtypes
    from flan_repro.model.hf_import import read_safetensors
    run, config, params = t5_run
    out = tmp_path / "bf16"
    assert main(["export", "--checkpoint", str(run), "--out", str(out),
                 "--dtype", "bfloat16"]) == 0
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    tensors = read_safetensors(str(out / "model.safetensors"))
    assert tensors and {a.dtype for a in tensors.values()} == {np.dtype(ml_dtypes.bfloat16)}
    np.testing.assert_array_equal(tensors["shared.weight"],
                                  np.asarray(params["token_embedder"]["embedding"],
                                             ml_dtypes.bfloat16))
    hf = transformers.T5ForConditionalGeneration.from_pretrained(str(out))
    assert hf.lm_head.weight.dtype == torch.bfloat16     # the config's dtype is read back


def test_export_mistakes_are_one_line_errors(t5_run, tmp_path, capsys, tiny_decoder_only,
                                            write_model_dir):
    run, _, _ = t5_run

    def fails(*argv, match):
        assert main(["export", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and err.count("\n") == 1 and match in err, err

    out = tmp_path / "out"
    fails("--checkpoint", str(tmp_path / "no_such_run"), "--out", str(out), match="no_such_run")
    fails("--checkpoint", str(run), "--out", str(out), "--dtype", "float16",
          match="float32, bfloat16")
    fails("--checkpoint", str(run), "--out", str(run), "--overwrite", match="is the checkpoint")
    lm = write_model_dir(tmp_path / "lm", *tiny_decoder_only, "DecoderOnlyConfig")
    fails("--checkpoint", str(lm), "--out", str(out), match="decoder-only")
    assert not out.exists()
    # A non-empty --out is kept as it is unless --overwrite says otherwise.
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    fails("--checkpoint", str(run), "--out", str(out), match="--overwrite")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert main(["export", "--checkpoint", str(run), "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors",
                                                     "notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me"
