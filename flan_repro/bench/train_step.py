"""Training-step throughput: our jitted Flax/optax step vs HF transformers' PyTorch T5.

Both sides train the same T5 v1.1 shape (gated-GELU, untied logits, no dropout; see
`shapes.py` for the shapes, the batch and the FLOP model) on the same random, unpadded
batch with Adafactor, in one process:

  ours   flan_repro.train.trainer.make_train_step(T5, optim.make_optimizer('adafactor'),
         dropout=False) under jax.jit with the state donated (as trainer.train runs it)
  torch  transformers.T5ForConditionalGeneration (random init, same architecture and
         parameter count: see `hf_t5_v11` for the tying fix transformers 5.x needs; eager,
         2 intra-op threads = the cores) + transformers.optimization.Adafactor(lr=3e-5,
         scale_parameter=False, relative_step=False, warmup_init=False): the same update rule as
         optax.adafactor(multiply_by_parameter_scale=False) (decay t^-0.8, update clipping 1.0,
         eps 1e-30). HF factors every 2-D weight, optax only dims >= 128 (our 3-D attention
         kernels keep full second moments): a negligible difference in optimizer work.
         Loss: HF's `labels=` path (mean cross-entropy over target tokens), as ours.

Both sides run under the same host allocator settings (`trainer.tune_host_allocator`,
called by `flan-repro bench` first), which is torch's best setting too; why, and what
else was measured and tried, is in bench/NOTES.md.

Timing: both sides are warmed up; repetitions alternate jax/torch in ABBA order so load on
the shared CPU hits both alike; medians are reported, and the speedup is the median of the
per-repetition ratios. Each repetition also samples the matmul peak, so MFU can be paired.

  MFU          = model FLOPs/s (median step) / matmul peak, the peak being the best FLOP/s of a
                 2048x2048 float32 matmul over all samples taken during the run, by jitted
                 jnp.dot or by torch.mm, whichever is higher (`matmul_peak_source`): neither
                 library is always ahead on a shared machine.
                 `mfu_paired` divides each repetition by the jnp.dot peak sampled in that
                 repetition (robust to load changes); `mfu_cpu` uses FLOPs per CPU-second on
                 both sides against jnp.dot's (robust to other processes taking cores).
"""
from __future__ import annotations

import dataclasses
import gc
import math
import resource
import statistics
import time

from flan_repro.bench.shapes import B1, FLOPS_FORMULA, Shapes, make_batch, model_flops


# ----------------------------------------------------------------------------- helpers


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class MatmulPeak:
    """A compiled n x n float32 jnp.dot; `sample(k)` = best FLOP/s (and per CPU-s) of k runs."""

    def __init__(self, n: int = 2048):
        import jax
        import jax.numpy as jnp
        self.n = n
        self.a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
        self.b = jax.random.normal(jax.random.PRNGKey(1), (n, n), jnp.float32)
        self.fn = jax.jit(jnp.dot).lower(self.a, self.b).compile()
        self.fn(self.a, self.b).block_until_ready()
        self.samples: list[float] = []
        self.cpu_samples: list[float] = []

    def sample(self, k: int = 3) -> float:
        flops = 2.0 * self.n ** 3
        best = best_cpu = float("inf")
        for _ in range(k):
            c = time.process_time()
            t = time.perf_counter()
            self.fn(self.a, self.b).block_until_ready()
            best = min(best, time.perf_counter() - t)
            best_cpu = min(best_cpu, time.process_time() - c)
        self.samples.append(flops / best)
        self.cpu_samples.append(flops / max(best_cpu, 1e-9))
        return flops / best

    @property
    def peak(self) -> float:
        return max(self.samples)

    @property
    def peak_per_cpu_s(self) -> float:
        return max(self.cpu_samples)


# ----------------------------------------------------------------------------- the two sides


class JaxSide:
    """Our train step, jitted with the state donated (what trainer.train runs)."""
    name = "jax"

    def __init__(self, s: Shapes, seed: int = 0):
        import jax
        import jax.numpy as jnp
        from flan_repro.model import t5
        from flan_repro.train import optim, trainer
        self.model = t5.T5(s.t5_config())
        self.optimizer, _ = optim.make_optimizer(name="adafactor")
        self.params = t5.init_params(s.t5_config(), jax.random.PRNGKey(seed))
        params = jax.tree.map(jnp.copy, self.params)
        self.state = {"step": jnp.zeros((), jnp.int32), "params": params,
                      "opt_state": jax.jit(self.optimizer.init)(params)}
        self.batch = {k: jnp.asarray(v) for k, v in make_batch(s, seed).items()}
        self.rng = jax.random.PRNGKey(seed + 1)
        step_fn = jax.jit(trainer.make_train_step(self.model, self.optimizer, False),
                          donate_argnums=(0,))
        t = time.perf_counter()
        self.compiled = step_fn.lower(self.state, self.batch, self.rng).compile()
        self.compile_s = time.perf_counter() - t
        self.loss = None

    def step(self) -> None:
        self.state, metrics = self.compiled(self.state, self.batch, self.rng)
        self.loss = metrics["loss"]
        self.loss.block_until_ready()

    def last_loss(self) -> float:
        return float(self.loss)

    def parts(self) -> dict:
        """Compiled sub-graphs of the step for the time breakdown: forward (loss only),
        forward+backward (gradients), optimizer update + apply (on fixed gradients)."""
        import jax
        from flan_repro.train import loss as loss_lib
        model, batch, opt = self.model, self.batch, self.optimizer

        def loss_fn(p):
            logits = model.apply({"params": p}, **batch)
            total, count = loss_lib.loss_sums(logits, batch["decoder_target_tokens"],
                                              batch["decoder_loss_weights"])
            return total / count

        def update(g, o, p):
            u, o = opt.update(g, o, p)
            return jax.tree.map(lambda a, b: a + b, p, u), o

        p = self.params
        fwd = jax.jit(loss_fn).lower(p).compile()
        grad = jax.jit(jax.grad(loss_fn)).lower(p).compile()
        g = grad(p)
        o = opt.init(p)
        upd = jax.jit(update).lower(g, o, p).compile()
        return {"forward": lambda: fwd(p).block_until_ready(),
                "forward_backward": lambda: jax.block_until_ready(grad(p)),
                "optimizer": lambda: jax.block_until_ready(upd(g, o, p))}


class TorchSide:
    """HF transformers T5ForConditionalGeneration + HF Adafactor (see module doc)."""
    name = "torch"

    def __init__(self, s: Shapes, seed: int = 0):
        import torch
        from transformers.optimization import Adafactor
        torch.manual_seed(seed)
        self.torch = torch
        self.model = hf_t5_v11(s)
        self.model.train()
        self.opt = Adafactor(self.model.parameters(), lr=3e-5, scale_parameter=False,
                             relative_step=False, warmup_init=False, clip_threshold=1.0,
                             decay_rate=-0.8)
        b = make_batch(s, seed)
        self.inputs = torch.from_numpy(b["encoder_input_tokens"]).long()
        self.dec_in = torch.from_numpy(b["decoder_input_tokens"]).long()
        self.labels = torch.from_numpy(b["decoder_target_tokens"]).long()
        self.attn = (self.inputs > 0).long()
        self.compile_s = 0.0
        self.loss = None
        self.attn_implementation = getattr(self.model.config, "_attn_implementation", None)
        self.threads = torch.get_num_threads()

    def step(self) -> None:
        out = self.model(input_ids=self.inputs, attention_mask=self.attn,
                         decoder_input_ids=self.dec_in, labels=self.labels)
        out.loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.loss = out.loss.detach()

    def last_loss(self) -> float:
        return float(self.loss)


def hf_t5_v11(s: Shapes):
    """HF T5ForConditionalGeneration with exactly our architecture and init scales.

    transformers 5.x ignores `T5Config(tie_word_embeddings=False)`: the constructor only reads
    it as "do not scale the decoder output by d_model**-0.5" (v1.1) and then forces tying, so
    the lm_head *is* the input embedding (std-1 init, unscaled: logits of std ~16, loss ~100
    at init). Setting the attribute after construction unties the head but also unties the
    encoder's and decoder's input embeddings from `shared` (3 tables, 42M params instead of
    our 26M), so they are re-tied here. The head is re-initialised like t5x's logits_dense
    (std d_model**-0.5; HF uses std 1), which gives the same ~ln(vocab) loss at init as ours.
    """
    import torch
    from transformers import T5ForConditionalGeneration
    config = s.hf_config()
    config.tie_word_embeddings = False
    model = T5ForConditionalGeneration(config)
    model.set_input_embeddings(model.shared)
    with torch.no_grad():
        torch.nn.init.normal_(model.lm_head.weight, std=s.d_model ** -0.5)
    shared = model.shared.weight
    if (model.config.scale_decoder_outputs or model.lm_head.weight is shared
            or model.encoder.embed_tokens.weight is not shared
            or model.decoder.embed_tokens.weight is not shared):
        raise RuntimeError("transformers built a T5 that is not v1.1 (untied head, shared input "
                           "embedding, unscaled decoder output); check its T5Config handling")
    return model


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _timed(fn, steps: int) -> tuple[float, float]:
    gc.collect()
    c = time.process_time()
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t) / steps, (time.process_time() - c) / steps


def _median(xs):
    return float(statistics.median(xs))


def bench_train_step(shapes: Shapes = B1, *, repetitions: int = 9, steps_per_rep: int = 1,
                     warmup: int = 2, torch_side: bool = True, breakdown: bool = True,
                     profile: bool = False,
                     peak_n: int = 2048, peak_samples: int = 3, seed: int = 0,
                     log=None) -> dict:
    """Tokens/s, MFU, compile time and peak RSS of our train step and of PyTorch's.

    Keys of the result (numbers are per step unless named otherwise):
      shapes, token_convention, flops_formula, flops_per_step, flops_parts,
      params_nonembedding, tokens_per_step, matmul_peak_flops, matmul_peak_flops_per_cpu_s,
      compile_s, peak_rss_mb, peak_rss_mb_jax_only, repetitions, steps_per_rep,
      jax / torch: {step_s_median, step_s_min, step_s_all, cpu_s_median, tokens_per_s,
                    model_flops_per_s, mfu, mfu_paired, mfu_cpu, loss},
      speedup_vs_torch (median of per-repetition torch/jax time ratios), speedup_vs_torch_all,
      breakdown: {forward_s, forward_backward_s, backward_s, optimizer_s, step_s,
                  step_overhead_s} (medians, interleaved; JAX side only),
      profile: flan_repro.bench.profile.profile_step of our step (if `profile`), plus
               mfu_bound_matmuls_only (model FLOPs / matmul time / peak: the MFU if
               everything but the matmuls took no time),
      torch_optimizer, torch_attn_implementation, torch_threads.
    """
    log = log or (lambda *_: None)
    peak = MatmulPeak(peak_n)
    peak.sample(peak_samples)
    use_torch = torch_side and torch_available()
    torch_peaks = [torch_matmul_peak(peak_n)] if use_torch else []
    log(f"[bench] compiling our train step ({shapes.name})")
    jside = JaxSide(shapes, seed)
    sides = {"jax": jside}
    for _ in range(warmup):
        jside.step()
    rss_jax = peak_rss_mb()
    tside = None
    if use_torch:
        log("[bench] building the PyTorch side")
        tside = TorchSide(shapes, seed)
        sides["torch"] = tside
        for _ in range(warmup):
            tside.step()
    flops = model_flops(shapes)
    wall = {k: [] for k in sides}
    cpu = {k: [] for k in sides}
    paired = []
    order = list(sides)
    for r in range(repetitions):
        p = peak.sample(peak_samples)
        for name in (order if r % 2 == 0 else order[::-1]):
            w, c = _timed(sides[name].step, steps_per_rep)
            wall[name].append(w)
            cpu[name].append(c)
        paired.append(p)
        log(f"[bench] rep {r + 1}/{repetitions}: " + ", ".join(
            f"{k} {wall[k][-1]:.3f}s" for k in sides) + f", peak {p / 1e9:.1f} GFLOP/s")
    peak.sample(peak_samples)
    if use_torch:
        torch_peaks.append(torch_matmul_peak(peak_n))
    # the machine's peak is the best either library reached: neither is always ahead
    best_peak = max([peak.peak, *torch_peaks])
    out = {
        "shapes": dataclasses.asdict(shapes),
        "token_convention": "tokens/step = batch * (inputs_length + targets_length)",
        "flops_formula": FLOPS_FORMULA,
        "flops_per_step": flops["total"],
        "flops_parts": flops["parts"],
        "params_nonembedding": flops["params_nonembedding"],
        "tokens_per_step": shapes.tokens_per_step,
        "matmul_peak_flops": best_peak,
        "matmul_peak_source": "jax" if best_peak == peak.peak else "torch",
        "matmul_peak_flops_jax": peak.peak,
        "matmul_peak_flops_per_cpu_s": peak.peak_per_cpu_s,
        "matmul_peak_n": peak_n,
        "matmul_peak_samples": len(peak.samples) * peak_samples,
        "repetitions": repetitions,
        "steps_per_rep": steps_per_rep,
        "compile_s": jside.compile_s,
        "peak_rss_mb_jax_only": rss_jax,
    }
    for name, side in sides.items():
        med = _median(wall[name])
        out[name] = {
            "step_s_median": med, "step_s_min": min(wall[name]), "step_s_all": wall[name],
            "cpu_s_median": _median(cpu[name]),
            "tokens_per_s": shapes.tokens_per_step / med,
            "model_flops_per_s": flops["total"] / med,
            "mfu": flops["total"] / med / best_peak,
            "mfu_paired": _median([flops["total"] / w / p for w, p in zip(wall[name], paired)]),
            "mfu_cpu": flops["total"] / _median(cpu[name]) / peak.peak_per_cpu_s,
            "loss": side.last_loss(),
        }
    if tside is not None:
        out["torch_matmul_peak_flops"] = max(torch_peaks)
        ratios = [t / j for j, t in zip(wall["jax"], wall["torch"])]
        out["speedup_vs_torch"] = _median(ratios)
        out["speedup_vs_torch_all"] = ratios
        out["torch_optimizer"] = ("transformers.optimization.Adafactor(lr=3e-5, "
                                  "scale_parameter=False, relative_step=False, "
                                  "warmup_init=False, clip_threshold=1.0, decay_rate=-0.8)")
        out["torch_attn_implementation"] = tside.attn_implementation
        out["torch_threads"] = tside.threads
        del tside, sides["torch"]
        gc.collect()
    if breakdown:
        log("[bench] breakdown: forward / forward+backward / optimizer / step")
        out["breakdown"] = bench_breakdown(jside, repetitions=max(3, repetitions // 2))
    if profile:
        log("[bench] profiler trace of our step")
        from flan_repro.bench.profile import profile_step
        prof = profile_step(jside.step, jside.compiled.as_text())
        # an upper bound on MFU at these kernels' speeds: all non-matmul work for free
        matmul_s = prof["matmul_ms_per_step"] / 1000.0
        prof["mfu_bound_matmuls_only"] = (flops["total"] / matmul_s / best_peak
                                          if matmul_s > 0 else None)
        out["profile"] = prof
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def torch_matmul_peak(n: int = 2048, runs: int = 10) -> float:
    """Best FLOP/s of torch's n x n float32 matmul (MKL/oneDNN), sampled before and after
    the timed repetitions: the MFU uses the best of both libraries as the machine's peak."""
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best


def bench_breakdown(jside: JaxSide, repetitions: int = 4) -> dict:
    """Median seconds of the step's sub-graphs, interleaved with the full step."""
    fns = dict(jside.parts())
    fns["step"] = jside.step
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    names = list(fns)
    for r in range(repetitions):
        for k in (names if r % 2 == 0 else names[::-1]):
            times[k].append(_timed(fns[k], 1)[0])
    med = {k: _median(v) for k, v in times.items()}
    return {"forward_s": med["forward"], "forward_backward_s": med["forward_backward"],
            "backward_s": med["forward_backward"] - med["forward"],
            "optimizer_s": med["optimizer"], "step_s": med["step"],
            "step_overhead_s": med["step"] - med["forward_backward"] - med["optimizer"]}


def finite_positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0
