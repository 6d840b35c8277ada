"""Where the registry's examples come from and how they are prompted.

One process-wide setting (seqio's registries are global too, and the tasks they hold
read it when their data is first requested): a command sets it once, at its start. The
CLI commands and gin build it from `--data_dir`, `--templates` and `registry.*`
bindings (`configure`, `configure_from_gin`); the ablation builds a `RegistryConfig`
from its profile and installs it (`set_current`).

`suite` says which catalogue the registry's names refer to: "flan" (`tasks/`) or
another suite such as "control" (`tasks/control/`, the positive control). Everything
downstream (tasks, mixtures, the evaluator) reads the catalogue from here
(`cfg.catalogue`), so none of it knows or cares which suite it serves.
"""
from __future__ import annotations

import dataclasses
import functools


@dataclasses.dataclass(frozen=True)
class RegistryConfig:
    data_dir: str | None = "toy"      # toy | toy:SEED | jsonl:DIR | TFDS data dir
    templates: str | None = None      # None: ours; or FLAN's flan/templates.py
    # the `baseline` format's prompts. None: ours; or FLAN's flan/baseline_templates.py
    baseline_templates: str | None = None
    vocabulary: str = "toy"           # toy | t5 | path to a SentencePiece model
    seed: int = 0                     # template draws and few-shot exemplars
    few_shot_budget: int | None = None   # None: the suite's recipe.few_shot_input_budget
    toy_train_size: int = 1000
    toy_eval_size: int = 100
    suite: str = "flan"               # flan | control | another tasks/<suite>/

    def __post_init__(self):
        from flan_repro.catalogue import suite_dir
        suite_dir(self.suite)             # an unknown suite fails here, listing the valid ones

    @functools.cached_property
    def catalogue(self):
        from flan_repro.catalogue import load
        return load(self.suite)

    @property
    def max_shots(self) -> int:
        return self.catalogue.recipe["max_shots"]

    @property
    def input_budget(self) -> int:
        """Tokens the few-shot exemplars and the input may use: a profile's
        `few_shot_budget` (toy inputs are short) or the suite's recipe (FLAN: 960)."""
        if self.few_shot_budget is not None:
            return self.few_shot_budget
        return self.catalogue.recipe["few_shot_input_budget"]

    @property
    def tasks_digest(self) -> str:
        """The suite's declarations, for cache keys (`catalogue.spec.suite_digest`)."""
        from flan_repro.catalogue.spec import suite_digest
        return suite_digest(self.suite)

    @functools.cached_property
    def source(self):
        from flan_repro.data.sources import from_data_dir
        return from_data_dir(self.data_dir, self.toy_train_size, self.toy_eval_size)

    @functools.cached_property
    def vocab(self):
        from flan_repro.data.vocab import get_vocabulary
        return get_vocabulary(self.vocabulary)


_CURRENT = [RegistryConfig()]


def configure(**overrides) -> RegistryConfig:
    """Replaces the process-wide registry config (fields as RegistryConfig)."""
    return set_current(dataclasses.replace(_CURRENT[0], **overrides))


def set_current(cfg: RegistryConfig) -> RegistryConfig:
    """Makes `cfg` the process-wide registry config."""
    _CURRENT[0] = cfg
    return cfg


def current() -> RegistryConfig:
    return _CURRENT[0]


def add_source_arguments(p) -> None:
    """The command-line flags that say where examples come from and how they are prompted
    and tokenized, shared by the commands that evaluate a checkpoint."""
    p.add_argument("--data_dir", default="toy", help="toy | toy:SEED | jsonl:DIR | TFDS data dir")
    p.add_argument("--templates", default=None,
                   help="FLAN's flan/templates.py (or a FLAN checkout) to use instead of ours")
    p.add_argument("--baseline_templates", default=None,
                   help="FLAN's flan/baseline_templates.py (or a FLAN checkout) for the "
                        "baseline format, instead of ours")
    p.add_argument("--vocabulary", default="toy",
                   help="toy | t5 | path to a SentencePiece model (must match the checkpoint)")


def source_overrides(args) -> dict:
    """The RegistryConfig fields `add_source_arguments` set, from parsed arguments."""
    return {k: getattr(args, k) for k in ("data_dir", "templates", "baseline_templates",
                                          "vocabulary")}


import gin  # noqa: E402  (gin is light; kept here to show what this block is for)


@gin.configurable("registry")
def configure_from_gin(data_dir=None, templates=None, vocabulary=None, seed=None,
                       few_shot_budget=None, toy_train_size=None, toy_eval_size=None,
                       suite=None, baseline_templates=None):
    """Applies `registry.*` gin bindings, e.g. `registry.toy_train_size = 50`."""
    given = {k: v for k, v in locals().items() if v is not None}
    return configure(**given) if given else current()
