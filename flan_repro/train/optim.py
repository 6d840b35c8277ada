"""Optimizers of FLAN's recipes, configurable from gin.

FLAN (137B LaMDA-PT): Adafactor, constant learning rate 3e-5. Flan-T5: Adafactor,
constant 5e-4 (its gin files). Adam(W) for users who prefer it.
"""
from __future__ import annotations

import gin
import optax


@gin.configurable
def learning_rate_schedule(learning_rate: float = 3e-5, warmup_steps: int = 0,
                           decay: str = "constant", total_steps: int | None = None,
                           run_steps: int | None = None):
    """`run_steps` (passed by the trainer, not a gin setting): the run's length, where a
    linear decay ends unless `total_steps` is bound. The toy profile decays linearly to
    zero: a constant rate leaves a tiny model's last checkpoint oscillating between
    label biases, so seen-task accuracy depends on the step it stops at."""
    total_steps = total_steps or run_steps
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
                   multiply_by_parameter_scale: bool = False, run_steps: int | None = None):
    """The optax transformation; `grad_accum_steps` > 1 wraps it in optax.MultiSteps.
    `run_steps`: the run's length (for a linear decay), passed by the trainer."""
    lr = learning_rate_schedule(run_steps=run_steps)
    if name == "adafactor":
        opt = adafactor(lr, multiply_by_parameter_scale=multiply_by_parameter_scale,
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


# ----------------------------------------------------------------------------- fast adafactor


def adafactor(learning_rate, *, multiply_by_parameter_scale: bool = False,
              weight_decay_rate: float | None = None):
    """`optax.adafactor(learning_rate, multiply_by_parameter_scale=...,
    weight_decay_rate=...)` with its other arguments at their defaults: the same chain, the
    same state pytree (checkpoints are interchangeable) and the same update rule.

    Only how two things are computed differs, both for XLA:CPU's sake: a mean over a
    short non-minor axis (d_model of the [d_model, vocab] logits kernel) is a product with
    a vector of ones (XLA turns the strided reduction into a reduce-window cascade ~7x
    slower than the matrix-vector product), and v ** -0.5 is `lax.rsqrt` (XLA lowers a
    float power to a generic pow, ~20 ns per element over the 3M unfactored attention
    statistics). Together ~1.5x faster than optax on the B1 shape; results agree with
    optax to float32 rounding (tests/bench/test_bench.py checks it).
    """
    from optax._src import factorized
    tx = [_scale_by_factored_rms(factorized)]
    tx.append(optax.clip_by_block_rms(1.0))
    tx.append(optax.scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        tx.append(optax.scale_by_param_block_rms())
    if weight_decay_rate is not None:
        tx.append(optax.add_decayed_weights(weight_decay_rate))
    tx.append(optax.scale(-1))
    return optax.chain(*tx)


def _mean(x, axis: int):
    """jnp.mean(x, axis); a short, strided axis is reduced with a ones-vector product.

    Measured on [256, 32128] (the logits kernel) over axis 0: 51 ms as a reduce, 7.7 ms as
    a product; on [32128, 256] over axis 0 the reduce wins (4.6 vs 10 ms), so the product
    is used only when the reduced axis is non-minor and shorter than the kept ones.
    """
    import jax.numpy as jnp
    axis = axis % x.ndim
    if axis == x.ndim - 1 or x.shape[axis] ** 2 >= x.size:
        return jnp.mean(x, axis=axis)
    ones = jnp.ones((x.shape[axis],), x.dtype)
    return jnp.tensordot(ones, x, axes=([0], [axis])) / x.shape[axis]


def _scale_by_factored_rms(factorized, decay_rate: float = 0.8, step_offset: int = 0,
                           min_dim_size_to_factor: int = 128, epsilon: float = 1e-30):
    """optax.scale_by_factored_rms (factored=True, optax 0.2.x defaults) with `_mean`."""
    import jax
    import jax.numpy as jnp
    reference = factorized.scale_by_factored_rms(
        True, decay_rate, step_offset, min_dim_size_to_factor, epsilon)

    def update_fn(grads, state, params):
        if params is None:
            raise ValueError("adafactor needs params")
        step = state.count
        decay_rate_t = factorized._decay_rate_pow(step - step_offset, decay_rate)

        def _update(grad, v_row, v_col, v, param):
            shape, dtype = param.shape, param.dtype
            new_v_row = jnp.zeros((1,), dtype=dtype)
            new_v_col = jnp.zeros((1,), dtype=dtype)
            new_v = jnp.zeros((1,), dtype=dtype)
            factored_dims = factorized._factored_dims(shape, True, min_dim_size_to_factor)
            grad_sqr = grad * grad + epsilon
            if factored_dims is not None:
                d1, d0 = factored_dims
                new_v_row = (decay_rate_t * v_row
                             + (1.0 - decay_rate_t) * _mean(grad_sqr, d0)).astype(dtype)
                new_v_col = (decay_rate_t * v_col
                             + (1.0 - decay_rate_t) * _mean(grad_sqr, d1)).astype(dtype)
                reduced_d1 = d1 - 1 if d1 > d0 else d1
                row_col_mean = jnp.mean(new_v_row, axis=reduced_d1, keepdims=True)
                row_factor = jax.lax.rsqrt(new_v_row / row_col_mean)
                col_factor = jax.lax.rsqrt(new_v_col)
                update = (grad * jnp.expand_dims(row_factor, axis=d0)
                          * jnp.expand_dims(col_factor, axis=d1))
            else:
                new_v = (decay_rate_t * v + (1.0 - decay_rate_t) * grad_sqr).astype(dtype)
                update = grad * jax.lax.rsqrt(new_v)
            return factorized._UpdateResult(update, new_v_row, new_v_col, new_v)

        out = jax.tree.map(_update, grads, state.v_row, state.v_col, state.v, params)
        pick = lambda f: jax.tree.map(f, out, is_leaf=lambda o: isinstance(
            o, factorized._UpdateResult))
        new_state = factorized.FactoredState(
            count=optax.safe_int32_increment(state.count), v_row=pick(lambda o: o.v_row),
            v_col=pick(lambda o: o.v_col), v=pick(lambda o: o.v))
        return pick(lambda o: o.update), new_state

    return optax.GradientTransformation(reference.init, update_fn)
