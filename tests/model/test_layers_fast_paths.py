"""The layers' XLA:CPU fast paths are math-preserving: each equals the plain formulation
(values and gradients)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from flan_repro.model import layers as L


@pytest.mark.parametrize("equation,x_shape,k_shape", [
    ("bld,dhk->blhk", (2, 5, 8), (8, 3, 4)),
    ("bqhd,hdD->bqD", (2, 5, 3, 4), (3, 4, 8)),
    ("bld,df->blf", (2, 5, 8), (8, 16)),
    ("blf,fd->bld", (2, 5, 16), (16, 8)),
    ("bqhd,bkhd->bhqk", (2, 5, 3, 4), (2, 6, 3, 4)),        # not a matmul: plain einsum
])
def test_project_matches_einsum_values_and_grads(equation, x_shape, k_shape):
    kx, kk, kg = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(kx, x_shape)
    k = jax.random.normal(kk, k_shape)
    out_shape = jnp.einsum(equation, x, k).shape
    g = jax.random.normal(kg, out_shape)
    fast = lambda x, k: jnp.sum(L.project(equation, x, k) * g)
    ref = lambda x, k: jnp.sum(jnp.einsum(equation, x, k) * g)
    np.testing.assert_allclose(L.project(equation, x, k), jnp.einsum(equation, x, k),
                               rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.grad(fast, (0, 1))(x, k), jax.grad(ref, (0, 1))(x, k)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_project_keeps_preferred_element_type_and_bf16():
    x = jnp.ones((2, 3, 4), jnp.bfloat16)
    k = jnp.ones((4, 5), jnp.bfloat16)
    assert L.project("bld,dv->blv", x, k).dtype == jnp.bfloat16
    assert L.project("bld,dv->blv", x, k, preferred_element_type=jnp.float32).dtype == \
        jnp.float32
    gx, gk = jax.grad(lambda x, k: jnp.sum(L.project("bld,dv->blv", x, k).astype(jnp.float32)),
                      (0, 1))(x, k)
    assert gx.dtype == jnp.bfloat16 and gk.dtype == jnp.bfloat16


@pytest.mark.parametrize("a_shape,b_shape", [
    ((1, 4, 5, 6), (3, 1, 5, 6)), ((3, 4, 5, 6), (3, 1, 5, 6)), ((1, 4, 5, 6), (1, 1, 5, 6))])
def test_add_biases_grads_match_plain_add(a_shape, b_shape):
    ka, kb, kw = jax.random.split(jax.random.PRNGKey(1), 3)
    a, b = jax.random.normal(ka, a_shape), jax.random.normal(kb, b_shape)
    w = jax.random.normal(kw, jnp.broadcast_shapes(a_shape, b_shape))
    fast = jax.grad(lambda a, b: jnp.sum(L.add_biases(a, b) * w), (0, 1))(a, b)
    ref = jax.grad(lambda a, b: jnp.sum((a + b) * w), (0, 1))(a, b)
    for x, y in zip(fast, ref):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-5)
