"""`flan-repro score`: summed target log-probs (incl. EOS) of an imported HF T5 agree with
transformers' PyTorch model; text lines are tokenized with EOS appended."""
import json

import numpy as np
import pytest

from flan_repro.cli import main

TOL = 1e-4


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _read_jsonl(path):
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def test_score_matches_transformers(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    cfg = transformers.T5Config(vocab_size=128, d_model=32, d_ff=64, num_layers=1, num_heads=2,
                                d_kv=16, feed_forward_proj="gated-gelu", dropout_rate=0.0,
                                tie_word_embeddings=False)
    cfg.tie_word_embeddings = False     # transformers 5.x: untie on the object (see test_t5_hf)
    torch.manual_seed(0)
    hf = transformers.T5ForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        hf.encoder.embed_tokens.weight.copy_(hf.shared.weight)
        hf.decoder.embed_tokens.weight.copy_(hf.shared.weight)
    folder = tmp_path / "hf"
    hf.save_pretrained(folder)

    rng = np.random.RandomState(0)
    rows = []
    for n_in, n_out in [(12, 4), (5, 1), (30, 9), (7, 3)]:
        rows.append({"id": len(rows), "input_ids": rng.randint(2, 128, n_in).tolist() + [1],
                     "target_ids": rng.randint(2, 128, n_out).tolist() + [1]})
    _write_jsonl(tmp_path / "in.jsonl", rows)
    assert main(["score", "--checkpoint", f"hf:{folder}", "--input", str(tmp_path / "in.jsonl"),
                 "--output", str(tmp_path / "out.jsonl")]) == 0
    out = _read_jsonl(tmp_path / "out.jsonl")
    assert [r["id"] for r in out] == [0, 1, 2, 3]
    worst = 0.0
    for r in out:
        enc = torch.tensor([r["input_ids"]])
        tgt = torch.tensor([r["target_ids"]])
        dec_in = torch.cat([torch.zeros((1, 1), dtype=torch.long), tgt[:, :-1]], dim=1)
        with torch.no_grad():
            logits = hf(input_ids=enc, decoder_input_ids=dec_in).logits
        ref = torch.log_softmax(logits.float(), -1).gather(-1, tgt[..., None])[0, :, 0].numpy()
        assert r["num_tokens"] == len(r["target_ids"])
        worst = max(worst, abs(r["score"] - float(ref.sum())),
                    float(np.max(np.abs(np.array(r["token_logprobs"]) - ref))))
    print(f"\n[score vs transformers] max |dlogp| = {worst:.3g}")
    assert worst <= TOL


def test_score_text_lines_and_bad_input(tmp_path, tiny_t5):
    from flan_repro.data.vocab import get_vocabulary
    from flan_repro.evaluate.score_command import read_requests, score_rows
    from flan_repro.evaluate.scoring import Scorer
    vocab = get_vocabulary("toy")
    rows = [{"inputs": "Is the sky blue?\nOPTIONS:\n- yes\n- no", "targets": "yes"},
            {"input_ids": [5, 6, 1], "target_ids": [7, 1]}]
    _write_jsonl(tmp_path / "in.jsonl", rows)
    out = score_rows(Scorer(tiny_t5, vocab), read_requests(str(tmp_path / "in.jsonl")))
    assert out[0]["num_tokens"] == len(vocab.encode("yes")) + 1      # EOS scored
    assert out[1]["num_tokens"] == 2 and out[0]["inputs"] == rows[0]["inputs"]
    assert all(r["score"] == pytest.approx(sum(r["token_logprobs"]), abs=1e-4) for r in out)
    (tmp_path / "bad.jsonl").write_text('{"inputs": "x"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_requests(str(tmp_path / "bad.jsonl"))
