"""One device mesh with 'data' and 'model' axes, and logical-axis rules onto it.

Parameters carry logical axis names (embed, mlp, heads, kv, vocab...) from the model;
these rules decide which are split over the 'model' axis (Megatron-style: heads, mlp
and vocab), everything else replicated; batches are split over 'data'. The same code
runs on 1 CPU, 8 host devices in tests, or a TPU pod slice.
"""
from __future__ import annotations

import gin
import jax
import numpy as np
from flax import linen as nn
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

LOGICAL_AXIS_RULES = (
    ("batch", "data"),
    ("vocab", "model"),
    ("mlp", "model"),
    ("heads", "model"),
    ("embed", None),
    ("kv", None),
    ("length", None),
    ("relpos_buckets", None),
)


@gin.configurable
def make_mesh(model_parallel: int = 1, num_devices: int | None = None, devices=None) -> Mesh:
    """`num_devices` limits the mesh to the first n devices (tests compare 1 vs 8)."""
    devices = np.asarray(devices if devices is not None else jax.devices()[:num_devices])
    if devices.size % model_parallel:
        raise ValueError(f"make_mesh.model_parallel={model_parallel} does not divide the "
                         f"{devices.size} devices")
    return Mesh(devices.reshape(-1, model_parallel), ("data", "model"))


def param_shardings(logical_axes, mesh: Mesh):
    """Tree of PartitionSpecs of logical names -> tree of NamedShardings on `mesh`."""
    return nn.logical_to_mesh_sharding(logical_axes, mesh, LOGICAL_AXIS_RULES)


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P("data"))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())
