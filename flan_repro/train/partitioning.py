"""One device mesh with 'data' and 'model' axes, and logical-axis rules onto it.

Parameters carry logical axis names (embed, mlp, heads, kv, vocab...) from the model;
these rules decide which are split over the 'model' axis (Megatron-style: heads, mlp
and vocab), everything else replicated; batches are split over 'data'. The optimizer
state follows its parameters (`optimizer_state_shardings`). The same code runs on 1 CPU,
8 host devices in tests, or a TPU pod slice; `make_mesh(abstract=True)` gives the mesh's
shape without devices, for a dry run on a laptop.
"""
from __future__ import annotations

import gin
import jax
import numpy as np
from flax import linen as nn
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec as P

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
AXES = ("data", "model")
INSTALL = ("install the accelerator's jax (`make install ACCEL=tpu` on a TPU VM, "
           "`make install ACCEL=cuda12` on NVIDIA GPUs), start every worker of a pod slice "
           "with --distributed, or check the configuration without devices with --dry_run")


@gin.configurable
def make_mesh(model_parallel: int = 1, num_devices: int | None = None, devices=None,
              abstract: bool = False) -> Mesh | AbstractMesh:
    """A (data, model) mesh of `num_devices` devices, `model_parallel` of them per model copy.

    num_devices: the size of the target machine (a pod slice's gin binds it, so a dry run
      knows the mesh without the devices); None means every device jax sees. A real run
      that sees fewer devices stops here, before any data or weights are touched, saying
      how to install the accelerator's jax. Fewer is allowed: tests compare a 1-device
      mesh with 8 host devices.
    abstract: the mesh's shape only (`jax.sharding.AbstractMesh`), for `train --dry_run`.
    """
    if abstract:
        n = num_devices if num_devices is not None else jax.device_count()
        if num_devices is None and n % model_parallel:
            raise ValueError(f"make_mesh.model_parallel={model_parallel} does not divide the {n} "
                             f"device(s) here: to check the mesh of another machine, bind its "
                             f"device count (e.g. --gin.make_mesh.num_devices=8)")
        return AbstractMesh(_shape(n, model_parallel, num_devices), AXES)
    if devices is None:
        found = jax.devices()
        wanted = num_devices if num_devices is not None else len(found)
        if wanted > len(found) or model_parallel > len(found):
            needs = max(wanted, model_parallel)
            mesh = "x".join(map(str, _shape(needs, model_parallel, num_devices)))
            raise ValueError(
                f"the mesh (data x model = {mesh}, make_mesh.model_parallel={model_parallel}, "
                f"make_mesh.num_devices={num_devices}) needs {needs} devices but jax found "
                f"{len(found)} {jax.default_backend()} device(s): {INSTALL}")
        devices = found[:wanted]
    devices = np.asarray(devices)
    return Mesh(devices.reshape(_shape(devices.size, model_parallel, num_devices)), AXES)


def _shape(n: int, model_parallel: int, num_devices: int | None) -> tuple[int, int]:
    if model_parallel < 1 or n % model_parallel:
        where = "make_mesh.num_devices" if num_devices is not None else "the devices found"
        raise ValueError(f"make_mesh.model_parallel={model_parallel} does not divide {where} "
                         f"({n}); bind a divisor of {n}")
    return n // model_parallel, model_parallel


def param_shardings(logical_axes, mesh: Mesh | AbstractMesh):
    """Tree of PartitionSpecs of logical names -> tree of NamedShardings on `mesh`."""
    return nn.logical_to_mesh_sharding(logical_axes, mesh, LOGICAL_AXIS_RULES)


def optimizer_state_shardings(opt_state, params, param_shard):
    """Shardings for an optax state tree, derived from the parameters' own.

    Every part of the state that has the parameters' tree and shapes (Adam's moments,
    Adafactor's unfactored second moments, MultiSteps' accumulated gradients) is sharded
    like the parameters. Adafactor's factored moments of a parameter are its mean over one
    of its two largest axes (`v_row` drops the largest, `v_col` the second largest, as
    optax's `_factored_dims` orders them): each keeps the sharding of the axes it keeps.
    Counters and Adafactor's (1,)-shaped placeholders are replicated. Sharding the state
    instead of replicating it divides its memory by the model-parallel factor, which
    decides whether an XXL-size model fits a 32 GiB chip.
    """
    from optax._src import factorized
    shard_leaves = jax.tree.leaves(param_shard, is_leaf=_is_sharding)
    mesh = shard_leaves[0].mesh
    treedef = jax.tree.structure(params)
    specs = [s.spec for s in shard_leaves]
    shapes = [tuple(p.shape) for p in jax.tree.leaves(params)]

    def like_params(tree, which: int | None = None):
        """`which`: 0 for v_row (the largest axis dropped), 1 for v_col, None for neither."""
        out = []
        for leaf, shape, spec in zip(jax.tree.leaves(tree), shapes, specs):
            axes = tuple(spec) + (None,) * (len(shape) - len(spec))
            if tuple(leaf.shape) == shape:
                out.append(P(*axes))
            elif which is not None and len(shape) >= 2 and tuple(leaf.shape) == _drop(
                    shape, dropped := factorized._factored_dims(shape, True, 0)[1 - which]):
                out.append(P(*(a for i, a in enumerate(axes) if i != dropped)))
            else:
                out.append(P())      # a placeholder
        return jax.tree.unflatten(treedef, [NamedSharding(mesh, s) for s in out])

    def is_param_tree(node) -> bool:
        return (not _is_array(node) and jax.tree.structure(node) == treedef
                and all(_is_array(x) for x in jax.tree.leaves(node)))

    def is_stop(node) -> bool:
        return isinstance(node, factorized.FactoredState) or is_param_tree(node)

    def shard(node):
        if isinstance(node, factorized.FactoredState):
            return factorized.FactoredState(
                count=NamedSharding(mesh, P()), v_row=like_params(node.v_row, 0),
                v_col=like_params(node.v_col, 1), v=like_params(node.v))
        return like_params(node) if is_param_tree(node) else NamedSharding(mesh, P())
    return jax.tree.map(shard, opt_state, is_leaf=is_stop)


def _drop(shape, axis: int) -> tuple:
    return tuple(n for i, n in enumerate(shape) if i != axis)


def _is_sharding(x) -> bool:
    return isinstance(x, NamedSharding)


def _is_array(x) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype")


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P("data"))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())
