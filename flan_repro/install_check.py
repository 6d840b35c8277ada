"""Fails the install if two copies of seqio or TFDS ended up in the venv.

`t5` depends on seqio-nightly and tfds-nightly, which install into the same import
folders as seqio and tensorflow-datasets; a half-overwritten package imports but
misbehaves, so we refuse it at install time rather than debug it at train time.
"""
import importlib.metadata as md
import sys


def main() -> int:
    dists = {d.metadata["Name"].lower() for d in md.distributions()}
    problems = []
    for stable, nightly in (("seqio", "seqio-nightly"), ("tensorflow-datasets", "tfds-nightly")):
        if nightly in dists:
            problems.append(f"{nightly} is installed beside {stable}: "
                            f"run `.venv/bin/pip uninstall -y {nightly} {stable}` then `make install`")
        if stable not in dists:
            problems.append(f"{stable} is missing")
    if problems:
        print("install check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("install check: one seqio, one tensorflow-datasets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
