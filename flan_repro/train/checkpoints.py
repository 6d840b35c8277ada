"""Checkpoints with orbax: every N steps and at the end, keep the last K, resume the latest.

A latest checkpoint that cannot be restored (a preempted write, a truncated file) is
skipped with a warning in favour of the one before, so a crash during a save never
costs more than one checkpoint interval.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import jax
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)


class Checkpointer:
    def __init__(self, directory: str | Path, keep: int = 3):
        self.directory = Path(directory).absolute()
        # handlers named up front: reading item metadata (restore_latest_params) then
        # knows how each item was written instead of warning about every item
        self.manager = ocp.CheckpointManager(
            self.directory,
            item_handlers={"state": ocp.StandardCheckpointHandler(),
                           "meta": ocp.JsonCheckpointHandler()},
            options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                                 enable_async_checkpointing=False))

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

    def restore_latest_params(self, abstract_params):
        """Only the params of the newest restorable checkpoint (eval, init, export).

        The optimizer state's structure is not known to a reader, so the target tree is
        built from the checkpoint's own metadata, placed on this process's first device,
        and the params subtree is checked against the model's shapes.
        """
        import jax.numpy as jnp
        from jax.sharding import SingleDeviceSharding
        device = SingleDeviceSharding(jax.local_devices()[0])

        def target(meta):
            return jax.tree.map(
                lambda m: jax.ShapeDtypeStruct(tuple(m.shape), jnp.dtype(m.dtype), sharding=device)
                if hasattr(m, "shape") else m, meta)

        for step in reversed(self.steps()):
            try:
                meta = self.manager.item_metadata(step)["state"]
                meta = getattr(meta, "tree", meta)
                out = self.manager.restore(step, args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(target(meta))))
                params = out["state"]["params"]
                want = jax.tree.map(lambda a: tuple(a.shape), abstract_params)
                got = jax.tree.map(lambda a: tuple(a.shape), params)
                if want != got:
                    raise ValueError(f"checkpoint step {step} in {self.directory} holds params "
                                     f"of another model shape than the configured one")
                return params
            except ValueError:
                raise
            except Exception as e:  # noqa: BLE001
                log.warning("checkpoint at step %d in %s cannot be restored (%s); trying the "
                            "previous one", step, self.directory, type(e).__name__)
        return None

    def close(self):
        self.manager.close()
