"""gin for every command: where gin files are found, how `--gin.NAME=VALUE` becomes a
binding, how a parse error reads, and how one run's bindings are kept from another's.

gin has one process-wide config. A command parses it once; a library call that needs
its own bindings (the ablation's training runs, reading a model dir's config.gin)
parses inside `isolated_gin()`, so neither sees nor leaves the other's bindings.
"""
from __future__ import annotations

import contextlib
import copy
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LITERAL = re.compile(r"^(-?\d+(\.\d*)?([eE]-?\d+)?|True|False|None|['\"@%\[\(\{].*)$", re.S)
_GIN_STATE = ("_CONFIG", "_SINGLETONS", "_IMPORTS", "_OPERATIVE_CONFIG")


def gin_bindings(unknown: list[str]) -> list[str]:
    """`--gin.NAME=VALUE` -> `NAME = VALUE`, quoting bare strings (paths, mixture names)."""
    out = []
    for arg in unknown:
        if not arg.startswith("--gin."):
            raise ValueError(f"unrecognized argument {arg!r}: expected --gin.NAME=VALUE, "
                             f"--gin_file=FILE, --dry_run or --data_dir")
        name, sep, value = arg[len("--gin."):].partition("=")
        if not sep:
            raise ValueError(f"{arg!r}: expected --gin.NAME=VALUE")
        out.append(f"{name} = {value if _LITERAL.match(value) else repr(value)}")
    return out


def gin_search_paths() -> list[str]:
    return [str(ROOT), str(ROOT / "gin")]


def recipe_files() -> list[str]:
    """The training recipes a run starts from (gin/train/*.gin but base.gin, which they
    all include)."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "gin" / "train").glob("*.gin")
                  if p.stem != "base")


def parse_gin(files: list[str], bindings: list[str]) -> None:
    """Parses gin with errors that name the binding, not a traceback into gin."""
    import gin
    import flan_repro.model.decoder_only  # noqa: F401  (registers configurables)
    import flan_repro.registry.config  # noqa: F401
    import flan_repro.model.t5  # noqa: F401
    import flan_repro.train.optim  # noqa: F401
    import flan_repro.train.partitioning  # noqa: F401
    import flan_repro.train.trainer  # noqa: F401
    for p in gin_search_paths():
        gin.add_config_file_search_path(p)
    for f in files:
        if not any((Path(p) / f).exists() for p in ["", *gin_search_paths()]):
            raise FileNotFoundError(f"gin file {f} not found (looked in . and gin/); "
                                    f"training recipes: {', '.join(recipe_files())}")
    try:
        gin.parse_config_files_and_bindings(files, bindings, finalize_config=False)
    except (ValueError, KeyError, SyntaxError, TypeError) as e:
        msg = str(e).splitlines()[0]
        raise ValueError(f"bad gin configuration: {msg}") from None


@contextlib.contextmanager
def isolated_gin():
    """A clean gin config for the block; the caller's gin state is restored afterwards.

    gin's global tables are snapshotted, cleared, and put back: reading a model dir's
    config.gin inside an ablation must not see the ablation's bindings nor leave its own.
    """
    import gin
    import gin.config as gc
    saved = {k: copy.copy(getattr(gc, k)) for k in _GIN_STATE if hasattr(gc, k)}
    locked = gc.config_is_locked()
    gin.clear_config()
    try:
        yield
    finally:
        gin.clear_config()
        for k, v in saved.items():
            target = getattr(gc, k)
            target.clear()
            target.update(v)
        gc._set_config_is_locked(locked)


@contextlib.contextmanager
def gin_scope(files: list[str], bindings: list[str]):
    """`files` + `bindings` parsed for the block only (isolated from the caller's gin)."""
    with isolated_gin():
        parse_gin(files, bindings)
        yield
