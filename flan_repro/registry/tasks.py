"""seqio tasks built from catalogue entries: one builder, named variants.

Names (every part is one parameter of `render_split`):
  flan_<entry>_<format>[_<n>templates]_<k>shot   what training mixtures are made of
Only training needs seqio: the evaluator renders its prompts itself
(`registry.examples.render_split`), so no evaluation task is registered.
Tasks are registered without reading data; examples are rendered when a split is
first requested, from the registry config current at that time.
"""
from __future__ import annotations

import seqio

from flan_repro.catalogue import FORMATS
from flan_repro.registry import examples as ex_lib
from flan_repro.registry.config import RegistryConfig, current

PREFIX = "flan_"


def task_name(entry: str, fmt: str = "instruction", shots: int = 0,
              num_templates: int | None = None) -> str:
    name = f"{PREFIX}{entry}_{fmt}" + (f"_{num_templates}templates" if num_templates else "")
    return name + f"_{shots}shot"


def output_features(vocab) -> dict:
    return {"inputs": seqio.Feature(vocabulary=vocab, add_eos=True, required=False),
            "targets": seqio.Feature(vocabulary=vocab, add_eos=True)}


def _to_tf(records: list[dict]):
    import tensorflow as tf
    cols = {
        "inputs": [r["inputs"] for r in records],
        "targets": [r["targets"] for r in records],
        "template": [r["template"] for r in records],
        "idx": [r["idx"] for r in records],
        "label": [r["label"] for r in records],
        "group": [r.get("group", -1) for r in records],
    }
    tensors = {k: tf.constant(v, dtype=tf.string if k in ("inputs", "targets") else tf.int32)
               for k, v in cols.items()}
    for k in ("options", "answers"):
        tensors[k] = tf.ragged.constant([r[k] for r in records], dtype=tf.string,
                                        ragged_rank=1) if records else tf.ragged.constant(
            [], dtype=tf.string, ragged_rank=1)
    return tf.data.Dataset.from_tensor_slices(tensors)


def _dataset_fn(entry, fmt, shots, num_templates):
    def fn(split: str, shuffle_files: bool = False, seed: int | None = None):
        records = ex_lib.render_split(current(), entry, split, fmt=fmt, shots=shots,
                                      num_templates=num_templates)
        return _to_tf(records)
    return fn


def build_task(entry: str, fmt: str = "instruction", shots: int = 0,
               num_templates: int | None = None, cfg: RegistryConfig | None = None) -> seqio.Task:
    cfg = cfg or current()
    spec = cfg.catalogue.dataset(entry)
    ex_lib.check_shots(cfg, entry, shots)   # at registration, not when data is first read
    preprocessors = [seqio.preprocessors.tokenize, seqio.CacheDatasetPlaceholder(),
                     seqio.preprocessors.append_eos_after_trim]
    source = seqio.FunctionDataSource(_dataset_fn(entry, fmt, shots, num_templates),
                                      splits=tuple(spec.splits))
    return seqio.Task(task_name(entry, fmt, shots, num_templates),
                      source=source, preprocessors=preprocessors,
                      output_features=output_features(cfg.vocab), metric_fns=[])


def ensure_task(entry: str, fmt: str = "instruction", shots: int = 0,
                num_templates: int | None = None, cfg: RegistryConfig | None = None) -> str:
    """Registers the task if needed and returns its name."""
    name = task_name(entry, fmt, shots, num_templates)
    if name not in seqio.TaskRegistry.names():
        seqio.TaskRegistry.add_provider(name, build_task(entry, fmt, shots, num_templates, cfg))
    return name


def variants(cfg: RegistryConfig, shot_counts: tuple[int, ...] | range | None = None):
    """Every task a name may denote: each entry in each training format, zero-shot and with
    the recipe's most exemplars (or each of `shot_counts`; when it has a train split to
    draw them from), and with each count of the template-count ablation (an eval-only
    format such as shuffled_instruction is rendered by the evaluator, or made by
    `ensure_task`)."""
    cat = cfg.catalogue
    shot_counts = (0, cat.recipe["max_shots"]) if shot_counts is None else shot_counts
    for entry, spec in cat.datasets.items():
        for shots in (shot_counts if spec.few_shot else (0,)):
            for fmt in FORMATS:
                yield dict(entry=entry, fmt=fmt, shots=shots)
            for n in cat.template_count_ablation:
                if n != 10:
                    yield dict(entry=entry, fmt="instruction", shots=shots, num_templates=n)


def register_named(name: str, cfg: RegistryConfig | None = None) -> bool:
    """Registers the task `name` denotes (see `variants`, with any shot count up to the
    recipe's most: a k-shot mixture's tasks); False when it denotes none."""
    cfg = cfg or current()
    for v in variants(cfg, range(cfg.max_shots + 1)):
        if task_name(**v) == name:
            ensure_task(cfg=cfg, **v)
            return True
    return False
