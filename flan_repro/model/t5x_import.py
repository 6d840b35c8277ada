"""Import T5 v1.1 parameters from t5x checkpoints.

Two on-disk layouts are read (both local directories):
  * legacy t5x: `checkpoint_<step>/checkpoint` is a flax msgpack of the train state
    ({'version': 3, 'optimizer': {'target': params, 'state': ...}}) whose large arrays are
    tensorstore specs pointing to zarr arrays in sibling directories named
    `target.encoder.layers_0.attention.query.kernel` (paths relative to the checkpoint dir);
    small arrays are stored inline;
  * orbax (PyTreeCheckpointer, OCDBT or per-array zarr): any tree that contains the params.

Param keys are t5x's (`target/encoder/layers_0/attention/query/kernel`, ...), which are also
ours (see t5.py) except that t5x stores attention kernels flattened to 2-D
([embed, heads*kv] and [heads*kv, embed]); they are reshaped here. Optimizer state is ignored.
The t5x checkpoint holds no model config: sizes are read from the shapes
(`t5_config_from_t5x`); `relative_attention_max_distance` (not recoverable) defaults to 128.
"""
from __future__ import annotations

import copy
import os
import re
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np

from flan_repro.model import params as params_lib
from flan_repro.model.t5 import T5Config

Leaf = Union[np.ndarray, Callable[[], np.ndarray]]
_ANCHOR = "token_embedder/embedding"


# ----------------------------------------------------------------------------- reading


def _resolve_checkpoint_dir(path: str) -> str:
    """`path` may be a model dir (checkpoint_<step>/ subdirs: latest is used) or a step dir."""
    if os.path.isfile(path):
        return os.path.dirname(path)
    steps = [int(m.group(1)) for d in os.listdir(path)
             if (m := re.fullmatch(r"checkpoint_(\d+)", d))
             and os.path.isdir(os.path.join(path, d))]
    if steps and not os.path.exists(os.path.join(path, "checkpoint")) \
        and not os.path.exists(os.path.join(path, "_METADATA")):
        return os.path.join(path, f"checkpoint_{max(steps)}")
    return path


def _is_ts_spec(node: Any) -> bool:
    return isinstance(node, dict) and "driver" in node and ("kvstore" in node or "path" in node)


def _ts_reader(spec: Dict[str, Any], ckpt_dir: str) -> Callable[[], np.ndarray]:
    """Deferred read of a t5x tensorstore spec whose path is relative to `ckpt_dir`."""
    spec = copy.deepcopy(spec)
    holder = spec["kvstore"] if isinstance(spec.get("kvstore"), dict) else spec
    rel = holder.get("path", "")
    local = rel if os.path.isabs(rel) and os.path.exists(rel) else \
        os.path.join(ckpt_dir, os.path.basename(rel.rstrip("/")))
    spec["kvstore"] = {"driver": "file", "path": local}  # also replaces gcs / gfile drivers
    spec.pop("path", None)  # tensorstore < 0.1.14 kept the path at the top level
    for k in ("chunks", "compressor"):  # t5x drops these so differently written stores open
        spec.get("metadata", {}).pop(k, None)

    def read():
        import tensorstore as ts
        return np.asarray(ts.open(spec, open=True).result().read().result())
    return read


def _zarr_dir_reader(directory: str) -> Callable[[], np.ndarray]:
    return _ts_reader({"driver": "zarr", "kvstore": {"driver": "file", "path": directory}},
                      os.path.dirname(directory))


def _read_msgpack_checkpoint(ckpt_dir: str) -> Dict[str, Leaf]:
    from flax import serialization
    with open(os.path.join(ckpt_dir, "checkpoint"), "rb") as f:
        contents = serialization.msgpack_restore(f.read())
    flat: Dict[str, Leaf] = {}

    def walk(node, prefix):
        if _is_ts_spec(node):
            flat["/".join(prefix)] = _ts_reader(node, ckpt_dir)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, prefix + (str(k),))
        elif isinstance(node, str) and node.startswith("PLACEHOLDER://"):  # orbax aggregate file
            name = node[len("PLACEHOLDER://"):]
            flat["/".join(prefix)] = _zarr_dir_reader(os.path.join(ckpt_dir, name))
        elif node is not None:
            flat["/".join(prefix)] = np.asarray(node)

    walk(contents, ())
    return flat


def _read_orbax_checkpoint(ckpt_dir: str) -> Dict[str, Leaf]:
    import jax
    import orbax.checkpoint as ocp
    ckptr = ocp.PyTreeCheckpointer()
    meta = ckptr.metadata(ckpt_dir)
    meta = getattr(meta, "item_metadata", meta)
    meta = getattr(meta, "tree", meta)
    restore_args = jax.tree_util.tree_map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), meta)
    tree = ckptr.restore(ckpt_dir, restore_args=restore_args)
    flat = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        key = "/".join(str(getattr(p, "key", getattr(p, "idx", p))) for p in path)
        flat[key] = np.asarray(leaf)
    return flat


def read_t5x_param_arrays(path: str) -> Dict[str, np.ndarray]:
    """Flat {'encoder/layers_0/attention/query/kernel': array} of the model params only.

    The params subtree is located by its `token_embedder/embedding` leaf, so 'target/...',
    'optimizer/target/...' and 'params/...' roots all work and optimizer state is skipped
    (never read from disk for legacy checkpoints).
    """
    ckpt_dir = _resolve_checkpoint_dir(path)
    if os.path.exists(os.path.join(ckpt_dir, "_METADATA")) or \
        os.path.exists(os.path.join(ckpt_dir, "manifest.ocdbt")):
        flat = _read_orbax_checkpoint(ckpt_dir)
    elif os.path.exists(os.path.join(ckpt_dir, "checkpoint")):
        flat = _read_msgpack_checkpoint(ckpt_dir)
    else:
        raise FileNotFoundError(f"no t5x (msgpack `checkpoint`) or orbax checkpoint in {ckpt_dir}")
    roots = [k[:-len(_ANCHOR)] for k in flat if k == _ANCHOR or k.endswith("/" + _ANCHOR)]
    # separate input embeddings add `encoder/token_embedder/...` below the params root
    roots = [r for r in roots if not any(r != o and r.startswith(o) for o in roots)]
    if len(roots) != 1:
        raise ValueError(f"expected exactly one {_ANCHOR} in the checkpoint, found {roots}")
    root = roots[0]
    out = {}
    for k, v in flat.items():
        if k.startswith(root):
            out[k[len(root):]] = np.asarray(v() if callable(v) else v)
    return out


# ----------------------------------------------------------------------------- conversion


def t5_config_from_t5x(flat: Dict[str, np.ndarray], **overrides) -> T5Config:
    """Infers sizes from parameter shapes (t5x checkpoints carry no config)."""
    if "encoder/layers_0/mlp/wi/kernel" in flat:
        raise NotImplementedError("non-gated MLP (T5 1.0): only T5 v1.1 gated-gelu is supported")
    vocab, d_model = flat["token_embedder/embedding"].shape
    heads, buckets = flat["encoder/relpos_bias/rel_embedding"].shape
    q = flat["encoder/layers_0/attention/query/kernel"]
    count = lambda stack: len({k.split("/")[1] for k in flat
                               if k.startswith(f"{stack}/layers_")})
    kwargs = dict(vocab_size=vocab, d_model=d_model, num_heads=heads,
                  d_kv=int(np.prod(q.shape)) // d_model // heads,
                  d_ff=flat["encoder/layers_0/mlp/wi_0/kernel"].shape[-1],
                  num_encoder_layers=count("encoder"), num_decoder_layers=count("decoder"),
                  relative_attention_num_buckets=buckets,
                  tie_word_embeddings="decoder/logits_dense/kernel" not in flat,
                  separate_input_embeddings="encoder/token_embedder/embedding" in flat)
    kwargs.update(overrides)
    return T5Config(**kwargs)


def t5x_to_params(flat: Dict[str, np.ndarray], cfg: T5Config, dtype=np.float32) -> Dict:
    """Flat t5x param arrays -> our nested params (2-D attention kernels become 3-D)."""
    import jax
    shapes = params_lib.param_shapes(cfg)
    expected = {"/".join(p.key for p in path): leaf.shape
                for path, leaf in jax.tree_util.tree_flatten_with_path(shapes)[0]}
    unknown = sorted(set(flat) - set(expected))
    missing = sorted(set(expected) - set(flat))
    if unknown or missing:
        raise ValueError(f"checkpoint does not match config: missing {missing[:5]}, "
                         f"unexpected {unknown[:5]}")
    params: Dict[str, Any] = {}
    for key, shape in expected.items():
        a = flat[key]
        if int(np.prod(a.shape)) != int(np.prod(shape)) or \
                (a.ndim == len(shape) and a.shape != shape):
            raise ValueError(f"{key}: checkpoint shape {a.shape} != expected {shape}")
        node = params
        *parents, leaf = key.split("/")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = np.asarray(a, dtype=dtype).reshape(shape)
    return params


def params_to_t5x(params: Dict) -> Dict:
    """Our nested params -> t5x layout (3-D attention kernels flattened to 2-D)."""
    def walk(node, module=None):
        if isinstance(node, dict):  # a 'kernel' leaf is converted knowing its module's name
            return {k: walk(v, module if k == "kernel" else k) for k, v in node.items()}
        a = np.asarray(node)
        if a.ndim == 3:  # out: [h, k, d] -> [h*k, d]; query/key/value: [d, h, k] -> [d, h*k]
            return a.reshape(-1, a.shape[-1]) if module == "out" else a.reshape(a.shape[0], -1)
        return a
    return walk(params)


def load_t5x_t5(path: str, config: Optional[T5Config] = None, dtype=np.float32,
                **config_overrides) -> Tuple[T5Config, Dict]:
    """Loads a t5x / orbax T5 v1.1 checkpoint -> (T5Config, params)."""
    flat = read_t5x_param_arrays(path)
    cfg = config or t5_config_from_t5x(flat, **config_overrides)
    return cfg, t5x_to_params(flat, cfg, dtype)
