"""Raw examples -> prompted examples: the one place a dataset split is rendered.

Pure Python over lists, so each step is testable on a dict; the seqio tasks wrap the
result in tf.data. Rendering is deterministic in (seed, dataset, split, index).
"""
from __future__ import annotations

import functools

from flan_repro.catalogue import load
from flan_repro.catalogue.converters import convert
from flan_repro.data.sources import DataNotFoundError
from flan_repro.prompts import formats, templates as tmpl
from flan_repro.registry.config import RegistryConfig


@functools.lru_cache(maxsize=1024)
def converted(cfg: RegistryConfig, entry: str, split: str) -> tuple[tuple[dict, dict], ...]:
    """(raw, fields) pairs of a split; examples the converter drops are left out."""
    spec = load().dataset(entry)
    out = []
    for ex in cfg.source.examples(spec, split):
        fields = convert(spec, ex)
        if fields is not None:
            out.append((ex, fields))
    return tuple(out)


def dataset_templates(cfg: RegistryConfig, entry: str, num_templates: int | None = None):
    spec = load().dataset(entry)
    return tmpl.templates_for(spec, cfg.templates, num_templates)


def eval_template_indices(cfg: RegistryConfig, entry: str) -> list[int]:
    """Templates used for evaluation: the standard ones (not turned around)."""
    return [i for i, t in enumerate(dataset_templates(cfg, entry)) if not t.turned_around]


def _render_one(cfg, spec, fields, fmt, templates, template_index, rng):
    cat = load()
    return formats.render(spec, fields, fmt, templates=templates, template_index=template_index,
                          rng=rng, display_name=cat.clusters[spec.cluster].display_name)


def render_split(cfg: RegistryConfig, entry: str, split: str, *, fmt: str = "instruction",
                 shots: int = 0, template: int | None = None,
                 num_templates: int | None = None) -> list[dict]:
    """Prompted examples of one split.

    template None (instruction format): each example draws one of the first
    `num_templates` templates. Few-shot exemplars come from the train split (the same
    split when a dataset has none, e.g. WSC273), never the example itself, rendered
    with the query's template, and are pruned to `cfg.few_shot_budget` tokens.
    """
    cat = load()
    spec = cat.dataset(entry)
    cat.check_format(fmt)
    if not 0 <= shots <= cfg.max_shots:
        raise ValueError(f"shots must be between 0 and {cfg.max_shots}, got {shots}")
    templates = dataset_templates(cfg, entry, num_templates) if fmt == "instruction" else ()
    if template is not None and not 0 <= template < len(templates):
        raise ValueError(f"dataset {entry!r} has templates 0..{len(templates) - 1}, not {template}")
    rows = converted(cfg, entry, split)
    if templates and rows:
        tmpl.validate(spec, templates, formats.with_options(rows[0][1]))
    pool_split = "train" if "train" in spec.splits else split
    try:
        pool = converted(cfg, entry, pool_split) if shots else ()
    except DataNotFoundError as e:
        raise DataNotFoundError(f"{entry}: {shots}-shot prompts draw their exemplars from the "
                                f"{pool_split!r} split, which is missing: "
                                f"{str(e).splitlines()[0]} (zero-shot needs no train split)"
                                ) from None
    count = (lambda s: len(cfg.vocab.encode(s))) if shots else None
    out = []
    for i, (raw, fields) in enumerate(rows):
        rng = formats.stable_rng(cfg.seed, entry, split, i)
        rec = _render_one(cfg, spec, fields, fmt, templates, template, rng)
        kept = 0
        if shots and pool:
            picks = rng.sample(range(len(pool)), min(len(pool), shots + 2))
            exemplars = []
            for j in picks:
                if (pool_split == split and j == i) or pool[j][0] == raw:
                    continue   # never the evaluated example itself
                ex = _render_one(cfg, spec, pool[j][1], fmt, templates,
                                 rec["template"] if fmt == "instruction" else None, rng)
                if ex["inputs"] != rec["inputs"]:
                    exemplars.append(ex)
            rec["inputs"], kept = formats.few_shot(rec, exemplars[:shots], count,
                                                   cfg.few_shot_budget)
        rec.update(idx=i, shots=kept, label=int(fields.get("label", -1)),
                   options=list(fields.get("options", [])) if spec.classification else [],
                   answers=[str(a) for a in fields.get("answers", [])] or [rec["targets"]])
        if "idx/question" in fields:
            rec["group"] = int(fields["idx/question"])
        if "score" in fields:
            rec["score"] = float(fields["score"])
        out.append(rec)
    return out
