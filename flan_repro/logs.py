"""What a `flan-repro` command prints: our own log lines, not the libraries' start-up chatter.

Loading TensorFlow, XLA and tf.text's SentencePiece kernels writes hundreds of INFO
lines (`cudart_stub.cc ... Could not find cuda drivers`, `failed call to cuInit`,
`normalizer.cc(51) LOG(INFO) precompiled_charsmap is empty`, one per seqio task
every time a training mixture's pipeline starts) that bury the progress lines. Most
go away with environment variables read when the libraries load. Two kinds do not:
TensorFlow's shared libraries log from static initializers through absl before
`absl::InitializeLog()` (no variable reaches that), and tf.text links its own copy of
SentencePiece whose log level no Python API sets (`sentencepiece.set_min_log_level`
only reaches the pip package's copy, which the tokenizer ops do not use). For those,
`library_stderr_filtered` captures file descriptor 2 around the one call that loads
them and writes back every line that is not a known library INFO/WARNING line, so an
error printed in that window still reaches the terminal.

`--verbose` (or FLAN_REPRO_VERBOSE=1) changes nothing: every library prints as it would
without us, and library loggers' INFO lines show too.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import tempfile

VERBOSE_ENV = "FLAN_REPRO_VERBOSE"

# Read by the C++ libraries when they load, so set before TensorFlow or JAX is imported.
# TF_CPP_MIN_LOG_LEVEL=3 also hides `E ... failed call to cuInit` on machines without a
# GPU (2 lets it through); real TensorFlow errors still arrive as Python exceptions.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "2", "GRPC_VERBOSITY": "ERROR"}

# Library lines dropped from a filtered window: absl/glog INFO and WARNING lines
# (`I0000 00:00:1796199119.655211    3881 cudart_stub.cc:31] ...`), absl's banner before
# its initialization, and SentencePiece's INFO lines. Errors (E..., F...) are kept.
NOISE = (
    re.compile(r"^[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "),
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(r"^\S+\.cc\(\d+\) LOG\(INFO\) "),
)


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def is_library_noise(line: str) -> bool:
    return any(p.match(line) for p in NOISE)


@contextlib.contextmanager
def library_stderr_filtered():
    """Captures what anything (C++ included) writes to fd 2 while the block runs, then
    writes back all of it except known library noise. Used only around calls that load
    chatty native code; a no-op when verbose."""
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode("utf-8", "replace")
                    .splitlines(keepends=True) if not is_library_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _FilterTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first `import tensorflow` (by seqio, tfds or us, whichever comes first)
    inside `library_stderr_filtered`: commands that never need TensorFlow do not pay
    for importing it, and the ones that do get its load-time lines filtered.

    Libraries probe `importlib.util.find_spec("tensorflow")` without importing it, so
    the finder stays installed until the module is actually executed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_filtered(module):
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            with library_stderr_filtered():
                exec_module(module)
        spec.loader.exec_module = exec_filtered
        return spec


class _Formatter(logging.Formatter):
    """`HH:MM:SS message`; warnings and errors say which they are."""

    def __init__(self):
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")

    def formatMessage(self, record):
        if record.levelno >= logging.WARNING:
            record.message = f"{record.levelname.lower()}: {record.message}"
        return super().formatMessage(record)


class _DropUncachedDatasetWarning(logging.Filter):
    """seqio warns once per task that an uncached FunctionDataset shuffles poorly on
    restarts. Our toy sources are generated in-process, and a run's batch order is
    fixed by the batch store (resume reads batch s), so the warning does not apply;
    repeated for ~50 tasks it buries the progress lines."""

    def filter(self, record):
        return not str(record.getMessage()).startswith("Using an uncached FunctionDataset")


def setup(verbose_flag: bool = False) -> bool:
    """Once per command, before anything imports TensorFlow or JAX. Returns whether the
    run is verbose (the flag or FLAN_REPRO_VERBOSE); child processes inherit the choice."""
    is_verbose = verbose_flag or verbose()
    if is_verbose:
        os.environ[VERBOSE_ENV] = "1"
    else:
        os.environ.update(QUIET_ENV)
        if "tensorflow" not in sys.modules and \
                not any(isinstance(f, _FilterTensorFlowImport) for f in sys.meta_path):
            sys.meta_path.insert(0, _FilterTensorFlowImport())
        absl_logger = logging.getLogger("absl")
        if not any(isinstance(f, _DropUncachedDatasetWarning) for f in absl_logger.filters):
            absl_logger.addFilter(_DropUncachedDatasetWarning())
    handler = logging.StreamHandler()
    handler.setFormatter(_Formatter())
    # a no-op when the root logger already has handlers (pytest's, in-process tests)
    logging.basicConfig(level=logging.INFO if is_verbose else logging.WARNING,
                        handlers=[handler])
    logging.getLogger("flan_repro").setLevel(logging.INFO)
    return is_verbose
