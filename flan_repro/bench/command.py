"""Benchmark the training step against PyTorch, MFU, memory, compile time and packing.

  flan-repro bench                         # everything (~5-8 min on 2 CPU cores)
  flan-repro bench --repetitions 3 --no-eval --no-packing
  flan-repro bench --shape tiny            # seconds; a smoke run

Training: tokens/s of our jitted train step (flan_repro.train.trainer.make_train_step, T5 +
optax Adafactor) and of HF transformers' PyTorch T5ForConditionalGeneration + HF Adafactor on
the same shape and batch ("B1": vocab 32128, d_model 256, d_ff 1024 gated-GELU, 4 heads x 64,
4+4 layers, batch 8, inputs 256 + targets 64 tokens, float32, no dropout), in the same process
with alternating repetitions; medians. tokens/step = batch * (inputs + targets). MFU is model
FLOPs/s (analytic, see flan_repro/bench/shapes.py) over the best FLOP/s of a 2048x2048
float32 matmul (jnp.dot or torch.mm) sampled during the run; a profiler trace of our step
splits its wall time by pass, model part and op kind (flan_repro/bench/profile.py).
Packing: share of non-padding tokens of the toy training mixture at toy and FLAN
lengths, with and without packing. Evaluation benchmarks
(flan_repro.bench.evaluation): rank classification (encode once vs re-encode vs
HF PyTorch T5 with the same weights; decoder-only prefix reuse vs per pair) and greedy
generation.
Writes everything to --out (bench/results.json).
"""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from pathlib import Path


def add_arguments(p):
    p.add_argument("--out", default="bench/results.json", help="where to write the results")
    p.add_argument("--shape", default="B1", choices=["B1", "tiny"],
                   help="training shape (tiny: a seconds-long smoke run)")
    p.add_argument("--repetitions", type=int, default=9,
                   help="timed repetitions per side (alternating jax / torch)")
    p.add_argument("--steps-per-rep", type=int, default=1)
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per side first")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    p.add_argument("--no-breakdown", action="store_true",
                   help="skip the forward / backward / optimizer time breakdown")
    p.add_argument("--no-profile", action="store_true",
                   help="skip the profiler trace of our step (time per pass, part and op kind)")
    p.add_argument("--no-packing", action="store_true", help="skip packing efficiency")
    p.add_argument("--packing-batches", type=int, default=20)
    p.add_argument("--no-eval", action="store_true",
                   help="skip flan_repro.bench.evaluation (rank classification, generation)")
    p.add_argument("--no-tune-allocator", action="store_true",
                   help="leave glibc malloc at its defaults (see trainer.tune_host_allocator)")


def run(args) -> int:
    from flan_repro.train.trainer import tune_host_allocator
    # before jax or torch start thread pools: both sides run under the same allocator settings
    tuned = False if args.no_tune_allocator else tune_host_allocator()
    from flan_repro.bench import train_step as ts
    from flan_repro.bench.shapes import B1, TINY
    t0 = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    shapes = B1 if args.shape == "B1" else TINY
    results: dict = {"host": _host(), "allocator_tuned": tuned}
    results["train_step"] = ts.bench_train_step(
        shapes, repetitions=args.repetitions, steps_per_rep=args.steps_per_rep,
        warmup=args.warmup, torch_side=not args.no_torch, breakdown=not args.no_breakdown,
        profile=not args.no_profile,
        peak_n=2048 if args.shape == "B1" else 256, log=log)
    if not args.no_packing:
        log("[bench] packing efficiency")
        from flan_repro.bench.packing import bench_packing
        results["packing"] = bench_packing(num_batches=args.packing_batches)
    if not args.no_eval:
        results["evaluation"] = _eval_benches(log)
    results["wall_s"] = time.perf_counter() - t0
    print(format_report(results))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=_jsonable) + "\n")
    print(f"\nwrote {out}")
    return 0


def _eval_benches(log) -> dict:
    from flan_repro.bench import evaluation as eval_bench
    out = {}
    for fn in (eval_bench.bench_rank_classification,
               eval_bench.bench_prefix_lm_rank_classification, eval_bench.bench_generation):
        log(f"[bench] flan_repro.bench.evaluation.{fn.__name__}")
        t = time.perf_counter()
        out[fn.__name__] = fn()
        out[fn.__name__]["seconds"] = time.perf_counter() - t
    return out


def _host() -> dict:
    import jax
    info = {"python": platform.python_version(), "jax": jax.__version__,
            "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None}
    try:
        import torch
        import transformers
        info.update(torch=torch.__version__, transformers=transformers.__version__)
    except ImportError:
        pass
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def _jsonable(x):
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    return str(x)


def _f(x, fmt="{:.3f}"):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return fmt.format(x)


def _train_step_lines(r: dict) -> list:
    lines = []
    ts = r["train_step"]
    s = ts["shapes"]
    lines.append(f"== training step, shape {s['name']}: vocab {s['vocab_size']}, d_model "
                 f"{s['d_model']}, d_ff {s['d_ff']} gated-GELU, {s['num_heads']}x{s['d_kv']} heads, "
                 f"{s['num_encoder_layers']}+{s['num_decoder_layers']} layers, batch "
                 f"{s['batch_size']}, inputs {s['inputs_length']} + targets {s['targets_length']}, "
                 "float32, unpacked, Adafactor, no dropout")
    lines.append(f"   {ts['token_convention']} = {ts['tokens_per_step']}; model FLOPs/step = "
                 f"{ts['flops_per_step'] / 1e9:.2f} G ({ts['flops_formula']}); "
                 f"params_nonembedding = {ts['params_nonembedding'] / 1e6:.2f} M")
    torch_peak = ts.get("torch_matmul_peak_flops")
    lines.append(f"   matmul peak (best {ts['matmul_peak_n']}^2 float32 matmul in this process, "
                 f"from {ts['matmul_peak_source']}): {ts['matmul_peak_flops'] / 1e9:.1f} GFLOP/s"
                 f" (jnp.dot {ts['matmul_peak_flops_jax'] / 1e9:.1f} over "
                 f"{ts['matmul_peak_samples']} runs"
                 + (f", torch.mm {torch_peak / 1e9:.1f}" if torch_peak else "") + "); "
                 f"{ts['repetitions']} alternating repetitions x {ts['steps_per_rep']} step(s)")
    head = (f"   {'side':<7}{'step s (median)':>16}{'min':>8}{'tokens/s':>10}"
            f"{'GFLOP/s':>9}{'MFU':>7}{'MFU paired':>11}{'MFU cpu':>9}{'loss':>9}")
    lines.append(head)
    for name in ("jax", "torch"):
        if name not in ts:
            continue
        d = ts[name]
        label = "ours" if name == "jax" else "torch"
        lines.append(f"   {label:<7}{d['step_s_median']:>16.3f}{d['step_s_min']:>8.3f}"
                     f"{d['tokens_per_s']:>10.0f}{d['model_flops_per_s'] / 1e9:>9.1f}"
                     f"{d['mfu']:>7.1%}{d['mfu_paired']:>11.1%}{d['mfu_cpu']:>9.1%}"
                     f"{d['loss']:>9.3f}")
    if "speedup_vs_torch" in ts:
        lines.append(f"   ours / torch tokens/s: {ts['speedup_vs_torch']:.2f}x (median of "
                     "per-repetition ratios: " + ", ".join(
                         f"{x:.2f}" for x in ts["speedup_vs_torch_all"]) + ")")
        lines.append(f"   torch: {ts['torch_optimizer']}, attention "
                     f"{ts['torch_attn_implementation']}, {ts['torch_threads']} threads")
    lines.append(f"   compile time of our train step: {ts['compile_s']:.1f} s; peak RSS "
                 f"{ts['peak_rss_mb_jax_only']:.0f} MB after our side, {ts['peak_rss_mb']:.0f} MB "
                 f"{'with torch' if 'torch' in ts else 'at the end'}; malloc tuned: "
                 f"{r.get('allocator_tuned')}")
    if "breakdown" in ts:
        b = ts["breakdown"]
        lines.append("   where our step's time goes (medians, separately compiled sub-graphs):")
        for key, label in (("forward_s", "forward (loss)"),
                           ("backward_s", "backward (fwd+bwd - fwd)"),
                           ("optimizer_s", "Adafactor update + apply"),
                           ("step_overhead_s", "rest (step - fwd+bwd - opt)"),
                           ("step_s", "whole step")):
            share = b[key] / b["step_s"] if b["step_s"] else float("nan")
            lines.append(f"     {label:<30}{b[key]:>8.3f} s {share:>7.1%}")
    if "profile" in ts:
        from flan_repro.bench.profile import format_profile
        lines.extend(format_profile(ts["profile"]))
    return lines


def _rank_classification_lines(e: dict) -> list:
    lines = []
    rc = e.get("bench_rank_classification", {})
    if "results" in rc:
        torch_info = rc.get("torch", {})
        lines.append(f"   rank classification, T5, examples/s ({rc.get('num_examples')} examples, "
                     f"inputs {rc.get('input_length')}, options {rc.get('option_length')} tokens, "
                     f"{rc.get('batch_size')} examples/batch; best of {rc.get('repeats')} "
                     "interleaved runs)")
        lines.append(f"     {'options':>7}{'encode once':>13}{'re-encode':>11}{'speedup':>9}"
                     f"{'torch once':>12}{'ours/torch':>12}{'|dlogp| re':>12}"
                     f"{'|dlogp| torch':>15}")
        for row in rc["results"]:
            lines.append(f"     {row['options']:>7}{row['encode_once_examples_per_s']:>13.1f}"
                         f"{row['reencode_examples_per_s']:>11.1f}{row['speedup']:>8.2f}x"
                         f"{_f(row.get('torch_examples_per_s'), '{:.1f}'):>12}"
                         f"{_f(row.get('ours_over_torch'), '{:.2f}x'):>12}"
                         f"{row['max_abs_logprob_diff']:>12.1e}"
                         f"{_f(row.get('max_abs_logprob_diff_torch'), '{:.1e}'):>15}")
        if "note" in torch_info:
            lines.append(f"     torch: {torch_info['note']}")
        elif torch_info:
            lines.append(f"     torch: {torch_info.get('model')}, torch "
                         f"{torch_info.get('torch')}, transformers "
                         f"{torch_info.get('transformers')}, {torch_info.get('threads')} "
                         f"thread(s) (the faster of {torch_info.get('default_threads')} and 1), "
                         f"attention {torch_info.get('attn_implementation')}; our weights")
    elif rc:
        lines.append(f"   rank classification: {rc}")
    pl = e.get("bench_prefix_lm_rank_classification", {})
    if "results" in pl:
        m = pl["model"]
        lines.append(f"   rank classification, decoder-only prefix LM ({m.get('num_layers')} "
                     f"layers, d_model {m.get('d_model')}; {pl.get('num_examples')} examples, inputs "
                     f"{pl.get('input_length')}, options {pl.get('option_length')} tokens), "
                     "examples/s: prefix run once and reused vs one pass per (input, option) pair")
        for row in pl["results"]:
            lines.append(f"     {row['options']} options: {row['prefix_reuse_examples_per_s']:.1f}"
                         f" vs {row['per_pair_examples_per_s']:.1f} ({row['speedup']:.2f}x), "
                         f"max |dlogp| {row['max_abs_logprob_diff']:.1e}")
    elif pl:
        lines.append(f"   decoder-only rank classification: {pl}")
    return lines


def format_report(r: dict) -> str:
    lines = _train_step_lines(r) if "train_step" in r else []
    if "packing" in r:
        p = r["packing"]
        lines.append(f"\n== packing efficiency (non-padding share), mixture {p['mixture']}, toy "
                     f"source ({p['toy_train_size']} train examples/dataset), {p['num_batches']} "
                     f"batches of {p['batch_size']}")
        lines.append(f"   {'lengths':<16}{'pack':>6}{'inputs':>9}{'targets':>9}{'all':>8}"
                     f"{'examples/batch':>16}")
        for row in p["rows"]:
            lines.append(f"   {row['profile'] + ' ' + str(row['inputs_length']) + '/' + str(row['targets_length']):<16}"
                         f"{str(row['pack']):>6}{row['inputs_efficiency']:>9.1%}"
                         f"{row['targets_efficiency']:>9.1%}{row['tokens_efficiency']:>8.1%}"
                         f"{row['examples_per_batch']:>16.1f}")
    if "evaluation" in r:
        e = r["evaluation"]
        lines.append("\n== evaluation benchmarks (flan_repro.bench.evaluation)")
        lines.extend(_rank_classification_lines(e))
        g = e.get("bench_generation", {})
        if "cached_tokens_per_s" in g:
            lines.append(f"   greedy generation tokens/s: KV cache {g['cached_tokens_per_s']:.0f} vs "
                         f"none {g['uncached_tokens_per_s']:.0f} ({g['speedup']:.1f}x), identical "
                         f"tokens: {g.get('identical_tokens')}")
        elif g:
            lines.append(f"   generation: {g}")
    host = r.get("host", {})
    lines.append(f"\n(total {r.get('wall_s', 0):.0f} s; host {host.get('cpu')}, "
                 f"{host.get('cpu_count')} cores, load at start "
                 f"{_f((host.get('loadavg_at_start') or [None])[0], '{:.2f}')})")
    return "\n".join(lines)
