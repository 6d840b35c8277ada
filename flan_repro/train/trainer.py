"""The training loop: read it top to bottom to see a whole FLAN fine-tuning run.

mixture -> batches (input_pipeline) -> jitted, donated train step (loss, optax) ->
metrics.jsonl + TensorBoard -> orbax checkpoints; resumes from MODEL_DIR's latest
checkpoint; SIGTERM (a preempted TPU VM) saves and exits; a non-finite loss stops
the run naming the step and leaves the last good checkpoint in place.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import gin
import jax
import jax.numpy as jnp
import numpy as np

from flan_repro.model import loading
from flan_repro.train import checkpoints, input_pipeline, loss as loss_lib, optim, partitioning
from flan_repro.train.progress import Progress

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclasses.dataclass
class TrainResult:
    model_dir: str
    step: int
    final_loss: float
    stopped_by_signal: bool = False


def init_params_from(init_from: str, model_config, abstract_params):
    """The params `train.init_from` names (one of our model dirs, `hf:DIR` or `t5x:DIR`),
    read by the loader evaluation uses (`model.loading`), cast to `model_config`'s dtypes.

    A checkpoint whose config changes the parameter tree (sizes, tied head, separate
    input embeddings) is refused naming the bindings the model gin needs, not with a
    tree mismatch; fields that leave the tree alone (dropout, dtype) follow the gin."""
    loaded = loading.load_checkpoint(init_from)
    name = type(model_config).__name__
    if loaded.model_type != loading.model_type(model_config):
        raise ValueError(f"train.init_from = {init_from!r} is a {type(loaded.config).__name__} "
                         f"({loaded.model_type}) but train.model_config is a {name}: "
                         f"include the matching model gin")
    fields = loading.tree_fields(loaded.config, model_config)
    if fields:
        want = ", ".join(f"{f}={getattr(loaded.config, f)}" for f in fields)
        have = ", ".join(f"{f}={getattr(model_config, f)}" for f in fields)
        binds = ", ".join(f"{name}.{f} = {getattr(loaded.config, f)!r}" for f in fields)
        raise ValueError(f"train.init_from = {init_from!r} has {want} but train.model_config "
                         f"has {have}: bind {binds} in the model gin")
    return jax.tree.map(lambda a, b: jnp.asarray(a, b.dtype), loaded.params, abstract_params)


def tune_host_allocator() -> bool:
    """Keep freed host memory for reuse instead of returning it to the OS (glibc only).

    XLA:CPU allocates each execution's temporaries as one block (~680 MB for the B1
    benchmark step) and frees it afterwards; above glibc's mmap threshold that is a fresh
    mmap per step, so every step takes ~165k page faults while the kernel zeroes the pages,
    ~0.3-0.8 s of a ~1.3-2 s step on this VM. With one malloc arena, no mmap-backed
    chunks and no trimming, the block is reused from the heap: zero faults per step after
    the first, at the price of a higher resident set (memory is not handed back). Only
    effective for threads that have not allocated yet, so call it before jax starts its
    thread pools (before the first computation). Returns whether glibc accepted it.
    """
    import ctypes
    import ctypes.util
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
        return all(libc.mallopt(opt, value) == 1 for opt, value in (
            (M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2 ** 31 - 1)))
    except (OSError, AttributeError):
        return False


def make_train_step(model, optimizer, dropout: bool):
    def loss_fn(params, batch, rng):
        logits = model.apply({"params": params}, **batch, enable_dropout=dropout,
                             rngs={"dropout": rng})
        total, count = loss_lib.loss_sums(logits, batch["decoder_target_tokens"],
                                          batch["decoder_loss_weights"])
        return total / jnp.maximum(count, 1.0), count

    def train_step(state, batch, base_rng):
        rng = jax.random.fold_in(base_rng, state["step"])     # a new dropout mask per step
        (loss, tokens), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state["params"], batch, rng)
        updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
        params = jax.tree.map(lambda p, u: p + u, state["params"], updates)
        new_state = {"step": state["step"] + 1, "params": params, "opt_state": opt_state}
        return new_state, {"loss": loss, "tokens": tokens}
    return train_step


class _StopFlag:
    """Set by SIGTERM/SIGINT; the loop saves and exits at the next step boundary."""

    def __init__(self):
        self.signal = None

    def __call__(self, signum, frame):
        self.signal = signum


@gin.configurable(denylist=["stop_flag", "progress_label"])
def train(model_dir: str = gin.REQUIRED, mixture: str = gin.REQUIRED,
          train_steps: int = gin.REQUIRED, model_config: Any = gin.REQUIRED,
          inputs_length: int = 256, targets_length: int = 64, batch_size: int = 32,
          pack: bool = True, seed: int = 0, dropout: bool = True,
          checkpoint_every: int = 100, keep_checkpoints: int = 3, log_every: int = 10,
          init_from: str | None = None, cache_batches: bool = True,
          stop_flag: _StopFlag | None = None, progress_label: str = "") -> TrainResult:
    """Trains `model_config` on `mixture` for `train_steps` steps in `model_dir`.

    progress_label: what the progress bar or lines say the run is (the ablation passes
    its stage, `[3/9] tune no_template`); set by the caller, not gin."""
    # A macro left at %gin.REQUIRED reaches us as the sentinel itself: name it.
    for name, value, macro in (("model_dir", model_dir, "MODEL_DIR"), ("mixture", mixture, "MIXTURE"),
                               ("train_steps", train_steps, "TRAIN_STEPS"),
                               ("model_config", model_config, "a model gin file")):
        if value is gin.REQUIRED:
            raise ValueError(f"bad gin configuration: train.{name} is required; set {macro} "
                             f"(e.g. --gin.{macro}=...)" if macro.isupper() else
                             f"bad gin configuration: train.{name} is required; include {macro}")
    mesh = partitioning.make_mesh()   # first: too few devices stops the run before any work
    tune_host_allocator()
    from flan_repro.cache import cache_dir, enable_jax_compilation_cache
    enable_jax_compilation_cache()
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    model, dummy_batch = loading.build_model(model_config)
    model_type = loading.model_type(model_config)
    optimizer, lr_schedule = optim.make_optimizer(run_steps=train_steps)

    # ------------------------------------------------------------------ state
    boxed = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(seed), **dummy_batch()))
    from flax import linen as nn
    param_axes = nn.get_partition_spec(boxed)["params"]
    param_shard = partitioning.param_shardings(param_axes, mesh)
    abstract_params = nn.meta.unbox(boxed)["params"]

    def init_state(params):
        return {"step": jnp.zeros((), jnp.int32), "params": params,
                "opt_state": optimizer.init(params)}

    def fresh_params():
        init = jax.jit(lambda r: nn.meta.unbox(model.init(r, **dummy_batch()))["params"],
                       out_shardings=param_shard)
        return init(jax.random.PRNGKey(seed))

    abstract_state = jax.eval_shape(init_state, abstract_params)
    state_shard = jax.tree.map(lambda _: partitioning.replicated(mesh), abstract_state)
    state_shard["params"] = param_shard
    state_shard["opt_state"] = partitioning.optimizer_state_shardings(
        abstract_state["opt_state"], abstract_params, param_shard)
    abstract_sharded = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract_state, state_shard)

    ckpt = checkpoints.Checkpointer(model_dir / "checkpoints", keep=keep_checkpoints)
    restored = ckpt.restore_latest(abstract_sharded)
    if restored is not None:
        start_step, state, meta = restored
        log.info("resuming %s from step %d", model_dir, start_step)
    else:
        params = init_params_from(init_from, model_config, abstract_params) if init_from \
            else fresh_params()
        state = jax.jit(init_state, out_shardings=state_shard)(params)
        start_step, meta = 0, {}
    (model_dir / "config.gin").write_text(gin.config_str())

    # ------------------------------------------------------------------ data
    data_cfg = input_pipeline.DataConfig(
        mixture=mixture, inputs_length=inputs_length, targets_length=targets_length,
        batch_size=batch_size // jax.process_count(), pack=pack, seed=seed,
        model_type=model_type, shard_index=jax.process_index(), num_shards=jax.process_count())
    if cache_batches:
        store = input_pipeline.BatchStore.build(data_cfg, train_steps, cache_dir("batches"))
        batch_at = store.__getitem__
    else:
        it = input_pipeline.stream(data_cfg, start_step)
        batch_at = lambda step: next(it)
    batch_shard = partitioning.batch_sharding(mesh)

    step_fn = jax.jit(make_train_step(model, optimizer, dropout and _has_dropout(model_config)),
                      in_shardings=(state_shard, batch_shard, partitioning.replicated(mesh)),
                      out_shardings=(state_shard, partitioning.replicated(mesh)),
                      donate_argnums=(0,))
    base_rng = jax.random.PRNGKey(seed + 1)

    # ------------------------------------------------------------------ loop
    stop = stop_flag or _StopFlag()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM,)}
    writer = _Writers(model_dir)
    progress = Progress(train_steps, start_step, label=progress_label)
    step, last_loss, t0, tokens_since = start_step, float("nan"), time.time(), 0.0
    try:
        while step < train_steps:
            # each host holds its own shard of the global batch (seqio ShardInfo)
            batch = {k: jax.make_array_from_process_local_data(batch_shard, v)
                     for k, v in batch_at(step).items()}
            state, metrics = step_fn(state, batch, base_rng)
            step += 1
            last_loss = float(metrics["loss"])
            tokens_since += float(metrics["tokens"])
            if not np.isfinite(last_loss):
                good = ckpt.steps()
                raise TrainingDiverged(
                    f"loss is {last_loss} at step {step}; stopping. The last good checkpoint "
                    f"is {'step ' + str(good[-1]) if good else 'none'} in {ckpt.directory}; "
                    f"lower the learning rate or check the data, then re-run to resume")
            if step % log_every == 0 or step == train_steps:
                dt = max(time.time() - t0, 1e-9)
                row = {"step": step, "loss": last_loss, "tokens_per_s": tokens_since / dt,
                       "learning_rate": float(lr_schedule(step))}
                writer.write(row)
                progress.update(step, last_loss, row["tokens_per_s"])
                t0, tokens_since = time.time(), 0.0
            meta = {"step": step, "loss": last_loss, "mixture": mixture}
            saved = step % checkpoint_every == 0 or step == train_steps
            if saved:
                ckpt.save(step, state, meta)
            if stop.signal is not None:
                # a signal that lands during a periodic save must not save the step twice
                if not saved:
                    ckpt.save(step, state, meta)
                log.warning("signal %s: saved step %d in %s and stopping; re-run to resume",
                            stop.signal, step, ckpt.directory)
                return TrainResult(str(model_dir), step, last_loss, stopped_by_signal=True)
    finally:
        progress.close()
        writer.close()
        ckpt.close()
        for s, h in previous.items():
            signal.signal(s, h)
    return TrainResult(str(model_dir), step, last_loss)


def _has_dropout(model_config) -> bool:
    return getattr(model_config, "dropout_rate", 0.0) > 0


class _Writers:
    """metrics.jsonl (one row per log step) and TensorBoard event files, host 0 only."""

    def __init__(self, model_dir: Path):
        self.enabled = jax.process_index() == 0
        self.path = model_dir / "metrics.jsonl"
        self.tb = None
        if self.enabled:
            from tensorboardX import SummaryWriter
            self.tb = SummaryWriter(str(model_dir / "tensorboard"))

    def write(self, row: dict):
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        for k, v in row.items():
            if k != "step":
                self.tb.add_scalar(f"train/{k}", v, row["step"])

    def close(self):
        if self.tb is not None:
            self.tb.close()


if __name__ == "__main__":   # pragma: no cover
    sys.exit("use `flan-repro train`")
