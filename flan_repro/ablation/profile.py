"""Ablation profiles: how big, how long, from which base model (gin files in gin/ablation/)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import gin

ROOT = Path(__file__).resolve().parents[2]


@gin.configurable
@dataclasses.dataclass(frozen=True)
class AblationProfile:
    name: str = "toy"
    train_gin: tuple = ("gin/profiles/toy.gin",)    # trainer config of every run
    base_checkpoint: str | None = None      # hf:DIR / t5x:DIR / model dir; None = pretrain
    pretrain_steps: int = 400               # toy span-corruption pretraining
    pretrain_inputs_length: int = 128
    pretrain_targets_length: int = 32
    pretrain_batch_size: int = 32
    finetune_steps: int = 300
    eval_max_examples: int | None = 50      # per split and template; None = all
    eval_max_dev_examples: int | None = None  # dev split (best-dev choice); None = as above
    baseline_few_shot: int = 2              # shots of the untuned base model's few-shot row
    # seen rows: datasets of one training cluster first, so related datasets share the
    # exposure (each of FLAN's ~50 training datasets gets ~2% of the steps)
    seen_datasets: tuple = ("sst2", "imdb_reviews", "yelp_polarity_reviews", "ag_news_subset",
                            "trec", "cola")
    num_seen: int = 3
    registry: tuple = ()                    # (name, value) overrides of RegistryConfig

    @property
    def suite(self) -> str:
        """The task suite the profile runs on (`registry.suite`; FLAN's by default)."""
        from flan_repro.catalogue import DEFAULT_SUITE
        return dict(self.registry).get("suite", DEFAULT_SUITE)


def profile_names() -> list[str]:
    return sorted(p.stem for p in (ROOT / "gin" / "ablation").glob("*.gin"))


def load_profile(name: str, bindings: list[str] = ()) -> AblationProfile:
    from flan_repro.catalogue import UnknownNameError
    path = ROOT / "gin" / "ablation" / f"{name}.gin"
    if not path.exists():
        raise UnknownNameError("profile", name, profile_names(),
                               hint="(profiles are gin files in gin/ablation/)")
    gin.clear_config()
    gin.parse_config_files_and_bindings([str(path)], list(bindings), finalize_config=False)
    prof = AblationProfile()
    gin.clear_config()
    return prof
