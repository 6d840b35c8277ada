"""Raw examples -> prompted examples: the one place a dataset split is rendered.

Pure Python over lists, so each step is testable on a dict; the seqio tasks wrap the
result in tf.data. Rendering is deterministic in (seed, dataset, split, index). The
datasets are those of the config's suite (`cfg.catalogue`).
"""
from __future__ import annotations

import functools

from flan_repro.catalogue.converters import convert
from flan_repro.data.sources import DataNotFoundError
from flan_repro.prompts import formats, templates as tmpl
from flan_repro.registry.config import RegistryConfig


@functools.lru_cache(maxsize=1024)
def converted(cfg: RegistryConfig, entry: str, split: str) -> tuple[tuple[dict, dict], ...]:
    """(raw, fields) pairs of a split; examples the converter drops are left out."""
    spec = cfg.catalogue.dataset(entry)
    out = []
    for ex in cfg.source.examples(spec, split):
        fields = convert(spec, ex)
        if fields is not None:
            out.append((ex, fields))
    return tuple(out)


def dataset_templates(cfg: RegistryConfig, entry: str, num_templates: int | None = None):
    spec = cfg.catalogue.dataset(entry)
    return tmpl.templates_for(spec, cfg.templates, num_templates)


def eval_template_indices(cfg: RegistryConfig, entry: str) -> list[int]:
    """Templates used for evaluation: the standard ones (not turned around)."""
    return [i for i, t in enumerate(dataset_templates(cfg, entry)) if not t.turned_around]


def donor_templates(cfg: RegistryConfig, entry: str) -> list[int]:
    """The templates `entry` can lend to another task: standard ones that show every one of
    its input fields, so that every field of the borrowing example is shown too."""
    spec = cfg.catalogue.dataset(entry)
    templates = dataset_templates(cfg, entry)
    return [i for i in eval_template_indices(cfg, entry)
            if set(spec.inputs) <= templates[i].input_fields]


def shuffled_donors(cfg: RegistryConfig, entry: str) -> list[str]:
    """Datasets whose templates `shuffled_instruction` may lend to `entry`: those of another
    cluster of the suite, of the same kind (classification or not), with at most as many
    input fields (so all of this example's content has a place) and a `donor_templates`."""
    cat = cfg.catalogue
    spec = cat.dataset(entry)
    out = [d.name for d in cat.datasets.values()
           if d.cluster != spec.cluster and d.classification == spec.classification
           and 1 <= len(d.inputs) <= len(spec.inputs) and donor_templates(cfg, d.name)]
    if not out:
        raise ValueError(f"dataset {entry!r}: no dataset outside cluster {spec.cluster!r} "
                         f"({'classification' if spec.classification else 'generation'}, at "
                         f"most {len(spec.inputs)} input fields) to take a shuffled "
                         f"instruction from")
    return out


def pick_donor(cfg: RegistryConfig, donors: list[str], split: str, index: int, rng
               ) -> formats.Donor:
    """A donor dataset, then one of its `donor_templates`, drawn from `rng`; the donor's
    example (same index in its split of the same name, else its test split) is read
    only when the template has placeholders beyond the content and options."""
    name = rng.choice(donors)
    t = rng.choice(donor_templates(cfg, name))
    spec = cfg.catalogue.dataset(name)
    donor = formats.Donor(spec, dataset_templates(cfg, name)[t], t, {})
    if donor.own_fields:
        rows = converted(cfg, name, split if split in spec.splits else "test")
        donor = formats.Donor(spec, donor.template, t, rows[index % len(rows)][1])
    return donor


def _render_one(cfg, spec, fields, fmt, templates, template_index, rng, donor=None,
                baseline=None):
    cat = cfg.catalogue
    return formats.render(spec, fields, fmt, templates=templates, template_index=template_index,
                          rng=rng, display_name=cat.clusters[spec.cluster].display_name,
                          donor=donor, baseline=baseline)


def render_split(cfg: RegistryConfig, entry: str, split: str, *, fmt: str = "instruction",
                 shots: int = 0, template: int | None = None,
                 num_templates: int | None = None) -> list[dict]:
    """Prompted examples of one split.

    template None (instruction format): each example draws one of the first
    `num_templates` templates. shuffled_instruction: each example draws a donor
    (`pick_donor`). baseline: the dataset's continuation prompt (`tmpl.baseline_for`). Few-shot exemplars come from the train split only (`check_shots`),
    never the example itself, rendered with the query's template (or donor), and are
    pruned to `cfg.input_budget` tokens. An example whose rendered target is empty (an
    inverted template over an empty field, e.g. OpenBookQA's `fact1`) is dropped, as
    query and as exemplar: it would teach or score an empty answer (`empty_targets`
    counts them).
    """
    cat = cfg.catalogue
    spec = cat.dataset(entry)
    cat.check_format(fmt)
    check_shots(cfg, entry, shots)
    templates = dataset_templates(cfg, entry, num_templates) if fmt == "instruction" else ()
    if template is not None and not 0 <= template < len(templates):
        raise ValueError(f"dataset {entry!r} has templates 0..{len(templates) - 1}, not {template}")
    rows = converted(cfg, entry, split)
    donors = shuffled_donors(cfg, entry) if fmt == "shuffled_instruction" else None
    if templates and rows:
        tmpl.validate(spec, templates, formats.with_options(rows[0][1]))
    baseline = tmpl.baseline_for(spec, cfg.baseline_templates) if fmt == "baseline" else None
    if baseline and rows:
        tmpl.validate(spec, baseline[:1],
                      formats.baseline_fields(spec, formats.with_options(rows[0][1]), baseline[1]))
    try:
        pool = converted(cfg, entry, "train") if shots else ()
    except DataNotFoundError as e:
        raise DataNotFoundError(f"{entry}: {shots}-shot prompts draw their exemplars from the "
                                "'train' split, which is missing: "
                                f"{str(e).splitlines()[0]} (zero-shot needs no train split)"
                                ) from None
    count = (lambda s: len(cfg.vocab.encode(s))) if shots else None
    out = []
    for i, (raw, fields) in enumerate(rows):
        rng = formats.stable_rng(cfg.seed, entry, split, i)
        donor = pick_donor(cfg, donors, split, i, rng) if donors else None
        rec = _render_one(cfg, spec, fields, fmt, templates, template, rng, donor, baseline)
        if not rec["targets"].strip():
            continue
        kept = 0
        if shots and pool:
            picks = rng.sample(range(len(pool)), min(len(pool), shots + 2))
            exemplars = []
            for j in picks:
                if (split == "train" and j == i) or pool[j][0] == raw:
                    continue   # never the example itself (train: training prompts)
                ex = _render_one(cfg, spec, pool[j][1], fmt, templates,
                                 rec["template"] if fmt == "instruction" else None, rng, donor,
                                 baseline)
                if ex["inputs"] != rec["inputs"] and ex["targets"].strip():
                    exemplars.append(ex)
            rec["inputs"], kept = formats.few_shot(rec, exemplars[:shots], count,
                                                   cfg.input_budget)
        options = rec.pop("options", None) or list(fields.get("options", []))
        rec.update(idx=i, shots=kept, label=int(fields.get("label", -1)),
                   options=options if spec.classification else [],
                   answers=[str(a) for a in fields.get("answers", [])] or [rec["targets"]])
        if "idx/question" in fields:
            rec["group"] = int(fields["idx/question"])
        if "score" in fields:
            rec["score"] = float(fields["score"])
        out.append(rec)
    return out


def check_shots(cfg: RegistryConfig, entry: str, shots: int) -> None:
    """k > 0 needs a train split: exemplars come from train only, as in FLAN (its few-shot
    source draws from 'train'), so no scored prompt holds another example of the split
    being scored. A dataset without one (WSC273: a test split only) is zero-shot only."""
    if not 0 <= shots <= cfg.max_shots:
        raise ValueError(f"shots must be between 0 and {cfg.max_shots}, got {shots}")
    spec = cfg.catalogue.dataset(entry)
    if shots and not spec.few_shot:
        raise ValueError(f"dataset {entry!r} supports only shots=0, not {shots}: few-shot "
                         f"exemplars come from the train split only and it has none "
                         f"(splits: {', '.join(spec.splits)}); drawing them from the split "
                         f"being scored would put its own examples in its prompts")


def empty_targets(cfg: RegistryConfig, entry: str, split: str, *, fmt: str = "instruction",
                  num_templates: int | None = None) -> int:
    """Examples of a split that `render_split` drops because their target renders empty."""
    return len(converted(cfg, entry, split)) - len(
        render_split(cfg, entry, split, fmt=fmt, num_templates=num_templates))
