"""Shared test setup: quiet TensorFlow, the real-data folder, default registry settings per file."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real dev sets not present at {REALDATA} (only on the project's machines)")
    return REALDATA


# Lines of library start-up chatter that no quiet `flan-repro` command may print: a
# test oracle written from real output, independent of flan_repro.logs' own patterns.
LIBRARY_NOISE_MARKERS = ("normalizer.cc", "precompiled_charsmap", "cudart_stub", "cuInit",
                         "oneDNN", "TF_ENABLE_ONEDNN_OPTS", "This TensorFlow binary is optimized",
                         "absl::", "I0000", "W0000", "E0000", "WARNING:absl",
                         "Using an uncached FunctionDataset")


@pytest.fixture(scope="session")
def library_noise():
    """library_noise(text) -> the lines of `text` that are library chatter."""
    return lambda text: [line for line in text.splitlines()
                         if any(m in line for m in LIBRARY_NOISE_MARKERS)]


@pytest.fixture
def registry_settings():
    """`configure` for one test: the process-wide registry settings it installs are
    replaced by the ones before the test when it ends."""
    from flan_repro.registry.config import configure, current, set_current
    saved = current()
    yield configure
    set_current(saved)


@pytest.fixture(autouse=True, scope="module")
def default_registry():
    """Every test file starts from the default registry settings, whatever an earlier file
    installed (an in-process ablation's `runner.prepare`, a fixture's `configure`): the
    process-wide setting must not make a test's outcome depend on test order."""
    from flan_repro.registry.config import RegistryConfig, set_current
    set_current(RegistryConfig())
    yield
    set_current(RegistryConfig())
