"""The training loss: mean cross-entropy over the non-padding target tokens of the batch.

Pinned on purpose (a test guards it): the mean is over all weighted target tokens of
the whole (global) batch, not a mean of per-example means. With packing, an example's
weight is its number of target tokens, which is what T5/t5x's `loss_normalizing_factor`
"NUM_REAL_TARGET_TOKENS" does; gradient accumulation keeps the same definition by
summing numerators and denominators across micro-batches.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def token_nll(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """Per-token negative log-likelihood, in float32, without materialising log_softmax."""
    logits = logits.astype(jnp.float32)
    log_z = jax.nn.logsumexp(logits, axis=-1)
    picked = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    return log_z - picked


def loss_sums(logits, targets, weights) -> tuple[jax.Array, jax.Array]:
    """(sum of weighted NLL, sum of weights): accumulate these, divide at the end."""
    w = weights.astype(jnp.float32)
    return jnp.sum(token_nll(logits, targets) * w), jnp.sum(w)


def mean_token_loss(logits, targets, weights) -> jax.Array:
    total, count = loss_sums(logits, targets, weights)
    return total / jnp.maximum(count, 1.0)
