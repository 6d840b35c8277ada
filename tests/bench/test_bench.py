"""Smoke test of `flan-repro bench` on tiny shapes: the result has the documented keys and
positive finite numbers. Speed is reported by the benchmark, never asserted here."""
import json
import math
import types

import pytest

from flan_repro.bench import command, shapes, train_step as ts


def _num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    args = types.SimpleNamespace(
        out=str(out), shape="tiny", repetitions=2, steps_per_rep=1, warmup=1,
        no_torch=not ts.torch_available(), no_breakdown=False, no_packing=True,
        packing_batches=1, no_eval=True, no_tune_allocator=True, no_profile=False)
    assert command.run(args) == 0
    return json.loads(out.read_text())


def test_train_step_keys_and_numbers(tiny_run):
    r = tiny_run["train_step"]
    for key in ("flops_per_step", "tokens_per_step", "params_nonembedding", "matmul_peak_flops",
                "matmul_peak_flops_per_cpu_s", "compile_s", "peak_rss_mb",
                "peak_rss_mb_jax_only"):
        assert _num(r[key]) and r[key] > 0, key
    assert r["tokens_per_step"] == 2 * (16 + 8)
    assert r["flops_per_step"] == sum(r["flops_parts"].values())
    assert r["shapes"]["name"] == "tiny" and "inputs_length + targets_length" in \
        r["token_convention"]
    sides = ["jax"] + (["torch"] if ts.torch_available() else [])
    for side in sides:
        d = r[side]
        for key in ("step_s_median", "step_s_min", "cpu_s_median", "tokens_per_s",
                    "model_flops_per_s", "mfu", "mfu_paired", "mfu_cpu", "loss"):
            assert _num(d[key]) and d[key] > 0, (side, key)
        assert len(d["step_s_all"]) == 2
    if ts.torch_available():
        assert _num(r["speedup_vs_torch"]) and r["speedup_vs_torch"] > 0
        assert "Adafactor" in r["torch_optimizer"]
        assert _num(r["torch_matmul_peak_flops"]) and r["torch_matmul_peak_flops"] > 0
    # MFU is against the best matmul either library reached
    best = max(r["matmul_peak_flops_jax"], r.get("torch_matmul_peak_flops", 0.0))
    assert r["matmul_peak_flops"] == best
    assert r["matmul_peak_source"] == ("jax" if best == r["matmul_peak_flops_jax"] else "torch")
    jax_side = r["jax"]
    assert math.isclose(jax_side["mfu"], jax_side["model_flops_per_s"] / best, rel_tol=1e-9)
    b = r["breakdown"]
    for key in ("forward_s", "forward_backward_s", "optimizer_s", "step_s"):
        assert _num(b[key]) and b[key] > 0, key
    assert _num(b["backward_s"]) and _num(b["step_overhead_s"])


def test_report_renders(tiny_run):
    text = command.format_report(tiny_run)
    assert "tokens/s" in text and "MFU" in text and "compile time" in text
    assert "busy wall time" in text


def test_profile_splits_the_step(tiny_run):
    p = tiny_run["train_step"]["profile"]
    assert p["busy_ms_per_step"] > 0
    assert math.isclose(sum(g["ms"] for g in p["groups"]), p["busy_ms_per_step"], rel_tol=1e-6)
    seen = {(g["pass"], g["part"], g["kind"]) for g in p["groups"]}
    for pass_ in ("forward", "backward"):
        assert (pass_, "attention", "matmul") in seen and (pass_, "mlp", "matmul") in seen
    assert any(g["pass"] == "update" for g in p["groups"])      # the Adafactor update
    assert p["top_ops"] and all(o["ms"] > 0 for o in p["top_ops"])
    matmul_ms = sum(g["ms"] for g in p["groups"] if g["kind"] == "matmul")
    assert math.isclose(p["matmul_ms_per_step"], matmul_ms, rel_tol=1e-9)
    r = tiny_run["train_step"]
    assert math.isclose(p["mfu_bound_matmuls_only"], r["flops_per_step"] / (matmul_ms / 1000)
                        / r["matmul_peak_flops"], rel_tol=1e-9)


def test_flops_formula_b1():
    f = shapes.model_flops(shapes.B1)
    # per example: encoder 4 * (4*256*256 + 3*256*1024) weights x 256 tokens x 6, etc.
    assert f["parts"]["encoder_weights"] == 6 * 4 * (4 * 256 * 256 + 3 * 256 * 1024) * 256 * 8
    assert f["parts"]["logits_head"] == 6 * 256 * 32128 * 64 * 8
    assert 100e9 < f["total"] < 110e9


def test_torch_side_is_our_architecture():
    """transformers 5.x ties T5's lm_head despite tie_word_embeddings=False; the bench must
    time an untied head, one shared input embedding and the same parameter count as ours."""
    if not ts.torch_available():
        pytest.skip("torch/transformers not installed")
    import jax
    import numpy as np
    from flan_repro.model import t5
    model = ts.hf_t5_v11(shapes.TINY)
    assert model.lm_head.weight is not model.shared.weight
    assert model.encoder.embed_tokens.weight is model.shared.weight
    assert model.decoder.embed_tokens.weight is model.shared.weight
    assert not model.config.scale_decoder_outputs
    ours = t5.init_params(shapes.TINY.t5_config(), jax.random.PRNGKey(0))
    assert sum(p.numel() for p in model.parameters()) == sum(
        np.size(x) for x in jax.tree.leaves(ours))


@pytest.mark.slow
def test_packing_efficiency_rows():
    from flan_repro.bench.packing import bench_packing
    r = bench_packing(num_batches=2, lengths=(("toy", (256, 64)),))
    assert [row["pack"] for row in r["rows"]] == [False, True]
    for row in r["rows"]:
        for key in ("inputs_efficiency", "targets_efficiency", "tokens_efficiency"):
            assert 0 < row[key] <= 1
    assert r["rows"][1]["tokens_efficiency"] >= r["rows"][0]["tokens_efficiency"]
