"""Instruction templates as data: ours (tasks/templates/*.yaml) or FLAN's own file; and
the untuned LM's continuation prompts (tasks/baseline_templates.yaml, or FLAN's
flan/baseline_templates.py).

Another task suite keeps its templates in its own folder, in the same format
(`tasks/<suite>/templates/*.yaml`, e.g. the positive control's); a dataset's templates
are looked up in its suite's folder.

A template is an (input pattern, target pattern) pair with `{field}` placeholders,
exactly FLAN's shape. `--templates PATH` swaps in google-research/FLAN's
`flan/templates.py`: we read its `PATTERNS` literal with `ast` and never import or
execute the file, so a user's checkout cannot run code in our process.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import re
from pathlib import Path
from typing import Mapping, Sequence

import yaml

from flan_repro.catalogue import DEFAULT_SUITE, UnknownNameError, suite_dir

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclasses.dataclass(frozen=True)
class Template:
    input: str
    target: str
    turned_around: bool = False

    @property
    def fields(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.input)) | set(PLACEHOLDER.findall(self.target))

    @property
    def input_fields(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.input))


def options_suffix(options: Sequence[str]) -> str:
    """FLAN's options block: 'OPTIONS:\\n- a\\n- b'."""
    return "OPTIONS:\n- " + "\n- ".join(options)


def fill(pattern: str, fields: Mapping[str, object], where: str = "") -> str:
    """Substitutes `{name}` placeholders; an unknown name is an error listing the valid ones."""
    def sub(m):
        name = m.group(1)
        if name not in fields:
            raise UnknownNameError("template field", name,
                                   [k for k, v in fields.items() if isinstance(v, str)],
                                   hint=f"(in template {where})" if where else "")
        return str(fields[name])
    return PLACEHOLDER.sub(sub, pattern)


# --------------------------------------------------------------------------- loading
@functools.lru_cache(maxsize=8)
def load_all(path: str | None = None, suite: str = DEFAULT_SUITE
             ) -> Mapping[str, tuple[Template, ...]]:
    """Template key -> templates. `path` None: ours (the suite's `templates/` folder);
    a .py file: FLAN's PATTERNS; a folder: YAML files in our format."""
    if path is None:
        return _load_ours(suite_dir(suite) / "templates")
    p = Path(path)
    if p.is_dir() and (p / "flan" / "templates.py").exists():
        p = p / "flan" / "templates.py"          # a checkout of google-research/FLAN
    if p.is_dir():
        return _load_ours(p)
    if not p.exists():
        raise FileNotFoundError(f"--templates {path}: no such file. Point it at FLAN's "
                                f"flan/templates.py (or a checkout of google-research/FLAN).")
    return _load_flan_patterns(p)


def _load_ours(folder: Path) -> Mapping[str, tuple[Template, ...]]:
    out = {}
    for f in sorted(folder.glob("*.yaml")):
        with open(f) as fh:
            items = yaml.safe_load(fh) or []
        try:
            out[f.stem] = tuple(Template(str(t["input"]), str(t["target"]),
                                         bool(t.get("turned_around", False))) for t in items)
        except (KeyError, TypeError) as e:
            raise ValueError(f"{f}: each template needs 'input' and 'target' ({e})") from None
    return out


def _load_flan_patterns(path: Path) -> Mapping[str, tuple[Template, ...]]:
    """Reads `PATTERNS = {key: [(input, target), ...]}` from a FLAN templates file as data."""
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as e:
        raise ValueError(f"{path}: not a Python file FLAN's templates could be read from: {e}")
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "PATTERNS" for t in targets):
            try:
                patterns = ast.literal_eval(node.value)
            except ValueError:
                raise ValueError(f"{path}: PATTERNS must be a literal dict of lists of "
                                 f"(input, target) string pairs") from None
            break
    else:
        raise ValueError(f"{path}: no top-level `PATTERNS = {{...}}` found; expected FLAN's "
                         f"flan/templates.py")
    out = {}
    for key, pairs in patterns.items():
        # FLAN does not mark turned-around templates; `templates_for` infers them from
        # the target pattern once it knows the dataset's target field.
        out[key] = tuple(Template(str(i), str(t)) for i, t in pairs)
    return out


# ------------------------------------------------------------------ baseline prompts
@dataclasses.dataclass(frozen=True)
class BaselineSet:
    """The untuned LM's continuation prompts (the `baseline` format): per template key,
    its (input, target) patterns, of which the first is scored, and the words a plain LM
    continues with for each label of a fixed-option dataset (`{glm_answer}`)."""
    templates: Mapping[str, tuple[Template, ...]]
    answer_words: Mapping[str, tuple[str, ...]]


BASELINE_FILE = "baseline_templates.yaml"


@functools.lru_cache(maxsize=8)
def load_baseline(path: str | None = None, suite: str = DEFAULT_SUITE) -> BaselineSet:
    """Ours (the suite's `baseline_templates.yaml`), or FLAN's `flan/baseline_templates.py`
    (a file, or a checkout holding it), read as data like `load_all` reads templates.py.
    FLAN's file names `{glm_answer}` without saying which words fill it: the answer words
    always come from the suite's YAML, so both sets score the same continuations."""
    ours_file = suite_dir(suite) / BASELINE_FILE
    if not ours_file.exists():
        raise FileNotFoundError(f"suite {suite!r} has no {BASELINE_FILE} ({ours_file}): the "
                                f"baseline format needs one continuation prompt per dataset")
    with open(ours_file) as fh:
        data = yaml.safe_load(fh) or {}
    words = {k: tuple(str(w) for w in v) for k, v in (data.get("answer_words") or {}).items()}
    if path is None:
        table = {}
        for key, items in (data.get("templates") or {}).items():
            try:
                table[key] = tuple(Template(str(t["input"]), str(t["target"])) for t in items)
            except (KeyError, TypeError) as e:
                raise ValueError(f"{ours_file}, key {key!r}: each template needs 'input' and "
                                 f"'target' ({e})") from None
        return BaselineSet(table, words)
    p = Path(path)
    if p.is_dir() and (p / "flan" / "baseline_templates.py").exists():
        p = p / "flan" / "baseline_templates.py"   # a checkout of google-research/FLAN
    if not p.is_file():
        raise FileNotFoundError(f"--baseline_templates {path}: no such file. Point it at "
                                f"FLAN's flan/baseline_templates.py (or a FLAN checkout).")
    return BaselineSet(_load_flan_patterns(p), words)


def baseline_for(spec, path: str | None = None) -> tuple[Template, tuple[str, ...]]:
    """A dataset's scored baseline prompt (the first of its key: FLAN's file lists a
    translation's reverse direction second) and its answer words (() when none)."""
    bs = load_baseline(path, spec.suite)
    if spec.templates not in bs.templates:
        raise UnknownNameError("baseline template key", spec.templates, bs.templates,
                               hint=f"(dataset {spec.name!r}; baseline prompts from "
                                    f"{path or suite_dir(spec.suite) / BASELINE_FILE})")
    words = bs.answer_words.get(spec.templates, ())
    if words and spec.fixed_options and len(words) != len(spec.fixed_options):
        raise ValueError(f"{BASELINE_FILE}: answer_words[{spec.templates!r}] has {len(words)} "
                         f"words but dataset {spec.name!r} has {len(spec.fixed_options)} "
                         f"options {list(spec.fixed_options)}")
    return bs.templates[spec.templates][0], words


def templates_for(spec, path: str | None = None, num_templates: int | None = None
                  ) -> tuple[Template, ...]:
    """The templates of a dataset, turned-around flags set, cut to `num_templates`."""
    table = load_all(path, spec.suite)
    if spec.templates not in table:
        raise UnknownNameError("template key", spec.templates, table,
                               hint=f"(dataset {spec.name!r}; templates from "
                                    f"{path or suite_dir(spec.suite) / 'templates'})")
    standard_target = "{" + spec.target + "}"
    out = tuple(t if t.turned_around or path is None else
                dataclasses.replace(t, turned_around=t.target.strip() != standard_target)
                for t in table[spec.templates])
    return out[:num_templates] if num_templates else out


def validate(spec, templates: Sequence[Template], fields: Mapping[str, object]) -> None:
    """Every placeholder must be a field the dataset's converter emits."""
    valid = {k for k, v in fields.items() if isinstance(v, str)} | {"options_"}
    for i, t in enumerate(templates):
        for name in sorted(t.fields - valid):
            raise UnknownNameError("template field", name, valid,
                                   hint=f"(dataset {spec.name!r}, template {i}: {t.input[:60]!r})")
