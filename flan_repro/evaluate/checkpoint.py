"""What `--checkpoint` may name, checked cheaply before any data work, then loaded.

  DIR        one of our model dirs: `config.gin` (the T5Config / DecoderOnlyConfig
             bindings `train` recorded) and `checkpoints/` (orbax; latest restorable)
  hf:DIR     a HuggingFace T5 v1.1 folder (`config.json` + safetensors / .bin)
  t5x:DIR    a t5x or orbax T5 checkpoint (a model dir with checkpoint_<step>/ or a
             step dir); sizes come from the parameter shapes (`t5x_import`)

`check_checkpoint` only looks at the file system and raises FileNotFoundError /
ValueError naming the path and what was expected, so `flan-repro eval` fails in a
second on a typo instead of after rendering every dataset. `load_checkpoint`
returns a `LoadedModel` (config + params); an in-memory `(config, params)` pair is
accepted wherever a checkpoint is (`as_loaded_model`), so the ablation runner can
evaluate the model it just trained without reloading it.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

KINDS = ("model_dir", "hf", "t5x")


@dataclasses.dataclass(frozen=True)
class CheckpointRef:
    kind: str        # one of KINDS
    path: str
    spec: str        # as given by the user

    def __str__(self) -> str:
        return self.spec


@dataclasses.dataclass
class LoadedModel:
    config: Any      # T5Config | DecoderOnlyConfig
    params: Any
    source: str = "<in memory>"

    @property
    def model_type(self) -> str:
        return model_type(self.config)


def model_type(config) -> str:
    """'encoder_decoder' (T5Config) or 'prefix_lm' (DecoderOnlyConfig)."""
    from flan_repro.model.decoder_only import DecoderOnlyConfig
    from flan_repro.model.t5 import T5Config
    if isinstance(config, T5Config):
        return "encoder_decoder"
    if isinstance(config, DecoderOnlyConfig):
        return "prefix_lm"
    raise ValueError(f"model config must be a T5Config or DecoderOnlyConfig, "
                     f"got {type(config).__name__}")


def _expect(cond: bool, path: str, what: str, exc=FileNotFoundError):
    if not cond:
        raise exc(f"checkpoint {path}: {what}")


def check_checkpoint(spec: str) -> CheckpointRef:
    """Resolves `spec` and checks the files it needs exist (no data, no jax)."""
    if not isinstance(spec, (str, os.PathLike)) or not str(spec):
        raise ValueError("--checkpoint must be a model dir, hf:DIR or t5x:DIR")
    spec = str(spec)
    if spec.startswith("hf:"):
        path = spec[3:]
        _expect(os.path.isdir(path), path, "no such directory (expected a HuggingFace T5 "
                "folder with config.json and model.safetensors)")
        _expect(os.path.isfile(os.path.join(path, "config.json")), path,
                "no config.json (expected a HuggingFace T5 folder)")
        weights = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                   "pytorch_model.bin.index.json")
        _expect(any(os.path.isfile(os.path.join(path, w)) for w in weights), path,
                f"no weights file (expected one of {', '.join(weights)})")
        return CheckpointRef("hf", path, spec)
    if spec.startswith("t5x:"):
        path = spec[4:]
        _expect(os.path.exists(path), path, "no such file or directory (expected a t5x "
                "model dir with checkpoint_<step>/ or a checkpoint step dir)")
        p = Path(path)
        found = p.is_file() or (p / "checkpoint").exists() or (p / "_METADATA").exists() or \
            (p / "manifest.ocdbt").exists() or any(p.glob("checkpoint_*"))
        _expect(found, path, "no t5x checkpoint (expected checkpoint_<step>/, a msgpack "
                "`checkpoint` file or an orbax checkpoint)")
        return CheckpointRef("t5x", path, spec)
    path = spec
    _expect(os.path.isdir(path), path, "no such directory (expected one of our model dirs "
            "with config.gin and checkpoints/, or hf:DIR, or t5x:DIR)")
    _expect(os.path.isfile(os.path.join(path, "config.gin")), path,
            "no config.gin (expected one of our model dirs written by `flan-repro train`; "
            "use hf:DIR for a HuggingFace folder or t5x:DIR for a t5x checkpoint)")
    ckpts = Path(path) / "checkpoints"
    steps = [d for d in ckpts.iterdir() if d.is_dir() and d.name.isdigit()] \
        if ckpts.is_dir() else []
    _expect(bool(steps), path, f"no saved step in {ckpts} (expected checkpoints/<step>/ "
            f"written by `flan-repro train`)")
    return CheckpointRef("model_dir", path, spec)


def model_config_from_gin(config_gin: str | Path):
    """The T5Config / DecoderOnlyConfig a model dir's config.gin binds (train.model_config)."""
    import gin
    from flan_repro.gin_config import isolated_gin, parse_gin
    with isolated_gin():
        try:
            parse_gin([str(config_gin)], [])
            ref = gin.query_parameter("train.model_config")
        except (ValueError, KeyError) as e:
            raise ValueError(f"{config_gin}: cannot read the model config "
                             f"({str(e).splitlines()[0]})") from None
        if not isinstance(ref, gin.config.ConfigurableReference):
            raise ValueError(f"{config_gin}: train.model_config is not a configurable "
                             f"reference (@T5Config() / @DecoderOnlyConfig())")
        config = ref.configurable.wrapped()
    model_type(config)     # rejects anything else
    return config


def load_checkpoint(spec: str | CheckpointRef) -> LoadedModel:
    """Config + params of a checkpoint; an unreadable or unsupported one (e.g. a ReLU T5)
    is a ValueError naming its path."""
    ref = spec if isinstance(spec, CheckpointRef) else check_checkpoint(spec)
    if ref.kind in ("hf", "t5x"):
        if ref.kind == "hf":
            from flan_repro.model.hf_import import load_hf_t5 as load
            what = "HuggingFace T5 folder"
        else:
            from flan_repro.model.t5x_import import load_t5x_t5 as load
            what = "t5x / orbax T5 checkpoint"
        try:
            config, params = load(ref.path)
        except Exception as e:  # noqa: BLE001 - any failure here means "cannot read it"
            msg = str(e).splitlines()[0] if str(e) else ""
            raise ValueError(f"checkpoint {ref.path}: cannot load it as a {what} "
                             f"({type(e).__name__}: {msg[:300]})") from e
        return LoadedModel(config, params, ref.spec)
    from flan_repro.train.trainer import load_params
    config = model_config_from_gin(Path(ref.path) / "config.gin")
    params = load_params(ref.path, config)
    return LoadedModel(config, params, ref.spec)


def as_loaded_model(checkpoint) -> LoadedModel:
    """A checkpoint spec, a LoadedModel, or an in-memory (config, params) pair."""
    if isinstance(checkpoint, LoadedModel):
        return checkpoint
    if isinstance(checkpoint, tuple) and len(checkpoint) == 2:
        config, params = checkpoint
        model_type(config)
        return LoadedModel(config, params)
    return load_checkpoint(checkpoint)
