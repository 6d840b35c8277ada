"""Optimizers of FLAN's recipes, configurable from gin.

FLAN (137B LaMDA-PT): Adafactor, constant learning rate 3e-5. Flan-T5: Adafactor,
constant 5e-4 (its gin files). Adam(W) for users who prefer it.
"""
from __future__ import annotations

import gin
import optax


@gin.configurable
def learning_rate_schedule(learning_rate: float = 3e-5, warmup_steps: int = 0,
                           decay: str = "constant", total_steps: int | None = None):
    if decay == "constant":
        sched = optax.constant_schedule(learning_rate)
    elif decay == "rsqrt":      # T5 pre-training: lr / sqrt(max(step, warmup))
        sched = lambda step: learning_rate * (max(warmup_steps, 1) ** 0.5) / \
            optax.safe_int32_increment(step).astype("float32").clip(max(warmup_steps, 1)) ** 0.5
    elif decay == "linear":
        if not total_steps:
            raise ValueError("learning_rate_schedule.decay='linear' needs total_steps")
        sched = optax.linear_schedule(learning_rate, 0.0, total_steps - warmup_steps)
    else:
        raise ValueError(f"learning_rate_schedule.decay must be constant, rsqrt or linear, "
                         f"got {decay!r}")
    if warmup_steps and decay != "rsqrt":
        sched = optax.join_schedules(
            [optax.linear_schedule(0.0, learning_rate, warmup_steps), sched], [warmup_steps])
    return sched


@gin.configurable
def make_optimizer(name: str = "adafactor", weight_decay: float = 0.0,
                   clip_grad_norm: float | None = None, grad_accum_steps: int = 1,
                   multiply_by_parameter_scale: bool = False):
    """The optax transformation; `grad_accum_steps` > 1 wraps it in optax.MultiSteps."""
    lr = learning_rate_schedule()
    if name == "adafactor":
        opt = optax.adafactor(lr, multiply_by_parameter_scale=multiply_by_parameter_scale,
                              weight_decay_rate=weight_decay or None)
    elif name == "adamw":
        opt = optax.adamw(lr, weight_decay=weight_decay)
    else:
        raise ValueError(f"make_optimizer.name must be 'adafactor' or 'adamw', got {name!r}")
    if clip_grad_norm:
        opt = optax.chain(optax.clip_by_global_norm(clip_grad_norm), opt)
    if grad_accum_steps > 1:
        opt = optax.MultiSteps(opt, every_k_schedule=grad_accum_steps)
    return opt, lr
