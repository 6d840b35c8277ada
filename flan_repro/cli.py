"""`flan-repro` command line: one subcommand per stage of the pipeline.

User mistakes (bad names, missing data or files) end with one `error:` line and
exit code 2, never a stack trace from deep inside TensorFlow.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# subcommand -> module exposing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "tasks": "flan_repro.registry.command",
    "train": "flan_repro.train.command",
    "eval": "flan_repro.evaluate.command",
    "score": "flan_repro.evaluate.score_command",
    "ablation": "flan_repro.ablation.command",
    "report": "flan_repro.ablation.report_command",
    "reproduce": "flan_repro.ablation.reproduce",
    "bench": "flan_repro.bench.command",
}
# commands that take free-form `--gin.NAME=VALUE` arguments
PASSTHROUGH = {"train"}


def _quiet_known_warnings() -> None:
    """seqio warns once per task that an uncached FunctionDataset shuffles poorly on
    restarts. Our toy sources are generated in-process, and a run's batch order is
    fixed by the batch store (resume reads batch s), so the warning does not apply;
    repeated for ~50 tasks it buries the progress lines."""
    import logging

    class _Drop(logging.Filter):
        def filter(self, record):
            return not str(record.getMessage()).startswith("Using an uncached FunctionDataset")

    logging.getLogger("absl").addFilter(_Drop())


def main(argv=None) -> int:
    import importlib
    _quiet_known_warnings()
    parser = argparse.ArgumentParser(prog="flan-repro", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.__doc__.splitlines()[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           description=module.__doc__)
        module.add_arguments(p)
        modules[name] = module
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command not in PASSTHROUGH:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if args.command in PASSTHROUGH:
            return int(modules[args.command].run(args, unknown) or 0)
        return int(modules[args.command].run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001
        # user errors (and a diverged run) get one line; real bugs keep their traceback
        if not isinstance(e, (ValueError, KeyError, FileNotFoundError)) and \
                type(e).__name__ != "TrainingDiverged":
            raise
        msg = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        # gin appends "In call to configurable ..." lines; the first line says it all
        print(f"error: {msg.splitlines()[0] if msg else type(e).__name__}", file=sys.stderr)
        return 2
