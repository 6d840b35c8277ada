"""The project's on-disk caches (toy vocabulary, batch stores, compiled XLA programs).

All keyed by content, so a stale entry is never read: a change in what determines
the cached thing changes its key. Root: $FLAN_REPRO_CACHE or ~/.cache/flan_repro.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    root = Path(os.environ.get("FLAN_REPRO_CACHE") or Path.home() / ".cache" / "flan_repro")
    return root.joinpath(*parts)


def enable_jax_compilation_cache() -> None:
    """Re-runs (resume, the three ablation variants, tests) skip XLA compiles: on 2 CPU
    cores a compile of the train step costs seconds, as much as many steps."""
    import jax
    jax.config.update("jax_compilation_cache_dir", str(cache_dir("jax")))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
