"""The prompt formats of FLAN's Sec. 4.3 ablation (and one eval-only format), and
few-shot assembly.

One function renders every format so the formats differ only in the prompt:
the same fields, the same target, the same example order.
  instruction           a template per example, drawn with a fixed seed
  no_template           the input fields alone (plus the options block for classification)
  dataset_name          `[<task cluster>: <dataset>]` then the no-template input
  shuffled_instruction  (evaluation only) a standard template of *another* task, filled
                        with this example's content and options: Webson & Pavlick's
                        (2022) negative control, the instruction-tuned model given an
                        instruction that does not describe the task.
  baseline              (evaluation only) the untuned LM's prompt: text it would continue,
                        no instruction and no options block (the paper scores its base
                        LM with GPT-3-style prompts, FLAN's baseline_templates.py). Each
                        option of a classification example is scored as the continuation:
                        the target pattern filled with that option (and, for fixed
                        options, its answer word `{glm_answer}`, e.g. "true" / "false").

shuffled_instruction, precisely (the `Donor` is chosen by `registry.examples`, seeded by
(seed, dataset, split, example index) like the instruction format's template draw): a
dataset of another cluster of the same suite and kind (classification or not) with at
most as many input fields, then one of its standard (not turned-around) templates that
shows all of that dataset's input fields. The template is filled as follows: the
donor's input fields (its `inputs`, the content the no-template format shows) take this
example's input fields in order, the last donor field taking the remaining ones joined
by newlines; `{options_}` is this example's options block; every other placeholder (an
instruction-level field, such as the positive control's `{topic}`, the topic a question
asks about) comes from the donor's own example at the same index of its split. The
target, options and label are this example's, so the prompt asks the donor task's
question about this example's content.
"""
from __future__ import annotations

import dataclasses
import hashlib
import random
from typing import Callable, Mapping, Sequence

from flan_repro.catalogue import EVAL_FORMATS, UnknownNameError
from flan_repro.prompts.templates import Template, fill, options_suffix

# fields that are this example's options, whatever template they are filled into
OPTION_FIELDS = ("options_", "options_str")

EXEMPLAR_SEPARATOR = "\n\n"     # between few-shot exemplars
INPUT_TARGET_SEPARATOR = "\n"   # between an exemplar's input and its answer


def stable_rng(*parts) -> random.Random:
    """An RNG seeded by a stable digest (Python's hash() changes between runs)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def with_options(fields: Mapping) -> dict:
    out = dict(fields)
    if "options" in out:
        out["options_"] = options_suffix(out["options"])
        out.setdefault("options_str", out["options_"])   # ReCoRD's name in FLAN's file
    return out


@dataclasses.dataclass(frozen=True)
class Donor:
    """Where a shuffled instruction comes from: another dataset's standard template (its
    index in that dataset's list) and the fields of that dataset's example that fill the
    template's instruction-level placeholders ({} when it has none)."""
    spec: object
    template: Template
    index: int
    fields: Mapping

    @property
    def own_fields(self) -> set[str]:
        """Placeholders filled from the donor's example, not from the rendered one."""
        return self.template.input_fields - set(self.spec.inputs) - set(OPTION_FIELDS)


def shuffled_fields(spec, fields: Mapping, donor: Donor) -> dict:
    """The fields `donor.template` is filled with for this example (module docstring)."""
    ours, theirs = list(spec.inputs), list(donor.spec.inputs)
    if not 1 <= len(theirs) <= len(ours):
        raise ValueError(f"dataset {donor.spec.name!r} (inputs {theirs}) cannot lend its "
                         f"instructions to {spec.name!r} (inputs {ours}): a donor needs "
                         f"1..{len(ours)} input fields")
    content = {d: str(fields[f]) for d, f in zip(theirs[:-1], ours)}
    content[theirs[-1]] = "\n".join(str(fields[f]) for f in ours[len(theirs) - 1:])
    options = {k: fields[k] for k in OPTION_FIELDS if k in fields}
    return {**with_options(donor.fields), **content, **options}


def baseline_fields(spec, fields: Mapping, words: Sequence[str], label: int | None = None
                    ) -> dict:
    """The fields a baseline prompt is filled with for one label (None: the gold one):
    that option as the target field and its answer word as `glm_answer`."""
    out = dict(fields)
    if label is not None:
        out[spec.target] = fields["options"][label]
    if words:
        out["glm_answer"] = words[int(fields["label"]) if label is None else label]
    return out


def render(spec, fields: Mapping, fmt: str, *, templates: Sequence[Template] = (),
           template_index: int | None = None, rng: random.Random | None = None,
           display_name: str = "", donor: Donor | None = None,
           baseline: tuple[Template, Sequence[str]] | None = None) -> dict:
    """Renders one converted example: {'inputs', 'targets', 'template'} (and 'donor',
    `<dataset>:<template index>`, for shuffled_instruction; 'options', the scored
    continuations, for a baseline classification example).

    template_index None with fmt 'instruction' draws a template from `rng`;
    shuffled_instruction needs the `donor` and baseline the dataset's (template, answer
    words) (module docstring).
    """
    fields = with_options(fields)
    target_text = str(fields[spec.target])
    if fmt == "baseline":
        if baseline is None:
            raise ValueError(f"dataset {spec.name!r}: the baseline format needs its baseline "
                             f"prompt")
        t, words = baseline
        where = f"baseline prompt {spec.templates!r}"
        gold = baseline_fields(spec, fields, words)
        out = {"inputs": fill(t.input, gold, where), "targets": fill(t.target, gold, where),
               "template": -1}
        if spec.classification:
            out["options"] = [fill(t.target, baseline_fields(spec, fields, words, i), where)
                              for i in range(len(fields["options"]))]
        return out
    if fmt == "shuffled_instruction":
        if donor is None:
            raise ValueError(f"dataset {spec.name!r}: shuffled_instruction needs a donor "
                             f"template from another task")
        where = f"{donor.spec.templates}[{donor.index}], shuffled onto {spec.name}"
        return {"inputs": fill(donor.template.input, shuffled_fields(spec, fields, donor),
                               where),
                "targets": target_text, "template": -1,
                "donor": f"{donor.spec.name}:{donor.index}"}
    if fmt == "instruction":
        if not templates:
            raise ValueError(f"dataset {spec.name!r}: no templates to render with")
        idx = template_index if template_index is not None else rng.randrange(len(templates))
        t = templates[idx]
        where = f"{spec.templates}[{idx}]"
        return {"inputs": fill(t.input, fields, where), "targets": fill(t.target, fields, where),
                "template": idx}
    if fmt in ("no_template", "dataset_name"):
        parts = [str(fields[f]) for f in spec.inputs]
        if "options_" in fields:
            parts.append(fields["options_"])
        inputs = "\n".join(parts)
        if fmt == "dataset_name":
            inputs = f"[{display_name}: {spec.paper_name}]\n{inputs}"
        return {"inputs": inputs, "targets": target_text, "template": -1}
    raise UnknownNameError("format", fmt, EVAL_FORMATS)


def few_shot(query: Mapping, exemplars: Sequence[Mapping], count_tokens: Callable[[str], int],
             budget: int) -> tuple[str, int]:
    """Prepends exemplars (rendered like the query) while the whole input fits `budget`.

    FLAN prunes exemplars to fit its 960-token input budget; we drop them from the end
    (keeping the first ones, which are the same for every query of a seed), and never
    drop the query itself. Returns the input and how many exemplars were kept.
    """
    used = count_tokens(query["inputs"])
    kept = []
    for ex in exemplars:
        block = ex["inputs"] + INPUT_TARGET_SEPARATOR + ex["targets"]
        cost = count_tokens(block) + 1
        if used + cost > budget:
            break
        kept.append(block)
        used += cost
    return EXEMPLAR_SEPARATOR.join([*kept, query["inputs"]]), len(kept)
