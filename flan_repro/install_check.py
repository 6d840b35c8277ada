"""Fails the install if the venv holds packages that import but misbehave together.

`t5` depends on seqio-nightly and tfds-nightly, which install into the same import
folders as seqio and tensorflow-datasets; a half-overwritten package imports but
misbehaves, so we refuse it at install time rather than debug it at train time.

`make install ACCEL=tpu|cuda12` adds jax's accelerator extra at the jax version setup.py
resolved (`--jax_version` prints it for the Makefile). jaxlib and the accelerator's
plugin must be that same version: a mismatch imports and then falls back to CPU devices
or fails at the first compile, on the pod, so `--accel` checks it right after the install.
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import sys

# the packages each jax extra must bring at jax's own version (libtpu has its own numbering)
ACCEL_SAME_VERSION = {"cpu": ("jaxlib",), "tpu": ("jaxlib",),
                      "cuda12": ("jaxlib", "jax-cuda12-plugin", "jax-cuda12-pjrt")}
ACCEL_PRESENT = {"cpu": (), "tpu": ("libtpu",), "cuda12": ()}


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def check_packages() -> list[str]:
    dists = {d.metadata["Name"].lower() for d in md.distributions()}
    problems = []
    for stable, nightly in (("seqio", "seqio-nightly"), ("tensorflow-datasets", "tfds-nightly")):
        if nightly in dists:
            problems.append(f"{nightly} is installed beside {stable}: "
                            f"run `.venv/bin/pip uninstall -y {nightly} {stable}` then `make install`")
        if stable not in dists:
            problems.append(f"{stable} is missing")
    return problems


def check_accel(accel: str) -> list[str]:
    """What keeps jax from running on `accel`'s devices, as far as the installed
    packages tell (no device is opened: a pod's workers install at the same time)."""
    if accel not in ACCEL_SAME_VERSION:
        return [f"unknown accelerator {accel!r}: cpu|tpu|cuda12"]
    jax = _version("jax")
    fix = f"run `make install ACCEL={accel}`"
    problems = [f"{name} {_version(name) or 'is missing'}"
                f"{f', jax is {jax}' if _version(name) else ''}: {fix}"
                for name in ACCEL_SAME_VERSION[accel] if _version(name) != jax]
    problems += [f"{name} is missing: {fix}" for name in ACCEL_PRESENT[accel]
                 if _version(name) is None]
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jax_version", action="store_true",
                   help="print the installed jax version (the jax extra is pinned to it)")
    p.add_argument("--accel", default=None,
                   help="check the jax extra of cpu | tpu | cuda12 instead")
    args = p.parse_args(argv)
    if args.jax_version:
        version = _version("jax")
        if version is None:
            print("install check failed: jax is not installed; run `make install`",
                  file=sys.stderr)
            return 1
        print(version)
        return 0
    problems = check_packages() if args.accel is None else check_accel(args.accel)
    if problems:
        print("install check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("install check: one seqio, one tensorflow-datasets" if args.accel is None else
          f"install check: jax {_version('jax')} for {args.accel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
