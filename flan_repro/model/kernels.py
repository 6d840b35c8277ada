"""XLA:CPU formulations of two operations the layers run in every step.

Each function here computes exactly what its plain jax counterpart computes (same values,
same gradients up to float rounding); only the program XLA:CPU gets differs:

  project        `jnp.einsum(equation, x, kernel)` for the layers' projections. XLA:CPU
                 lowers multi-axis contractions such as 'bld,dhk->blhk' (and their
                 gradients, which contract over batch and length) with transposed copies of
                 the activations around the dots; flattened to one [tokens, in] @ [in, out]
                 matmul (a free reshape of row-major arrays) every forward and backward dot
                 reads its operands in place.
  _matmul        that matmul, with the weight gradient computed as (x^T, materialised) @ g:
                 left alone XLA:CPU folds the transpose into a dot contracting the token axis
                 of both operands, which it runs slower than a copy plus a plain matmul.
  broadcast_add  `a + b` whose gradient sums a broadcast batch axis (the relative position
                 bias [1, h, q, k] against a [b, 1, q, k] mask) as a ones-vector product,
                 which XLA:CPU runs much faster than a reduce over the leading axis.

They are kept apart from the layers so that `layers.py` reads as T5's math.
"""
from __future__ import annotations

import functools
import math
from typing import Optional, Tuple

import jax
import jax.numpy as jnp

Array = jax.Array


@functools.lru_cache(maxsize=None)
def _matmul_split(equation: str) -> Optional[Tuple[int, int]]:
    """(#leading x axes kept, #contracted axes) if `equation` is a plain matmul in disguise.

    That is x = P + C, kernel = C + S, out = P + S (no repeated or summed-out letters), e.g.
    'bld,dhk->blhk' or 'bqhd,hdD->bqD'. Otherwise None.
    """
    lhs, out = equation.replace(" ", "").split("->")
    a, b = lhs.split(",")
    if any(len(set(t)) != len(t) for t in (a, b, out)):
        return None
    for n in range(1, min(len(a), len(b)) + 1):
        if a[len(a) - n:] == b[:n] and out == a[:len(a) - n] + b[n:]:
            return len(a) - n, n
    return None


def project(equation: str, x: Array, kernel: Array, **kwargs) -> Array:
    """`jnp.einsum(equation, x, kernel)`, as one 2-D matmul whenever the equation allows."""
    split = _matmul_split(equation)
    if (split is None or x.ndim != sum(split) or set(kwargs) - {"preferred_element_type"}
            or tuple(kernel.shape[:split[1]]) != tuple(x.shape[split[0]:])):
        return jnp.einsum(equation, x, kernel, **kwargs)
    keep, contract = split
    lead, inner = x.shape[:keep], x.shape[keep:]
    tail = kernel.shape[contract:]
    k = math.prod(inner)
    dtype = jnp.result_type(x, kernel)
    y = _matmul(x.reshape(-1, k).astype(dtype), kernel.reshape(k, -1).astype(dtype),
                kwargs.get("preferred_element_type"))
    return y.reshape(*lead, *tail)


_MATMUL_DIMS = (((1,), (0,)), ((), ()))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _matmul(x: Array, w: Array, preferred_element_type=None) -> Array:
    """[n, k] @ [k, m] with jax's own dot_general gradients, except dw = (x^T) @ g."""
    return jax.lax.dot_general(x, w, _MATMUL_DIMS, preferred_element_type=preferred_element_type)


def _matmul_fwd(x, w, preferred_element_type):
    return _matmul(x, w, preferred_element_type), (x, w)


def _matmul_bwd(preferred_element_type, res, g):
    x, w = res
    dx = jax.lax.dot_general(g, w, (((1,), (1,)), ((), ())),
                             preferred_element_type=preferred_element_type)
    x_t = jax.lax.optimization_barrier(x.T)   # keep the transpose a copy, not a dot layout
    dw = jax.lax.dot_general(x_t, g, _MATMUL_DIMS, preferred_element_type=preferred_element_type)
    return dx.astype(x.dtype), dw.astype(w.dtype)


_matmul.defvjp(_matmul_fwd, _matmul_bwd)


def broadcast_add(a: Array, b: Array) -> Array:
    """`a + b` with numpy broadcasting (see the module docstring for its gradient)."""
    meta = (tuple(a.shape), jnp.dtype(a.dtype), tuple(b.shape), jnp.dtype(b.dtype))
    return _broadcast_add(a, b, meta)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _broadcast_add(a: Array, b: Array, meta) -> Array:
    """`meta`: (a.shape, a.dtype, b.shape, b.dtype), static."""
    del meta
    return a + b


def _broadcast_add_fwd(a, b, meta):
    return a + b, None


def _sum_to(g: Array, shape: Tuple[int, ...]) -> Array:
    """Sum the broadcast cotangent `g` back to `shape` (same rank or fewer leading dims)."""
    while g.ndim > len(shape):
        g = jnp.tensordot(jnp.ones((g.shape[0],), g.dtype), g, axes=([0], [0]))
    if shape and g.shape[0] != shape[0] and shape[0] == 1:
        g = jnp.tensordot(jnp.ones((g.shape[0],), g.dtype), g, axes=([0], [0]))[None]
    axes = tuple(i for i, (n, m) in enumerate(zip(g.shape, shape)) if n != m)
    return jnp.sum(g, axis=axes, keepdims=True) if axes else g


def _broadcast_add_bwd(meta, _, g):
    a_shape, a_dtype, b_shape, b_dtype = meta
    return _sum_to(g, a_shape).astype(a_dtype), _sum_to(g, b_shape).astype(b_dtype)


_broadcast_add.defvjp(_broadcast_add_fwd, _broadcast_add_bwd)
