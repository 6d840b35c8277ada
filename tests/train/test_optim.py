"""Our Adafactor is optax's, faster: the same updates and an optax-shaped state, so
checkpoints are interchangeable."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from flan_repro.train import optim


@pytest.mark.parametrize("mps,wd", [(False, None), (True, None), (False, 0.01)])
def test_fast_adafactor_matches_optax(mps, wd):
    params = {"embed": jnp.full((300, 130), 0.1), "head": jnp.full((130, 300), 0.2),
              "attn": jnp.full((130, 3, 20), 0.1), "scale": jnp.ones((130,)),
              "mlp": jnp.full((130, 260), 0.05)}
    lr = optax.constant_schedule(1e-3)
    ref = optax.adafactor(lr, multiply_by_parameter_scale=mps, weight_decay_rate=wd)
    new = optim.adafactor(lr, multiply_by_parameter_scale=mps, weight_decay_rate=wd)
    sr, sn = ref.init(params), new.init(params)
    assert jax.tree.structure(sr) == jax.tree.structure(sn)     # checkpoints interchangeable
    pr = pn = params
    for i in range(3):
        g = jax.tree.map(lambda p: jax.random.normal(jax.random.PRNGKey(i), p.shape), params)
        ur, sr = jax.jit(ref.update)(g, sr, pr)
        un, sn = jax.jit(new.update)(g, sn, pn)
        pr, pn = optax.apply_updates(pr, ur), optax.apply_updates(pn, un)
        for a, b in zip(jax.tree.leaves(ur), jax.tree.leaves(un)):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-9)
    for a, b in zip(jax.tree.leaves(sr), jax.tree.leaves(sn)):
        np.testing.assert_allclose(a, b, rtol=2e-5)


def test_make_optimizer_adafactor_state_is_optax_shaped():
    opt, _ = optim.make_optimizer(name="adafactor")
    p = {"w": jnp.ones((256, 300))}
    ref = optax.adafactor(optax.constant_schedule(3e-5), multiply_by_parameter_scale=False)
    assert jax.tree.structure(opt.init(p)) == jax.tree.structure(ref.init(p))
