"""Training and evaluation mixtures: one cluster held out, FLAN's rules (Sec. 2.3-2.4).

Training mixes every dataset outside the excluded clusters, examples-proportionally
with rate min(n, 3000), n the dataset's train size after the 30k cut. Rates are
computed from the source when the mixture is first used, not at registration.
The clusters and datasets are those of the registry config's suite (`current().catalogue`);
mixtures are made of training formats only.
"""
from __future__ import annotations

import seqio

from flan_repro.catalogue import FORMATS
from flan_repro.registry.config import current
from flan_repro.registry.tasks import ensure_task


def mixing_rate(entry: str) -> float:
    cat = current().catalogue
    n = current().source.num_examples(cat.dataset(entry), "train")
    return float(min(n, cat.recipe["mixing_rate_cap"]))


def heldout_name(cluster: str, fmt: str, num_templates: int | None = None) -> str:
    return f"flan_heldout_{cluster}_{fmt}" + (f"_{num_templates}templates" if num_templates else "")


def _add(name: str, entries: list[str], **task_kwargs) -> str:
    if name in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(name)
    tasks = [(ensure_task(e, **task_kwargs), (lambda e: lambda _task: mixing_rate(e))(e))
             for e in entries]
    seqio.MixtureRegistry.add(name, tasks)
    return name


def register_heldout(cluster: str, fmt: str = "instruction", num_templates: int | None = None,
                     shots: int = 0) -> str:
    cat = current().catalogue
    cat.check_format(fmt, training=True)
    return _add(heldout_name(cluster, fmt, num_templates), cat.train_datasets(cluster),
                fmt=fmt, shots=shots, num_templates=num_templates)


def register_eval(cluster: str, fmt: str = "instruction", shots: int = 0) -> str:
    """The held-out cluster's reported datasets, whole-format, for quick checks."""
    cat = current().catalogue
    name = f"flan_heldout_{cluster}_eval_{fmt}" + (f"_{shots}shot" if shots else "")
    return _add(name, cat.eval_datasets(cluster), fmt=fmt, shots=shots)


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


def register_cluster_count(k: int, fmt: str = "instruction") -> str:
    return _add(f"flan_clusters{k}_{fmt}", cluster_count_datasets(k), fmt=fmt)


def ensure_registered(name: str) -> str:
    """Registers a mixture or task named by our conventions, if it is not yet."""
    import re
    import seqio
    if name in seqio.MixtureRegistry.names() or name in seqio.TaskRegistry.names():
        return name
    fmts = "|".join(FORMATS)
    m = re.fullmatch(rf"flan_heldout_(\w+?)_eval_({fmts})(?:_(\d+)shot)?", name)
    if m:
        return register_eval(m.group(1), m.group(2), int(m.group(3) or 0))
    m = re.fullmatch(rf"flan_heldout_(\w+?)_({fmts})(?:_(\d+)templates)?", name)
    if m:
        return register_heldout(m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None)
    m = re.fullmatch(rf"flan_clusters(\d+)_({fmts})", name)
    if m:
        return register_cluster_count(int(m.group(1)), m.group(2))
    from flan_repro.registry import pretraining
    if name == pretraining.TASK:
        return pretraining.register()
    from flan_repro.registry.tasks import register_all as register_tasks
    register_tasks()
    if name in seqio.TaskRegistry.names():
        return name
    raise ValueError(f"unknown mixture or task {name!r}: expected flan_heldout_<cluster>_<format>"
                     f"[_<n>templates], flan_clusters<k>_<format>, or a task such as "
                     f"flan_rte_instruction_0shot (see `flan-repro tasks`)")


def register_all() -> list[str]:
    cat = current().catalogue
    names = []
    for cluster in cat.clusters:
        for fmt in FORMATS:
            names.append(register_heldout(cluster, fmt))
            names.append(register_eval(cluster, fmt))
        for n in cat.template_count_ablation:
            if n != 10:
                names.append(register_heldout(cluster, "instruction", n))
    for k in range(1, len(cat.cluster_count_ablation["order"]) + 1):
        for fmt in FORMATS:
            names.append(register_cluster_count(k, fmt))
    return names
