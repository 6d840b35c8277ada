"""The three prompt formats of FLAN's Sec. 4.3 ablation, and few-shot assembly.

One function renders every format so the formats differ only in the prompt:
the same fields, the same target, the same example order.
  instruction   a template per example, drawn with a fixed seed
  no_template   the input fields alone (plus the options block for classification)
  dataset_name  `[<task cluster>: <dataset>]` then the no-template input
"""
from __future__ import annotations

import hashlib
import random
from typing import Callable, Mapping, Sequence

from flan_repro.catalogue import FORMATS, UnknownNameError
from flan_repro.prompts.templates import Template, fill, options_suffix

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


def render(spec, fields: Mapping, fmt: str, *, templates: Sequence[Template] = (),
           template_index: int | None = None, rng: random.Random | None = None,
           display_name: str = "") -> dict:
    """Renders one converted example: {'inputs', 'targets', 'template'}.

    template_index None with fmt 'instruction' draws a template from `rng`.
    """
    fields = with_options(fields)
    target_text = str(fields[spec.target])
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
    raise UnknownNameError("format", fmt, FORMATS)


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
