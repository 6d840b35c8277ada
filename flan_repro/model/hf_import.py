"""HuggingFace T5 checkpoints <-> our Flax param tree (import and export).

Import reads a local folder holding `config.json` and `model.safetensors` (or a sharded
`model.safetensors.index.json`, or `pytorch_model.bin[.index.json]`, which needs torch).
Export writes `config.json` + `model.safetensors` that `T5ForConditionalGeneration.
from_pretrained` loads (checked against transformers 5.x in tests/model).

Neither direction needs torch, transformers or the safetensors package: safetensors is a
tiny format (8-byte little-endian header length, JSON header, raw little-endian data) and is
read/written here with numpy (bfloat16 via ml_dtypes, a jax dependency).

Tying. T5 v1.1 checkpoints have a separate `lm_head` and do NOT scale decoder outputs; the
original T5 ties `lm_head` to `shared` and scales decoder outputs by d_model**-0.5. In the
saved config.json `tie_word_embeddings` (transformers 4.x) or `scale_decoder_outputs`
(transformers 5.x, which always reports tie_word_embeddings=True after loading) says which:
  * scaling on  -> our `tie_word_embeddings=True` (lm_head must be absent or equal to shared);
  * scaling off -> our `tie_word_embeddings=False`; `logits_dense` = lm_head (or a copy of
    `shared` when the checkpoint ties without scaling).
A scaled head with an lm_head.weight that differs from shared.weight has no equivalent here
and is refused, naming `scale_decoder_outputs`.

Input embeddings. Public checkpoints share one input matrix (`shared`; per-stack
`embed_tokens` copies are absent or equal) and import to our usual tree. transformers 5
keeps `shared`, `encoder.embed_tokens` and `decoder.embed_tokens` independent when the
model's config has tie_word_embeddings=False, so a checkpoint fine-tuned there holds three
different matrices: `load_hf_t5` then sets `separate_input_embeddings` and imports all
three (see t5.py); export writes all three back. transformers 5 loads them untied (it only
ties tensors that are missing or equal); 4.x always re-ties the inputs to `shared`, so such
an export needs transformers 5.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Any, Dict, Iterable, List, Optional, Tuple

import ml_dtypes
import numpy as np

from flan_repro.model.t5 import T5Config

SUPPORTED_FEED_FORWARD = ("gated-gelu", "gated-gelu_new")
_INPUT_EMBEDDINGS = ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight")

# ----------------------------------------------------------------------------- safetensors

_ST_TO_NP = {
    "F64": np.dtype(np.float64), "F32": np.dtype(np.float32), "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16), "I64": np.dtype(np.int64), "I32": np.dtype(np.int32),
    "I16": np.dtype(np.int16), "I8": np.dtype(np.int8), "U8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_),
}
_NP_TO_ST = {v: k for k, v in _ST_TO_NP.items()}


def read_safetensors(path: str) -> Dict[str, np.ndarray]:
    """{name: array} from a .safetensors file; arrays are read-only memory maps."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _ST_TO_NP[info["dtype"]].newbyteorder("<")
        out[name] = data[start:end].view(dtype).reshape(info["shape"])
    return out


def write_safetensors(path: str, tensors: Dict[str, np.ndarray],
                      metadata: Optional[Dict[str, str]] = None) -> None:
    arrays = {k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())}
    header: Dict[str, Any] = {"__metadata__": dict(metadata or {"format": "pt"})}
    offset = 0
    for name, a in arrays.items():
        header[name] = {"dtype": _NP_TO_ST[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for a in arrays.values():
            f.write(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())


def read_hf_state_dict(folder: str) -> Dict[str, np.ndarray]:
    """All tensors of a HF checkpoint folder as numpy arrays (keys as in the checkpoint)."""
    def _from_index(index_file, reader):
        with open(os.path.join(folder, index_file)) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        sd = {}
        for fname in files:
            sd.update(reader(os.path.join(folder, fname)))
        return sd

    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return read_safetensors(os.path.join(folder, "model.safetensors"))
    if os.path.exists(os.path.join(folder, "model.safetensors.index.json")):
        return _from_index("model.safetensors.index.json", read_safetensors)
    if os.path.exists(os.path.join(folder, "pytorch_model.bin")):
        return _read_torch_bin(os.path.join(folder, "pytorch_model.bin"))
    if os.path.exists(os.path.join(folder, "pytorch_model.bin.index.json")):
        return _from_index("pytorch_model.bin.index.json", _read_torch_bin)
    raise FileNotFoundError(f"no model.safetensors / pytorch_model.bin in {folder}")


def _read_torch_bin(path: str) -> Dict[str, np.ndarray]:
    import torch  # only needed for legacy pickled checkpoints
    sd = torch.load(path, map_location="cpu", weights_only=True)
    return {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in sd.items()}


# ----------------------------------------------------------------------------- config


def t5_config_from_hf(hf: Dict[str, Any], *, untied_head: Optional[bool] = None,
                      **overrides) -> T5Config:
    """T5Config from a HF config.json dict. `untied_head` overrides the tying read from it."""
    ff = hf.get("feed_forward_proj", "relu")
    if ff not in SUPPORTED_FEED_FORWARD:
        raise NotImplementedError(f"feed_forward_proj={ff!r}: only T5 v1.1 gated-gelu is supported")
    if untied_head is None:
        untied_head = not hf_scales_decoder_outputs(hf)
    kwargs = dict(
        vocab_size=hf["vocab_size"], d_model=hf["d_model"], d_kv=hf["d_kv"],
        num_heads=hf["num_heads"], d_ff=hf["d_ff"], num_encoder_layers=hf["num_layers"],
        num_decoder_layers=hf.get("num_decoder_layers") or hf["num_layers"],
        relative_attention_num_buckets=hf.get("relative_attention_num_buckets", 32),
        relative_attention_max_distance=hf.get("relative_attention_max_distance", 128),
        dropout_rate=hf.get("dropout_rate", 0.1),
        layer_norm_epsilon=hf.get("layer_norm_epsilon", 1e-6),
        tie_word_embeddings=not untied_head)
    kwargs.update(overrides)
    return T5Config(**kwargs)


def hf_scales_decoder_outputs(hf: Dict[str, Any]) -> bool:
    """True iff HF multiplies decoder outputs by d_model**-0.5 (original T5 / tied head)."""
    if "scale_decoder_outputs" in hf:  # transformers >= 5
        return bool(hf["scale_decoder_outputs"])
    return bool(hf.get("tie_word_embeddings", True))  # transformers 4.x semantics (default True)


def hf_has_separate_input_embeddings(sd: Dict[str, np.ndarray]) -> bool:
    """True iff `encoder.embed_tokens` or `decoder.embed_tokens` differs from `shared`.

    A missing per-stack copy is tied: save_pretrained writes a tied tensor once. Without
    `shared.weight` (some exports keep only the per-stack copies) the encoder's stands for it.
    """
    shared = sd.get("shared.weight", sd.get("encoder.embed_tokens.weight"))
    return any(name in sd and not np.array_equal(np.asarray(sd[name]), np.asarray(shared))
               for name in _INPUT_EMBEDDINGS)


def hf_config_from_t5(cfg: T5Config) -> Dict[str, Any]:
    """A config.json dict for `T5ForConditionalGeneration` equivalent to `cfg`.

    `tie_word_embeddings` is written as 4.x reads it (the head), `scale_decoder_outputs` as
    5.x does; neither says whether the inputs are separate: transformers 5 decides that from
    the tensors present (all three written, and different, stay untied).
    """
    return {
        "architectures": ["T5ForConditionalGeneration"], "model_type": "t5",
        "vocab_size": cfg.vocab_size, "d_model": cfg.d_model, "d_kv": cfg.d_kv, "d_ff": cfg.d_ff,
        "num_heads": cfg.num_heads, "num_layers": cfg.num_encoder_layers,
        "num_decoder_layers": cfg.num_decoder_layers,
        "relative_attention_num_buckets": cfg.relative_attention_num_buckets,
        "relative_attention_max_distance": cfg.relative_attention_max_distance,
        "dropout_rate": cfg.dropout_rate, "layer_norm_epsilon": cfg.layer_norm_epsilon,
        "initializer_factor": 1.0, "feed_forward_proj": "gated-gelu",
        "is_encoder_decoder": True, "use_cache": True,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "scale_decoder_outputs": cfg.tie_word_embeddings,
        "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
    }


# ----------------------------------------------------------------------------- name mapping

# kind: how a HF torch Linear/Embedding weight maps onto our kernel (see _to_ours/_to_hf).
Mapping = List[Tuple[str, Tuple[str, ...], str]]


def hf_name_mapping(cfg: T5Config) -> Mapping:
    """[(hf_name, our_param_path, kind)] for every parameter of a T5 v1.1 model."""
    m: Mapping = [("shared.weight", ("token_embedder", "embedding"), "id")]
    for stack, n in (("encoder", cfg.num_encoder_layers), ("decoder", cfg.num_decoder_layers)):
        if cfg.separate_input_embeddings:
            m.append((f"{stack}.embed_tokens.weight", (stack, "token_embedder", "embedding"), "id"))
        m.append((f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                  (stack, "relpos_bias", "rel_embedding"), "T"))
        for i in range(n):
            b, ours = f"{stack}.block.{i}.layer", (stack, f"layers_{i}")
            if stack == "encoder":
                attns = [("0.SelfAttention", "attention", "pre_attention_layer_norm")]
            else:
                attns = [("0.SelfAttention", "self_attention", "pre_self_attention_layer_norm"),
                         ("1.EncDecAttention", "encoder_decoder_attention",
                          "pre_cross_attention_layer_norm")]
            for hf_attn, our_attn, our_norm in attns:
                for hf_p, our_p, kind in (("q", "query", "qkv"), ("k", "key", "qkv"),
                                          ("v", "value", "qkv"), ("o", "out", "out")):
                    m.append((f"{b}.{hf_attn}.{hf_p}.weight",
                              ours + (our_attn, our_p, "kernel"), kind))
                norm = hf_attn.split(".")[0]
                m.append((f"{b}.{norm}.layer_norm.weight", ours + (our_norm, "scale"), "id"))
            ff = len(attns)
            for w in ("wi_0", "wi_1", "wo"):
                m.append((f"{b}.{ff}.DenseReluDense.{w}.weight", ours + ("mlp", w, "kernel"), "T"))
            m.append((f"{b}.{ff}.layer_norm.weight", ours + ("pre_mlp_layer_norm", "scale"), "id"))
        m.append((f"{stack}.final_layer_norm.weight", (stack, f"{stack}_norm", "scale"), "id"))
    if not cfg.tie_word_embeddings:
        m.append(("lm_head.weight", ("decoder", "logits_dense", "kernel"), "T"))
    return m


def _to_ours(w: np.ndarray, kind: str, cfg: T5Config) -> np.ndarray:
    d, h, k = cfg.d_model, cfg.num_heads, cfg.d_kv
    if kind == "qkv":   # torch [h*k, d] -> [d, h, k]
        return w.T.reshape(d, h, k)
    if kind == "out":   # torch [d, h*k] -> [h, k, d]
        return w.T.reshape(h, k, d)
    return w.T if kind == "T" else w


def _to_hf(w: np.ndarray, kind: str, cfg: T5Config) -> np.ndarray:
    d, h, k = cfg.d_model, cfg.num_heads, cfg.d_kv
    if kind == "qkv":
        return w.reshape(d, h * k).T
    if kind == "out":
        return w.reshape(h * k, d).T
    return w.T if kind == "T" else w


def _set(tree: Dict, path: Iterable[str], value) -> None:
    *parents, leaf = path
    for p in parents:
        tree = tree.setdefault(p, {})
    tree[leaf] = value


def _get(tree: Dict, path: Iterable[str]):
    for p in path:
        tree = tree[p]
    return tree


# ----------------------------------------------------------------------------- import / export


def hf_state_dict_to_params(sd: Dict[str, np.ndarray], cfg: T5Config,
                            dtype=np.float32) -> Dict[str, Any]:
    """Converts a HF T5 state dict to our nested param dict (numpy arrays of `dtype`)."""
    sd = dict(sd)
    if "shared.weight" not in sd:  # some exports only keep the per-stack copies
        sd["shared.weight"] = sd["encoder.embed_tokens.weight"]
    shared = np.asarray(sd["shared.weight"])
    if cfg.separate_input_embeddings:
        for name in _INPUT_EMBEDDINGS:  # absent = saved tied to shared
            sd.setdefault(name, shared)
    elif hf_has_separate_input_embeddings(sd):
        raise ValueError("encoder.embed_tokens / decoder.embed_tokens differ from shared.weight: "
                         "import with separate_input_embeddings=True (load_hf_t5 detects it)")
    lm_head = sd.get("lm_head.weight")
    if cfg.tie_word_embeddings:
        if lm_head is not None and not np.array_equal(np.asarray(lm_head), shared):
            raise ValueError("config.json sets scale_decoder_outputs (or, without it, "
                             "tie_word_embeddings) to true, but lm_head.weight differs from "
                             "shared.weight: a scaled, untied head cannot be represented")
    elif lm_head is None:
        sd["lm_head.weight"] = shared  # tied without scaling: keep an (untied) copy

    params: Dict[str, Any] = {}
    for hf_name, path, kind in hf_name_mapping(cfg):
        if hf_name not in sd:
            raise KeyError(f"missing {hf_name} in checkpoint")
        w = _to_ours(np.asarray(sd[hf_name]), kind, cfg)
        _set(params, path, np.array(w, dtype=dtype))  # copy: contiguous and off the memory map
    if shared.shape != (cfg.vocab_size, cfg.d_model):
        raise ValueError(f"shared.weight {shared.shape} != ({cfg.vocab_size}, {cfg.d_model})")
    return params


def load_hf_t5(folder: str, dtype=np.float32, **config_overrides) -> Tuple[T5Config, Dict]:
    """Loads a local HF T5 v1.1 checkpoint folder -> (T5Config, params).

    `config_overrides` (e.g. dtype='bfloat16', dropout_rate=0.05) go to the T5Config; `dtype`
    is the numpy dtype of the returned parameters (float32 by default).
    `separate_input_embeddings` is read from the weights (see the module docstring).
    """
    with open(os.path.join(folder, "config.json")) as f:
        hf = json.load(f)
    sd = read_hf_state_dict(folder)
    config_overrides.setdefault("separate_input_embeddings", hf_has_separate_input_embeddings(sd))
    cfg = t5_config_from_hf(hf, **config_overrides)
    return cfg, hf_state_dict_to_params(sd, cfg, dtype)


def params_to_hf_state_dict(params: Dict[str, Any], cfg: T5Config,
                            dtype=np.float32) -> Dict[str, np.ndarray]:
    """Our params -> HF state dict: `shared.weight` alone for shared inputs (as HF saves tied
    tensors), plus both `embed_tokens` with `separate_input_embeddings`."""
    sd = {}
    for hf_name, path, kind in hf_name_mapping(cfg):
        w = np.asarray(_get(params, path), dtype=np.float32)
        sd[hf_name] = np.ascontiguousarray(_to_hf(w, kind, cfg)).astype(dtype)
    return sd


def export_hf_t5(params: Dict[str, Any], cfg: T5Config, folder: str,
                 dtype=np.float32) -> None:
    """Writes `config.json` + `model.safetensors` loadable by T5ForConditionalGeneration."""
    os.makedirs(folder, exist_ok=True)
    hf = hf_config_from_t5(cfg)
    hf["dtype"] = np.dtype(dtype).name  # transformers 5 name (4.x read 'torch_dtype')
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(hf, f, indent=2, sort_keys=True)
    write_safetensors(os.path.join(folder, "model.safetensors"),
                      params_to_hf_state_dict(params, cfg, dtype))
