"""Where the registry's examples come from and how they are prompted.

One process-wide setting (seqio's registries are global too): the CLI and gin set it
once from `--data_dir`, `--templates` and the profile, then register tasks.

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
    vocabulary: str = "toy"           # toy | t5 | path to a SentencePiece model
    seed: int = 0                     # template draws and few-shot exemplars
    few_shot_budget: int = 960        # FLAN: exemplars + input within 960 tokens
    max_shots: int = 16
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
    _CURRENT[0] = dataclasses.replace(_CURRENT[0], **overrides)
    return _CURRENT[0]


def current() -> RegistryConfig:
    return _CURRENT[0]


import gin  # noqa: E402  (gin is light; kept here to show what this block is for)


@gin.configurable("registry")
def configure_from_gin(data_dir=None, templates=None, vocabulary=None, seed=None,
                       few_shot_budget=None, toy_train_size=None, toy_eval_size=None,
                       suite=None):
    """Applies `registry.*` gin bindings, e.g. `registry.toy_train_size = 50`."""
    given = {k: v for k, v in locals().items() if v is not None}
    return configure(**given) if given else current()
