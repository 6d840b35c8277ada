"""`flan-repro` command line: one subcommand per stage of the pipeline.

User mistakes (bad names, missing data or files) end with one `error:` line and
exit code 2, never a stack trace from deep inside TensorFlow.
"""
from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# subcommand -> module exposing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "tasks": "flan_repro.registry.command",
}


def main(argv=None) -> int:
    import importlib
    parser = argparse.ArgumentParser(prog="flan-repro", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.__doc__.splitlines()[0],
                           description=module.__doc__)
        module.add_arguments(p)
        modules[name] = module
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, KeyError, FileNotFoundError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"error: {msg}", file=sys.stderr)
        return 2
