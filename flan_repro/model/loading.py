"""Which model a config builds, what a checkpoint spec may name, and loading it: the one
loader behind `train.init_from`, `flan-repro eval`, `score` and `export`.

  DIR        one of our model dirs: `config.gin` (the T5Config / DecoderOnlyConfig
             bindings `train` recorded) and `checkpoints/` (orbax; latest restorable)
  hf:DIR     a HuggingFace T5 v1.1 folder (`config.json` + safetensors / .bin)
  t5x:DIR    a t5x or orbax T5 checkpoint (a model dir with checkpoint_<step>/ or a
             step dir); sizes come from the parameter shapes (`t5x_import`)

`check_checkpoint` only looks at the file system and raises FileNotFoundError /
ValueError naming the path and what was expected, so a command fails in a second on a
typo instead of after rendering every dataset or building the input pipeline.
`load_checkpoint` returns a `LoadedModel` (config + params); an in-memory
`(config, params)` pair is accepted wherever a checkpoint is (`as_loaded_model`), so the
ablation runner can evaluate the model it just trained without reloading it.

Our model dir's orbax layout (a `state` item holding step, params and optimizer state,
and a `meta` JSON item per step) is declared here too (`checkpoint_manager`): the
trainer writes it, and reading the params back must not need the trainer.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KINDS = ("model_dir", "hf", "t5x")


# --------------------------------------------------------------------------- model type
def _family(config):
    """(model_type, Flax module class, dummy_batch) of a config: the one place that knows
    T5Config means encoder-decoder and DecoderOnlyConfig a prefix LM."""
    from flan_repro.model import decoder_only, t5
    if isinstance(config, t5.T5Config):
        return "encoder_decoder", t5.T5, t5.dummy_batch
    if isinstance(config, decoder_only.DecoderOnlyConfig):
        return "prefix_lm", decoder_only.DecoderOnly, decoder_only.dummy_batch
    raise ValueError(f"model config must be a T5Config or DecoderOnlyConfig, "
                     f"got {type(config).__name__}")


def model_type(config) -> str:
    """'encoder_decoder' (T5Config) or 'prefix_lm' (DecoderOnlyConfig)."""
    return _family(config)[0]


def build_model(config):
    """(Flax module, dummy_batch): `module.init(rng, **dummy_batch())` gives its params."""
    _, module, dummy_batch = _family(config)
    return module(config), dummy_batch


def tree_fields(checkpoint_config, config) -> list[str]:
    """The fields whose values in `checkpoint_config` differ from `config`'s in a way that
    changes the parameter tree: what a model gin must bind to take the checkpoint's params.

    Found by trying each differing field alone (shapes only, no allocation), so a new
    config field is covered without a list to keep up to date.
    """
    from flan_repro.model.params import param_shapes

    def shapes(c):
        import jax
        return jax.tree.map(lambda a: tuple(a.shape), param_shapes(c))
    want = shapes(config)
    if shapes(checkpoint_config) == want:
        return []
    differ = [f.name for f in dataclasses.fields(config)
              if getattr(checkpoint_config, f.name) != getattr(config, f.name)]
    alone = [f for f in differ if shapes(dataclasses.replace(
        config, **{f: getattr(checkpoint_config, f)})) != want]
    return alone or differ


# --------------------------------------------------------------------------- specs
@dataclasses.dataclass(frozen=True)
class CheckpointRef:
    kind: str        # one of KINDS
    path: str
    spec: str        # as given by the user

    def __str__(self) -> str:
        return self.spec


@dataclasses.dataclass
class LoadedModel:
    """A frozen model to evaluate; with `prompt` [L, d_model], the (model, soft prompt)
    pair prompt tuning yields (`flan_repro.prompt_tuning`): the scorer and the generator
    place it before every input (see the models' `prompt` arguments)."""
    config: Any      # T5Config | DecoderOnlyConfig
    params: Any
    source: str = "<in memory>"
    prompt: Any = None

    @property
    def model_type(self) -> str:
        return model_type(self.config)


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


# --------------------------------------------------------------------------- our model dirs
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


def checkpoint_manager(directory: str | Path, keep: int = 3, create: bool = True):
    """The orbax manager of a model dir's `checkpoints/`: per step, `state` (step, params,
    opt_state) and `meta` (JSON). The item handlers are named up front so that a reader
    (`restore_latest_params`) can read item metadata knowing how each item was written,
    instead of warning about every item."""
    import orbax.checkpoint as ocp
    return ocp.CheckpointManager(
        Path(directory).absolute(),
        item_handlers={"state": ocp.StandardCheckpointHandler(),
                       "meta": ocp.JsonCheckpointHandler()},
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=create,
                                             enable_async_checkpointing=False))


def restore_latest_params(directory: str | Path, abstract_params):
    """Only the params of the newest restorable step in `directory` (None if none is).

    The optimizer state's structure is not known to a reader, so the target tree is
    built from the checkpoint's own metadata, placed on this process's first device,
    and the params subtree is checked against `abstract_params`' shapes.
    """
    import jax
    import jax.numpy as jnp
    import orbax.checkpoint as ocp
    from jax.sharding import SingleDeviceSharding
    device = SingleDeviceSharding(jax.local_devices()[0])

    def target(meta):
        return jax.tree.map(
            lambda m: jax.ShapeDtypeStruct(tuple(m.shape), jnp.dtype(m.dtype), sharding=device)
            if hasattr(m, "shape") else m, meta)

    manager = checkpoint_manager(directory, create=False)
    try:
        for step in reversed(sorted(manager.all_steps())):
            try:
                meta = manager.item_metadata(step)["state"]
                meta = getattr(meta, "tree", meta)
                out = manager.restore(step, args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(target(meta))))
                params = out["state"]["params"]
                want = jax.tree.map(lambda a: tuple(a.shape), abstract_params)
                got = jax.tree.map(lambda a: tuple(a.shape), params)
                if want != got:
                    raise ValueError(f"checkpoint step {step} in {directory} holds params "
                                     f"of another model shape than the configured one")
                return params
            except ValueError:
                raise
            except Exception as e:  # noqa: BLE001 - any unreadable step is skipped
                log.warning("checkpoint at step %d in %s cannot be restored (%s); trying the "
                            "previous one", step, directory, type(e).__name__)
        return None
    finally:
        manager.close()


def load_model_dir(model_dir: str | Path, config) -> Any:
    """The latest params of one of our model dirs, restored as `config`'s model."""
    from flan_repro.model.params import param_shapes
    directory = Path(model_dir) / "checkpoints"
    params = restore_latest_params(directory, param_shapes(config))
    if params is None:
        raise FileNotFoundError(f"{model_dir}: no restorable checkpoint in {directory}")
    return params


# --------------------------------------------------------------------------- any spec
def load_checkpoint(spec: str | CheckpointRef) -> LoadedModel:
    """Config + params of a checkpoint; an unreadable or unsupported one (e.g. a ReLU T5)
    is a ValueError naming its path."""
    ref = spec if isinstance(spec, CheckpointRef) else check_checkpoint(spec)
    if ref.kind == "model_dir":
        config = model_config_from_gin(Path(ref.path) / "config.gin")
        return LoadedModel(config, load_model_dir(ref.path, config), ref.spec)
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


def as_loaded_model(checkpoint) -> LoadedModel:
    """A checkpoint spec, a LoadedModel, or an in-memory (config, params) pair."""
    if isinstance(checkpoint, LoadedModel):
        return checkpoint
    if isinstance(checkpoint, tuple) and len(checkpoint) == 2:
        config, params = checkpoint
        model_type(config)
        return LoadedModel(config, params)
    return load_checkpoint(checkpoint)
