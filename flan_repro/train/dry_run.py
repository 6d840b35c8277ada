"""`train --dry_run`: the model built abstractly, its size, and whether a step fits a device.

Nothing is allocated and no device is needed: shapes come from `jax.eval_shape` and the
mesh is a `jax.sharding.AbstractMesh` of the gin's shape (`make_mesh.model_parallel`,
`make_mesh.num_devices`), so an 11B-parameter run on a 32-chip pod slice can be checked
on a laptop before the slice exists. Per device it reports the parameters, their
gradients and the optimizer state, each with the sharding the trainer gives it, and an
estimate of the activations the backward pass keeps for the configured batch and
lengths; then whether their sum fits a device (`--device_memory` or `--device_kind`).
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import re

import gin
import numpy as np

GiB = 1024 ** 3

# Memory per device (HBM) of common accelerators, as their vendors state it; "GB" is
# read as 10^9 bytes. The runtime reserves part of it, so a run that fits with little
# headroom may still not fit: leave a few GiB.
DEVICE_MEMORY = {
    "tpu_v4": "32GiB",
    "tpu_v5e": "16GiB",
    "tpu_v5p": "95GB",
    "a100_40gb": "40GiB",
    "a100_80gb": "80GiB",
    "h100_80gb": "80GiB",
}
_UNITS = {"b": 1, "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}


def parse_size(text: str) -> int:
    """'32GiB', '16 GB', '500MiB' -> bytes (GB = 10^9, GiB = 2^30)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)\s*", str(text), re.I)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--device_memory {text!r} is not a size: write a number and a unit, "
                         f"e.g. 32GiB or 16GB (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def add_device_arguments(p) -> None:
    """The flags a dry run compares its memory with (train and ablation)."""
    p.add_argument("--device_memory", default=None,
                   help="with --dry_run: the memory of one device (e.g. 32GiB, 16GB); says "
                        "whether a training step fits")
    p.add_argument("--device_kind", default=None,
                   help=f"with --dry_run: a device whose memory is known "
                        f"({', '.join(DEVICE_MEMORY)})")


def check_device_arguments(args) -> None:
    """A device size needs --dry_run, and a bad one fails before any work."""
    if args.device_memory is None and args.device_kind is None:
        return
    if not args.dry_run:
        raise ValueError("--device_memory and --device_kind compare a dry run's memory "
                         "with a device: add --dry_run")
    device_capacity(args.device_memory, args.device_kind)


def device_capacity(device_memory: str | None = None,
                    device_kind: str | None = None) -> tuple[str, int] | None:
    """(what the capacity is of, bytes) from a size or a named device kind, or None."""
    if device_memory is not None and device_kind is not None:
        raise ValueError("pass --device_memory or --device_kind, not both")
    if device_memory is not None:
        return f"--device_memory {device_memory}", parse_size(device_memory)
    if device_kind is None:
        return None
    kind = re.sub(r"[\s-]+", "_", device_kind.strip().lower())
    if kind not in DEVICE_MEMORY:
        close = difflib.get_close_matches(kind, DEVICE_MEMORY, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise ValueError(f"--device_kind {device_kind!r} is not in the table: {hint}choose one "
                         f"of {', '.join(DEVICE_MEMORY)}, or give --device_memory SIZE")
    return f"{kind} ({DEVICE_MEMORY[kind]})", parse_size(DEVICE_MEMORY[kind])


def activation_bytes(config, model_type: str, batch_size: int, inputs_length: int,
                     targets_length: int, data_parallel: int = 1, model_parallel: int = 1) -> int:
    """Per-device bytes of the activations one training step keeps for its backward pass,
    without rematerialisation (the trainer has none), for a T5 block stack.

    The peak of a step is where the backward pass starts: every layer's saved tensors
    are alive and no gradient has freed any. Counted per token of the stack a block runs
    over, in the activation dtype, what each block's gradient needs and XLA keeps:
      * every block (attention or MLP), 3 x d_model: its input (the RMSNorm's gradient),
        the normalised input (the projections' weight gradients) and the branch added to
        the residual stream; 4 x under model parallelism, where the branch is a partial
        sum until its all-reduce;
      * attention: the query and output projections' inputs, 2 x heads x d_kv per query
        token, keys and values, 2 x heads x d_kv per key token; and two float32 copies of
        the [heads, queries, keys] scores (the softmax and the dropped-out weights). At
        FLAN's 1024 input tokens the scores are a third of an encoder layer;
      * gated-GELU MLP, 5 x d_ff: both input projections, the GELU, their product and the
        dropped-out product the output projection reads;
    once per sequence: the attention masks as float32 biases [q, k], the final norms'
    inputs and outputs (the encoder's output feeds every cross-attention), and three
    float32 [tokens, vocab] buffers around the loss (logits or softmax, the target's
    scatter, the logits' gradient); and once per stack the float32 relative position
    bias [heads, q, k]. Dropout masks cost nothing: XLA regenerates them from the seed.

    Per device: the batch is split over 'data'; heads, d_ff and the vocabulary over
    'model' (the logical-axis rules); d_model-wide tensors are replicated over 'model'.

    The known answer is XLA's own buffer assignment of the real train step on CPU
    (`tests/train/test_memory.py`): this is within 7% of it on one device and on 8x1, 4x2
    and 2x4 meshes. It reads low (~15%) when a device holds a single attention head,
    and high (~20%) for a decoder-only model whose vocabulary dominates (XLA kept two loss
    buffers there, not three). bfloat16 activations are counted at 2 bytes, as a TPU
    keeps them; XLA:CPU computes them in float32, so that case is not checked against it.
    """
    ab = np.dtype(config.dtype).itemsize
    b = math.ceil(batch_size / data_parallel)
    h = math.ceil(config.num_heads / model_parallel)
    hk, f = h * config.d_kv, math.ceil(config.d_ff / model_parallel)
    v = math.ceil(config.vocab_size / model_parallel)
    d = config.d_model
    block = (3 if model_parallel == 1 else 4) * d

    def mlp(length):
        return length * (block + 5 * f) * ab

    def attention(q_len, k_len):
        own = (block + 2 * hk) * q_len + 2 * hk * k_len
        return own * ab + 2 * 4 * h * q_len * k_len

    if model_type == "prefix_lm":
        n = inputs_length + targets_length
        per_sequence = (config.num_layers * (attention(n, n) + mlp(n))
                        + 4 * n * n + 2 * d * n * ab + 3 * 4 * n * v)
        return b * per_sequence + 4 * h * n * n
    le, lt = inputs_length, targets_length
    per_sequence = (config.num_encoder_layers * (attention(le, le) + mlp(le))
                    + config.num_decoder_layers * (attention(lt, lt) + attention(lt, le)
                                                   + mlp(lt))
                    + 4 * (le * le + lt * lt + lt * le)      # the masks, as float32 biases
                    + 2 * d * (le + lt) * ab                 # the final norms' in/outputs
                    + 3 * 4 * lt * v)                        # around the loss
    return b * per_sequence + 4 * h * (le * le + lt * lt)   # the position biases


@dataclasses.dataclass(frozen=True)
class Estimate:
    """One training step of the parsed gin, per device (bytes)."""
    model_config: object
    num_params: int
    param_total: int                # all parameters, unsharded
    mesh_shape: dict
    batch_size: int
    inputs_length: int
    targets_length: int
    pack: bool
    optimizer: str
    params: int
    gradients: int
    optimizer_state: int
    optimizer_total: int            # the whole optimizer state, unsharded
    activations: int

    @property
    def total(self) -> int:
        return self.params + self.gradients + self.optimizer_state + self.activations


def _setting(fn, name: str):
    """`fn.name` as the parsed gin binds it (a macro read through), else fn's default."""
    try:
        value = gin.query_parameter(f"{fn.__name__}.{name}")
    except ValueError:
        return inspect.signature(fn).parameters[name].default
    return value.scoped_configurable_fn() if hasattr(value, "scoped_configurable_fn") else value


def _model_config():
    try:
        ref = gin.query_parameter("train.model_config")
    except ValueError:
        ref = gin.REQUIRED
    if ref is gin.REQUIRED or not hasattr(ref, "scoped_configurable_fn"):
        raise ValueError("bad gin configuration: train.model_config is required; include a "
                         "model gin file (gin/model/*.gin) or a training recipe")
    return ref.scoped_configurable_fn()


def _bytes_per_device(tree, shardings, what: str) -> int:
    """Bytes of one device's shard of every leaf; a split the trainer could not make
    (an axis the mesh does not divide, e.g. T5-small's 6 heads over 8) is named."""
    import jax
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    shards = jax.tree.leaves(shardings, is_leaf=lambda x: hasattr(x, "shard_shape"))
    total = 0
    for (path, a), s in zip(leaves, shards, strict=True):
        split = [dict(s.mesh.shape)[ax] if ax else 1 for ax in
                 tuple(s.spec) + (None,) * (len(a.shape) - len(s.spec))]
        bad = [i for i, (n, k) in enumerate(zip(a.shape, split)) if n % k]
        if bad:
            name = "/".join(str(getattr(k, "key", k)) for k in path)
            raise ValueError(
                f"{what} {name} {list(a.shape)} cannot be split over the mesh "
                f"{dict(s.mesh.shape)}: its axis {bad[0]} ({a.shape[bad[0]]}) is not a multiple "
                f"of {split[bad[0]]}; bind a make_mesh.model_parallel that divides the model's "
                f"heads, d_ff and vocabulary")
        total += math.prod(s.shard_shape(a.shape)) * np.dtype(a.dtype).itemsize
    return total


def _nbytes(tree) -> int:
    import jax
    return sum(math.prod(a.shape) * np.dtype(a.dtype).itemsize for a in jax.tree.leaves(tree))


def estimate() -> Estimate:
    """The per-device memory of a training step of the currently parsed gin; shapes only."""
    import jax
    from flax import linen as nn

    from flan_repro.model import loading
    from flan_repro.train import optim, partitioning
    from flan_repro.train.trainer import train
    config = _model_config()
    model, dummy = loading.build_model(config)
    boxed = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), **dummy()))
    params = nn.meta.unbox(boxed)["params"]
    mesh = partitioning.make_mesh(abstract=True)
    param_shard = partitioning.param_shardings(nn.get_partition_spec(boxed)["params"], mesh)
    optimizer, _ = optim.make_optimizer(run_steps=1)     # the state's shapes only
    opt_state = jax.eval_shape(optimizer.init, params)
    opt_shard = partitioning.optimizer_state_shardings(opt_state, params, param_shard)
    shape = dict(mesh.shape)
    batch_size = int(_setting(train, "batch_size"))
    inputs_length = int(_setting(train, "inputs_length"))
    targets_length = int(_setting(train, "targets_length"))
    p_bytes = _bytes_per_device(params, param_shard, "parameter")
    return Estimate(
        model_config=config, num_params=sum(math.prod(a.shape) for a in jax.tree.leaves(params)),
        param_total=_nbytes(params), mesh_shape=shape, batch_size=batch_size,
        inputs_length=inputs_length, targets_length=targets_length,
        pack=bool(_setting(train, "pack")), optimizer=_setting(optim.make_optimizer, "name"),
        params=p_bytes, gradients=p_bytes,
        optimizer_state=_bytes_per_device(opt_state, opt_shard, "optimizer state"),
        optimizer_total=_nbytes(opt_state),
        activations=activation_bytes(config, loading.model_type(config), batch_size,
                                     inputs_length, targets_length, shape["data"],
                                     shape["model"]))


def _gib(n: float) -> str:
    return f"{n / GiB:.2f} GiB" if n >= GiB / 10 else f"{n / 2 ** 20:.1f} MiB"


def memory_report(device_memory: str | None = None, device_kind: str | None = None) -> str:
    """The memory table of a training step of the currently parsed gin: parameter count,
    mesh, batch, per-device parameters, gradients, optimizer state and activations, and,
    given a capacity (`device_memory` such as '32GiB', or a `device_kind` of
    DEVICE_MEMORY), a FITS / DOES NOT FIT line. Nothing is allocated.

    The total counts the gradients whole, a bound from above: with the state donated,
    XLA may apply each parameter's update as soon as its gradient exists."""
    capacity = device_capacity(device_memory, device_kind)     # a bad size fails first
    e = estimate()
    mesh = e.mesh_shape
    n = math.prod(mesh.values())
    per_shard = math.ceil(e.batch_size / mesh["data"])
    lines = [
        f"parameters: {e.num_params:,} ({_count(e.num_params)}), {_gib(e.param_total)}",
        f"mesh: {mesh} over {n} device(s)",
        f"batch: {e.batch_size} sequences ({per_shard} per data shard), inputs "
        f"{e.inputs_length} / targets {e.targets_length} tokens"
        f"{', packed' if e.pack else ''}; activations {e.model_config.dtype}",
        "memory per device, without rematerialisation (the trainer has none):",
        f"  parameters       {_gib(e.params):>11}  (of {_gib(e.param_total)}, sharded "
        f"over 'model')",
        f"  gradients        {_gib(e.gradients):>11}  (sharded like the parameters)",
        f"  optimizer state  {_gib(e.optimizer_state):>11}  ({e.optimizer}, of "
        f"{_gib(e.optimizer_total)}, sharded like the parameters)",
        f"  activations      {_gib(e.activations):>11}  (estimate: what the backward "
        f"pass keeps)",
        f"  total            {_gib(e.total):>11}",
    ]
    if capacity is None:
        lines.append("fits: pass --device_memory SIZE (e.g. 32GiB) or --device_kind "
                     f"({', '.join(DEVICE_MEMORY)}) to compare")
    else:
        name, size = capacity
        verdict = "FITS" if e.total <= size else "DOES NOT FIT"
        lines.append(f"{verdict}: {_gib(e.total)} per device vs {_gib(size)} on {name}")
    return "\n".join(lines)


def _count(n: int) -> str:
    return f"{n / 1e9:.3g}B" if n >= 1e9 else f"{n / 1e6:.3g}M"


def dry_run(device_memory: str | None = None, device_kind: str | None = None) -> str:
    """`train --dry_run`: the model's configuration, then `memory_report`."""
    config = _model_config()
    layers = (f"{config.num_layers} layers" if hasattr(config, "num_layers") else
              f"{config.num_encoder_layers}+{config.num_decoder_layers} layers")
    head = (f"model: {type(config).__name__} (d_model {config.d_model}, d_ff {config.d_ff}, "
            f"{layers}, {config.num_heads} heads, vocab {config.vocab_size})")
    return head + "\n" + memory_report(device_memory, device_kind)
