"""What produced a report: template sets (instructions, and the untuned base model's
baseline prompts), data source, checkpoints, code version, command.

The `instruction` rows mean our templates unless `--templates` named FLAN's file, and
a number means little without the data and checkpoints behind it; every `summary.json`
and `report.md` states them (`of_run`, `markdown_lines`). Nothing here may fail a run:
a tree that is not a git checkout (an unpacked release, a copied folder) is recorded as
"unknown", not an error.
"""
from __future__ import annotations

import hashlib
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNKNOWN = "unknown"


def _sha256(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def template_set(templates: str | None, suite: str) -> dict:
    """Which templates the rows were prompted with, resolved as `prompts.templates.load_all`
    resolves `--templates`: ours (the suite's YAML folder), FLAN's `flan/templates.py` (a
    file, or a checkout holding it) or a folder of YAML in our format. The sha256 is over
    the file (FLAN's) or the folder's YAML files in name order."""
    if templates is None:
        from flan_repro.catalogue import suite_dir
        folder = suite_dir(suite) / "templates"
        return {"set": "ours", "path": str(folder),
                "sha256": _sha256(sorted(folder.glob("*.yaml")))}
    p = Path(templates)
    if p.is_dir() and (p / "flan" / "templates.py").exists():
        p = p / "flan" / "templates.py"
    if p.is_dir():
        return {"set": "yaml folder", "path": str(p), "sha256": _sha256(sorted(p.glob("*.yaml")))}
    return {"set": "flan templates.py", "path": str(p), "sha256": _sha256([p])}


def baseline_template_set(baseline_templates: str | None, suite: str) -> dict:
    """Which continuation prompts the `baseline` rows (the untuned base model) used,
    resolved as `prompts.templates.load_baseline` resolves `--baseline_templates`: ours
    (the suite's YAML) or FLAN's `flan/baseline_templates.py` (answer words always ours)."""
    from flan_repro.catalogue import suite_dir
    from flan_repro.prompts.templates import BASELINE_FILE
    ours = suite_dir(suite) / BASELINE_FILE
    if baseline_templates is None:
        return {"set": "ours", "path": str(ours), "sha256": _sha256([ours])}
    p = Path(baseline_templates)
    if p.is_dir():
        p = p / "flan" / "baseline_templates.py"
    return {"set": "flan baseline_templates.py", "path": str(p), "sha256": _sha256([p]),
            "answer_words": str(ours)}


def git_state(root: Path = ROOT) -> dict:
    """The project's commit and whether tracked files differ from it; "unknown" when
    `root` is not a git checkout or git is missing."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=30, check=True).stdout.strip()
    try:
        if git("rev-parse", "--show-toplevel") != str(root.resolve()):
            raise subprocess.CalledProcessError(1, "git")   # inside someone else's repo
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": UNKNOWN, "dirty": None}
    return {"commit": commit, "dirty": dirty}


def of_run(registry, base: str, tuned: list[str], argv: list[str] | None = None) -> dict:
    """The provenance block of a summary. registry: the run's `RegistryConfig`; base: the
    base checkpoint; tuned: the tuned model dirs; argv: the command line (sys.argv)."""
    return {"templates": template_set(registry.templates, registry.suite),
            "baseline_templates": baseline_template_set(registry.baseline_templates,
                                                        registry.suite),
            "data_dir": registry.data_dir, "suite": registry.suite,
            "vocabulary": registry.vocabulary,
            "checkpoints": {"base": base, "tuned": list(tuned)},
            "git": git_state(),
            "command": list(sys.argv if argv is None else argv)}


def markdown_lines(p: dict | None) -> list[str]:
    """The report's provenance section; a summary written before provenance was recorded
    says so instead of guessing."""
    lines = ["", "## Provenance", ""]
    if not p:
        return lines + ["Not recorded (this summary.json predates provenance)."]
    t, g = p["templates"], p["git"]
    commit = g["commit"] if g["commit"] == UNKNOWN else \
        f"{g['commit']}{' (uncommitted changes)' if g['dirty'] else ''}"
    return lines + [
        f"- templates: {t['set']}, `{t['path']}` (sha256 `{t['sha256']}`)",
        *([f"- baseline prompts (untuned base rows): {b['set']}, `{b['path']}` (sha256 "
           f"`{b['sha256']}`)"] if (b := p.get("baseline_templates")) else []),
        f"- data: `{p['data_dir']}` (suite `{p['suite']}`, vocabulary `{p['vocabulary']}`)",
        f"- base checkpoint: `{p['checkpoints']['base']}`",
        "- tuned models: " + (", ".join(f"`{m}`" for m in p["checkpoints"]["tuned"]) or "none"),
        f"- code: git commit {commit}" + (" (not a git checkout)" if g["commit"] == UNKNOWN
                                         else ""),
        f"- command: `{shlex.join(p['command'])}`"]
