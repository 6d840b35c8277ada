"""`flan-repro` command line: one subcommand per stage of the pipeline.

User mistakes (bad names, missing data or files) end with one `error:` line and
exit code 2, never a stack trace from deep inside TensorFlow.
"""
from __future__ import annotations

import argparse
import sys

# subcommand -> module exposing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "tasks": "flan_repro.registry.command",
    "train": "flan_repro.train.command",
    "eval": "flan_repro.evaluate.command",
    "score": "flan_repro.evaluate.score_command",
    "export": "flan_repro.evaluate.export_command",
    "calibration": "flan_repro.evaluate.calibration_command",
    "ablation": "flan_repro.ablation.command",
    "report": "flan_repro.ablation.report_command",
    "reproduce": "flan_repro.ablation.reproduce",
    "bench": "flan_repro.bench.command",
    "prompt-tune": "flan_repro.prompt_tuning.command",
}
# commands that take free-form `--gin.NAME=VALUE` arguments
PASSTHROUGH = {"train", "ablation", "reproduce"}


VERBOSE_HELP = "also print the libraries' logs (TensorFlow, XLA, absl, SentencePiece)"


def main(argv=None) -> int:
    import importlib
    from flan_repro import logs
    parser = argparse.ArgumentParser(prog="flan-repro", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.__doc__.splitlines()[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           description=module.__doc__)
        module.add_arguments(p)
        # accepted after the subcommand too; SUPPRESS keeps a global -v from being reset
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help=VERBOSE_HELP)
        modules[name] = module
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command not in PASSTHROUGH:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    # before any command imports TensorFlow or JAX (building the parser does not)
    logs.setup(args.verbose)
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
