"""`make install ACCEL=cpu|tpu|cuda12`: which commands each accelerator runs (`make -n`, in a
scratch folder with the project's Makefile, so nothing is installed), how a switch
removes the previous plugin, and the install check that pins the extra to jax's version."""
import importlib.metadata as md
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flan_repro import install_check

ROOT = Path(__file__).resolve().parents[1]
BASE_INSTALL = ['.venv/bin/python -m pip install --quiet -e ".[test]"',
                ".venv/bin/python -m flan_repro.install_check", "touch .venv/.installed"]
PINNED = "$(.venv/bin/python -m flan_repro.install_check --jax_version)"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def make_n(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`make -n` as a user would type it: not as a sub-make of `make test`, whose
    MAKEFLAGS / MAKELEVEL would add "Entering directory" lines and its own options."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "-n", "-f", str(ROOT / "Makefile"), *args], cwd=folder,
                          capture_output=True, text=True, timeout=60, env=env)


def machine(folder: Path) -> Path:
    """A folder with the Makefile's prerequisites and no venv: a fresh machine."""
    folder.mkdir(exist_ok=True)
    (folder / "setup.py").write_text("")
    (folder / "requirements-nodeps.txt").write_text("")
    return folder


@pytest.fixture
def fresh(tmp_path):
    return machine(tmp_path)


def installed(folder: Path, accel: str) -> Path:
    """The folder as after `make install ACCEL=accel` (stamps newer than setup.py)."""
    (folder / ".venv").mkdir()
    for stamp in (".installed", f".jax-{accel}"):
        (folder / ".venv" / stamp).write_text("")
    return folder


def test_default_install_on_a_fresh_machine_is_the_cpu_install(fresh):
    lines = make_n(fresh, "install").stdout.splitlines()
    assert all(cmd in lines for cmd in BASE_INSTALL)
    assert lines[-1] == "touch .venv/.jax-cpu"
    assert not any("jax[" in line or "uninstall" in line for line in lines)
    assert make_n(fresh, "install", "ACCEL=cpu").stdout.splitlines() == lines


@pytest.mark.parametrize("accel", ["tpu", "cuda12"])
def test_accel_installs_its_jax_extra_at_the_installed_jax_version(fresh, accel):
    lines = make_n(fresh, "install", f"ACCEL={accel}").stdout.splitlines()
    extra = f'.venv/bin/python -m pip install --quiet "jax[{accel}]=={PINNED}"'
    # after setup.py's install (whose jax it pins to), then checked, then stamped
    assert lines.index(extra) > lines.index(BASE_INSTALL[0])
    assert lines[lines.index(extra) + 1:] == [
        f".venv/bin/python -m flan_repro.install_check --accel {accel}",
        f"touch .venv/.jax-{accel}"]


def test_changing_accel_reinstalls_and_removes_the_previous_plugin(fresh):
    folder = installed(fresh, "tpu")
    # unset, ACCEL stays what the venv has: `make ablation` keeps the TPU runtime
    assert "Nothing to be done" in make_n(folder, "install").stdout
    assert make_n(folder, "install", "ACCEL=tpu").stdout.startswith("make: Nothing")
    cuda = make_n(folder, "install", "ACCEL=cuda12").stdout.splitlines()
    assert cuda[:2] == [".venv/bin/python -m pip uninstall --quiet -y libtpu",
                        "rm -f .venv/.jax-*"]
    assert f'.venv/bin/python -m pip install --quiet "jax[cuda12]=={PINNED}"' in cuda
    assert make_n(folder, "install", "ACCEL=cpu").stdout.splitlines() == [
        ".venv/bin/python -m pip uninstall --quiet -y libtpu", "rm -f .venv/.jax-*",
        "touch .venv/.jax-cpu"]
    back = make_n(installed(machine(fresh / "gpu"), "cuda12"), "install", "ACCEL=tpu")
    assert back.stdout.splitlines()[0] == \
        ".venv/bin/python -m pip uninstall --quiet -y jax-cuda12-plugin jax-cuda12-pjrt"


def test_unknown_accel_fails_listing_the_valid_ones(fresh):
    p = make_n(fresh, "install", "ACCEL=rocm")
    assert p.returncode != 0
    assert "ACCEL=rocm is not an accelerator we install: cpu|tpu|cuda12" in p.stderr


def test_make_ablation_passes_base_checkpoint_data_dir_and_dry_run(fresh):
    folder = installed(fresh, "cpu")

    def ablation(*args):
        return make_n(folder, "ablation", *args).stdout.replace("\\\n", " ").split()
    cmd = ablation("PROFILE=paper_t5_xl", "BASE_CHECKPOINT=hf:/ckpt/xl", "DATA_DIR=jsonl:/d",
                   "DRY_RUN=1")
    assert cmd[-4:] == ["--gin.BASE_CHECKPOINT=hf:/ckpt/xl", "--data_dir", "jsonl:/d",
                        "--dry_run"]
    assert ablation()[-2:] == ["--out", "runs/ablation_nli_toy"]     # as before


def test_install_check_pins_to_jax_and_names_the_fix(capsys):
    assert install_check.main(["--jax_version"]) == 0
    assert capsys.readouterr().out.strip() == md.version("jax")
    assert install_check.main(["--accel", "cpu"]) == 0         # jaxlib matches jax here
    has_libtpu = install_check._version("libtpu") is not None
    assert install_check.main(["--accel", "tpu"]) == (0 if has_libtpu else 1)
    if not has_libtpu:
        assert "libtpu is missing: run `make install ACCEL=tpu`" in capsys.readouterr().err
    assert install_check.main(["--accel", "rocm"]) == 1
    assert "cpu|tpu|cuda12" in capsys.readouterr().err
