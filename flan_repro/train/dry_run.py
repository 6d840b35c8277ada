"""`train --dry_run`: the model built abstractly, its size and per-device memory.

Nothing is allocated: shapes come from `jax.eval_shape`, so an 11B-parameter config
can be checked on a laptop before it is sent to a TPU pod.
"""
from __future__ import annotations

import gin
import jax
import numpy as np
from flax import linen as nn

from flan_repro.model.loading import build_model
from flan_repro.train import optim, partitioning


def _bytes_per_device(tree, shardings, mesh) -> float:
    total = 0.0
    for leaf, sh in zip(jax.tree.leaves(tree), jax.tree.leaves(
            shardings, is_leaf=lambda x: hasattr(x, "spec"))):
        n = np.prod(leaf.shape) * np.dtype(leaf.dtype).itemsize
        split = 1
        for axis in sh.spec:
            for a in (axis if isinstance(axis, tuple) else (axis,)):
                if a is not None:
                    split *= mesh.shape[a]
        total += n / split
    return total


def dry_run(num_devices: int | None = None) -> str:
    model_config = gin.query_parameter("train.model_config").scoped_configurable_fn()
    model, dummy = build_model(model_config)
    boxed = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), **dummy()))
    params = nn.meta.unbox(boxed)["params"]
    n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))
    mesh = partitioning.make_mesh()
    shard = partitioning.param_shardings(nn.get_partition_spec(boxed)["params"], mesh)
    p_bytes = _bytes_per_device(params, shard, mesh)
    optimizer, _ = optim.make_optimizer(run_steps=1)   # shapes only
    opt_state = jax.eval_shape(optimizer.init, params)
    o_bytes = sum(np.prod(x.shape) * np.dtype(x.dtype).itemsize
                  for x in jax.tree.leaves(opt_state))
    gib = 1024 ** 3
    return (f"model: {type(model_config).__name__} "
            f"(d_model {model_config.d_model}, vocab {model_config.vocab_size})\n"
            f"parameters: {n_params:,} ({n_params / 1e6:.1f}M)\n"
            f"mesh: {dict(mesh.shape)} over {mesh.devices.size} device(s)\n"
            f"per-device memory: params {p_bytes / gib:.3f} GiB, gradients {p_bytes / gib:.3f} "
            f"GiB, optimizer state <= {o_bytes / gib:.3f} GiB (replicated upper bound), "
            f"activations not included")
