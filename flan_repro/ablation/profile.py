"""Ablation profiles: how big, how long, from which base model.

A profile is a gin file of `AblationProfile` bindings, named by `--profile`: a name in
gin/ablation/ (`toy`, `control`, `paper_t5_xl`) or the path of a .gin file (the test-sized
profiles live in tests/gin/). The trainer recipes a profile names (`train_gin`, in
gin/train/) are not profiles: they configure one training run, a profile a whole ablation.

`RunConfig` is what a run reads, handed to the runner as one value: the profile and the
registry settings built from it (data source, vocabulary, templates, suite, sizes).
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
    def load(cls, profile: str, data_dir: str | None = None) -> RunConfig:
        """The profile `profile` (a name or a .gin path) with its registry settings;
        `data_dir` replaces the profile's data source (toy | jsonl:DIR | TFDS data dir)."""
        prof = load_profile(profile)
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


def load_profile(profile: str) -> AblationProfile:
    from flan_repro import gin_config
    with gin_config.gin_scope([str(profile_path(profile))], []):
        return AblationProfile()
