"""seqio tasks built from catalogue entries: one builder, named variants.

Names (every part is one parameter of `render_split`):
  flan_<entry>_<format>[_<n>templates]_<k>shot   training / whole-format eval
  flan_<entry>_t<i>_<k>shot                      one instruction template (eval)
  ..._scoring                                    rank-classification version
Tasks are registered without reading data; examples are rendered when a split is
first requested, from the registry config current at that time.
"""
from __future__ import annotations

import seqio

from flan_repro.catalogue import FORMATS
from flan_repro.registry import examples as ex_lib
from flan_repro.registry.config import RegistryConfig, current

PREFIX = "flan_"
REGISTERED_SHOTS = (0, 16)   # eagerly registered; `ensure_task` makes any other k


def task_name(entry: str, fmt: str = "instruction", shots: int = 0, template: int | None = None,
              num_templates: int | None = None, scoring: bool = False) -> str:
    if template is not None:
        name = f"{PREFIX}{entry}_t{template}"
    else:
        name = f"{PREFIX}{entry}_{fmt}" + (f"_{num_templates}templates" if num_templates else "")
    return name + f"_{shots}shot" + ("_scoring" if scoring else "")


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


def _rank_classification(ds):
    """One example per option, FLAN's scoring eval (t5's helper does the expansion)."""
    import tensorflow as tf
    from t5.data import preprocessors as t5_pre
    return t5_pre.rank_classification(
        ds,
        inputs_fn=lambda ex: tf.fill(tf.shape(ex["options"]), ex["inputs"]),
        targets_fn=lambda ex: ex["options"],
        is_correct_fn=lambda ex: tf.equal(tf.range(tf.shape(ex["options"])[0]), ex["label"]),
        mode="eval", passthrough_feature_keys=["template", "label"])


def _dataset_fn(entry, fmt, shots, template, num_templates):
    def fn(split: str, shuffle_files: bool = False, seed: int | None = None):
        records = ex_lib.render_split(current(), entry, split, fmt=fmt, shots=shots,
                                      template=template, num_templates=num_templates)
        return _to_tf(records)
    return fn


def build_task(entry: str, fmt: str = "instruction", shots: int = 0, template: int | None = None,
               num_templates: int | None = None, scoring: bool = False,
               cfg: RegistryConfig | None = None) -> seqio.Task:
    cfg = cfg or current()
    spec = cfg.catalogue.dataset(entry)
    if scoring and not spec.classification:
        raise ValueError(f"dataset {entry!r} is not classification: no scoring task")
    preprocessors = [seqio.preprocessors.tokenize, seqio.CacheDatasetPlaceholder(),
                     seqio.preprocessors.append_eos_after_trim]
    if scoring:
        preprocessors = [_rank_classification, *preprocessors]
    source = seqio.FunctionDataSource(
        _dataset_fn(entry, fmt, shots, template, num_templates), splits=tuple(spec.splits))
    return seqio.Task(task_name(entry, fmt, shots, template, num_templates, scoring),
                      source=source, preprocessors=preprocessors,
                      output_features=output_features(cfg.vocab), metric_fns=[])


def ensure_task(entry: str, fmt: str = "instruction", shots: int = 0,
                template: int | None = None, num_templates: int | None = None,
                scoring: bool = False, cfg: RegistryConfig | None = None) -> str:
    """Registers the task if needed and returns its name."""
    name = task_name(entry, fmt, shots, template, num_templates, scoring)
    if name not in seqio.TaskRegistry.names():
        seqio.TaskRegistry.add_provider(
            name, build_task(entry, fmt, shots, template, num_templates, scoring, cfg))
    return name


def _variants(cfg: RegistryConfig):
    """The eagerly registered variants: training formats only (an eval-only format such
    as shuffled_instruction is rendered by the evaluator, or made by `ensure_task`)."""
    cat = cfg.catalogue
    for entry, spec in cat.datasets.items():
        for shots in REGISTERED_SHOTS:
            for fmt in FORMATS:
                yield dict(entry=entry, fmt=fmt, shots=shots)
                if spec.classification:
                    yield dict(entry=entry, fmt=fmt, shots=shots, scoring=True)
            for n in cat.template_count_ablation:
                if n != 10:
                    yield dict(entry=entry, fmt="instruction", shots=shots, num_templates=n)
            for i in ex_lib.eval_template_indices(cfg, entry):
                yield dict(entry=entry, shots=shots, template=i)
                if spec.classification:
                    yield dict(entry=entry, shots=shots, template=i, scoring=True)


def register_all(cfg: RegistryConfig | None = None) -> list[str]:
    """Registers every task variant (no data is read); returns the names."""
    cfg = cfg or current()
    return [ensure_task(cfg=cfg, **v) for v in _variants(cfg)]


