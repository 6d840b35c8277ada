"""Checkpoints with orbax: every N steps and at the end, keep the last K, resume the latest.

A latest checkpoint that cannot be restored (a preempted write, a truncated file) is
skipped with a warning in favour of the one before, so a crash during a save never
costs more than one checkpoint interval. The on-disk layout is the model dir's
(`model.loading.checkpoint_manager`), which evaluation and `train.init_from` read back.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import jax
import orbax.checkpoint as ocp

from flan_repro.model.loading import checkpoint_manager

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self, directory: str | Path, keep: int = 3):
        self.directory = Path(directory).absolute()
        self.manager = checkpoint_manager(self.directory, keep)

    def steps(self) -> list[int]:
        self.manager.reload()
        return sorted(self.manager.all_steps())

    def save(self, step: int, state, meta: dict) -> None:
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=True)
        self.manager.wait_until_finished()

    def restore_latest(self, abstract_state):
        """(step, state, meta) of the newest checkpoint that restores, or None."""
        for step in reversed(self.steps()):
            try:
                out = self.manager.restore(step, args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
                return step, out["state"], out["meta"]
            except Exception as e:  # noqa: BLE001 - any unreadable checkpoint is skipped
                log.warning("checkpoint at step %d in %s cannot be restored (%s: %s); "
                            "falling back to the previous one", step, self.directory,
                            type(e).__name__, str(e).splitlines()[0][:200])
                bad = self.directory / str(step)
                if bad.exists() and jax.process_index() == 0:
                    shutil.move(str(bad), str(self.directory / f"corrupt-{step}"))
                self.manager.reload()
        return None

    def close(self):
        self.manager.close()
