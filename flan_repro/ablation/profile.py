"""Ablation profiles: how big, how long, from which base model.

A profile is a gin file of `AblationProfile` bindings, named by `--profile`: a name in
gin/ablation/ (`toy`, `control`, `paper_t5_xl`) or the path of a .gin file (the test-sized
profiles live in tests/gin/). The trainer recipes a profile names (`train_gin`, in
gin/train/) are not profiles: they configure one training run, a profile a whole ablation.

`RunConfig` is what a run reads, handed to the runner as one value: the profile and the
registry settings built from it (data source, vocabulary, templates, suite, sizes).

What only the user can know (where the paper profiles' base checkpoint lies) is a
REQUIRED macro of the profile (`BASE_CHECKPOINT = %gin.REQUIRED`), given on the command
line as `--gin.BASE_CHECKPOINT=...`; a profile left with one fails on load, naming it.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import gin

from flan_repro.registry.config import RegistryConfig

ROOT = Path(__file__).resolve().parents[2]
PROFILE_DIR = ROOT / "gin" / "ablation"


@gin.configurable
@dataclasses.dataclass(frozen=True)
class AblationProfile:
    name: str = "toy"
    train_gin: tuple = ("gin/train/toy.gin",)     # trainer config of every run
    base_checkpoint: str | None = None      # hf:DIR / t5x:DIR / model dir; None = pretrain
    pretrain_steps: int = 400               # toy span-corruption pretraining
    pretrain_inputs_length: int = 128
    pretrain_targets_length: int = 32
    pretrain_batch_size: int = 32
    finetune_steps: int = 300
    eval_max_examples: int | None = 50      # per split and template; None = all
    eval_max_dev_examples: int | None = None  # dev split (best-dev choice); None = as above
    baseline_few_shot: int = 2              # shots of the untuned base model's few-shot row
    # how the untuned base model is prompted: `baseline`, the paper's continuation prompts
    # for a plain LM (Sec. 4; FLAN's baseline_templates.py), or any eval format to compare
    base_eval_format: str = "baseline"
    # seen rows: datasets of one training cluster first, so related datasets share the
    # exposure (each of FLAN's ~50 training datasets gets ~2% of the steps)
    seen_datasets: tuple = ("sst2", "imdb_reviews", "yelp_polarity_reviews", "ag_news_subset",
                            "trec", "cola")
    num_seen: int = 3
    # (name, value) overrides of RegistryConfig: the ablation's registry settings come from
    # here (and --data_dir), not from `registry.*` bindings in train_gin
    registry: tuple = ()

    @property
    def suite(self) -> str:
        """The task suite the profile runs on (`registry.suite`; FLAN's by default)."""
        from flan_repro.catalogue import DEFAULT_SUITE
        return dict(self.registry).get("suite", DEFAULT_SUITE)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything an ablation run reads besides its arguments (cluster, shots, output)."""
    profile: AblationProfile
    registry: RegistryConfig

    @classmethod
    def load(cls, profile: str, data_dir: str | None = None,
             bindings: list[str] = ()) -> RunConfig:
        """The profile `profile` (a name or a .gin path) with its registry settings;
        `data_dir` replaces the profile's data source (toy | jsonl:DIR | TFDS data dir);
        `bindings` (gin lines) are parsed after the profile's file."""
        prof = load_profile(profile, bindings)
        overrides = dict(prof.registry)
        if data_dir:
            overrides["data_dir"] = data_dir
        return cls(prof, RegistryConfig(**overrides))


def profile_names() -> list[str]:
    """The profiles a user can name (gin/ablation/*.gin)."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.gin"))


def profile_path(profile: str) -> Path:
    """The gin file of `profile`: a name in gin/ablation/, or a .gin path (as given, or
    relative to the project root)."""
    from flan_repro.catalogue import UnknownNameError
    if profile.endswith(".gin"):
        for path in (Path(profile), ROOT / profile):
            if path.is_file():
                return path
        raise FileNotFoundError(f"profile file {profile} not found")
    path = PROFILE_DIR / f"{profile}.gin"
    if not path.exists():
        raise UnknownNameError("profile", profile, profile_names(),
                               hint="(a profile is gin/ablation/<profile>.gin, or a .gin path)")
    return path


# what a profile's REQUIRED field is, and an example value, for the error that asks for it
REQUIRED_HINTS = {"base_checkpoint": "the base model to tune: hf:DIR, t5x:DIR or a model dir"}
REQUIRED_EXAMPLES = {"base_checkpoint": "hf:/path/to/t5-v1_1-xl"}


def load_profile(profile: str, bindings: list[str] = ()) -> AblationProfile:
    from flan_repro import gin_config
    with gin_config.gin_scope([str(profile_path(profile))], list(bindings)):
        prof = AblationProfile()
        # gin hands a macro left at %gin.REQUIRED through as its sentinel: name the macro
        missing = [(f.name, str(gin.query_parameter(f"AblationProfile.{f.name}")))
                   for f in dataclasses.fields(prof) if getattr(prof, f.name) is gin.REQUIRED]
    if missing:
        field, ref = missing[0]
        name = ref[1:] if ref.startswith("%") and ref != "%gin.REQUIRED" \
            else f"AblationProfile.{field}"
        example = REQUIRED_EXAMPLES.get(field, "VALUE")
        raise ValueError(f"profile {profile} needs {name} ({REQUIRED_HINTS.get(field, field)}): "
                         f"pass --gin.{name}=\"'{example}'\" (make: {name}={example})")
    return prof


def profile_bindings(unknown: list[str]) -> list[str]:
    """The `--gin.NAME=VALUE` arguments as gin lines; only the profile's own names: a
    trainer binding here would be parsed and then ignored by every training stage (their
    gin is the profile's `train_gin`)."""
    from flan_repro.gin_config import gin_bindings
    for arg in unknown:
        name = arg[len("--gin."):].partition("=")[0] if arg.startswith("--gin.") else ""
        if not name or ("." in name and not name.startswith("AblationProfile.")):
            raise ValueError(f"unrecognized argument {arg!r}: expected --gin.NAME=VALUE "
                             f"for the profile's macros (e.g. --gin.BASE_CHECKPOINT=...) or "
                             f"AblationProfile fields; trainer settings go in the profile's "
                             f"train_gin")
    return gin_bindings(list(unknown))
