"""Training mixtures: one cluster held out (Sec. 2.2), mixed as FLAN mixes (Sec. 2.4).

Training mixes every dataset outside the excluded clusters, examples-proportionally
with rate min(n, 3000), n the dataset's train size after the 30k cut. Rates are
computed from the source when the mixture is first used, not at registration.
The clusters and datasets are those of the registry config's suite (`current().catalogue`);
mixtures are made of training formats only. A k-shot mixture (few-shot FLAN, Fig. 9)
renders each training example with k exemplars from train, as FLAN registers every
mixture for every shot count (`few_shot.ShotConfig`).
"""
from __future__ import annotations

import dataclasses
import re

import seqio

from flan_repro.catalogue import FORMATS
from flan_repro.registry.config import current
from flan_repro.registry.tasks import ensure_task


def mixing_rate(entry: str) -> float:
    cat = current().catalogue
    n = current().source.num_examples(cat.dataset(entry), "train")
    return float(min(n, cat.recipe["mixing_rate_cap"]))


@dataclasses.dataclass(frozen=True)
class MixtureName:
    """A training mixture's name, built (`str`) and read back (`parse`) here only, so a
    name a stage writes into gin is the name the input pipeline registers:

      flan_heldout_<cluster>_<format>[_<n>templates][_<k>shot]  the training datasets
                                    outside the clusters excluded with `cluster`
      flan_clusters<k>_<format>     Fig. 6: the first k training clusters

    Exactly one of `held_out_cluster` and `num_clusters` is set (use the constructors).
    shots 0 (zero-shot tuning) adds nothing to the name, so every existing name stands.
    """
    fmt: str
    held_out_cluster: str | None = None
    num_templates: int | None = None      # held-out mixtures: the first n templates only
    num_clusters: int | None = None
    shots: int = 0                        # held-out mixtures: exemplars per training example

    @classmethod
    def held_out(cls, cluster: str, fmt: str = "instruction",
                 num_templates: int | None = None, shots: int = 0) -> MixtureName:
        return cls(fmt, held_out_cluster=cluster, num_templates=num_templates, shots=shots)

    @classmethod
    def cluster_count(cls, k: int, fmt: str = "instruction") -> MixtureName:
        return cls(fmt, num_clusters=k)

    def __str__(self) -> str:
        if self.num_clusters is not None:
            return f"flan_clusters{self.num_clusters}_{self.fmt}"
        return f"flan_heldout_{self.held_out_cluster}_{self.fmt}" + (
            f"_{self.num_templates}templates" if self.num_templates else "") + (
            f"_{self.shots}shot" if self.shots else "")

    @classmethod
    def parse(cls, name: str) -> MixtureName | None:
        """The mixture `name` denotes; None for a name of neither pattern (a task's)."""
        fmts = "|".join(FORMATS)
        m = re.fullmatch(rf"flan_heldout_(\w+?)_({fmts})(?:_(\d+)templates)?(?:_(\d+)shot)?",
                         name)
        if m:
            return cls.held_out(m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None,
                                int(m.group(4) or 0))
        m = re.fullmatch(rf"flan_clusters(\d+)_({fmts})", name)
        return cls.cluster_count(int(m.group(1)), m.group(2)) if m else None

    def datasets(self) -> list[str]:
        """k-shot: only datasets with a train split to draw exemplars from, as FLAN's
        few-shot mixtures (every training dataset has one; the rule is kept explicit)."""
        if self.num_clusters is not None:
            return cluster_count_datasets(self.num_clusters)
        cat = current().catalogue
        return [d for d in cat.train_datasets(self.held_out_cluster)
                if not self.shots or cat.dataset(d).few_shot]


def _add(name: str, entries: list[str], **task_kwargs) -> str:
    if name in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(name)
    tasks = [(ensure_task(e, **task_kwargs), (lambda e: lambda _task: mixing_rate(e))(e))
             for e in entries]
    seqio.MixtureRegistry.add(name, tasks)
    return name


def register(mixture: MixtureName) -> str:
    """Registers `mixture` (again, if it was: the registry config may have changed)."""
    current().catalogue.check_format(mixture.fmt, training=True)
    return _add(str(mixture), mixture.datasets(), fmt=mixture.fmt,
                num_templates=mixture.num_templates, shots=mixture.shots)


def register_heldout(cluster: str, fmt: str = "instruction",
                     num_templates: int | None = None) -> str:
    return register(MixtureName.held_out(cluster, fmt, num_templates))


def cluster_count_datasets(k: int) -> list[str]:
    """Fig. 6: training datasets of the first k clusters of the paper's order."""
    cat = current().catalogue
    abl = cat.cluster_count_ablation
    order = abl["order"]
    if not 1 <= k <= len(order):
        raise ValueError(f"number of training clusters must be 1..{len(order)}, got {k}")
    groups = abl.get("groups", {})
    out = []
    for c in order[:k]:
        out += groups[c] if c in groups else [d for d in cat.cluster(c).datasets
                                              if "train" in cat.datasets[d].splits]
    return out


def ensure_registered(name: str) -> str:
    """Registers a mixture or task named by our conventions, if it is not yet."""
    if name in seqio.MixtureRegistry.names() or name in seqio.TaskRegistry.names():
        return name
    mixture = MixtureName.parse(name)
    if mixture is not None:
        return register(mixture)
    from flan_repro.registry import pretraining
    if name == pretraining.TASK:
        return pretraining.register()
    from flan_repro.registry.tasks import register_named
    if register_named(name):
        return name
    raise ValueError(f"unknown mixture or task {name!r}: expected flan_heldout_<cluster>_<format>"
                     f"[_<n>templates][_<k>shot], flan_clusters<k>_<format>, or a task such as "
                     f"flan_rte_instruction_0shot (see `flan-repro tasks`)")

