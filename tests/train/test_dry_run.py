"""`train --dry_run` checks a pod configuration on one CPU: the model and the mesh built
abstractly, per-device memory with the trainer's shardings, and whether it fits a device.
A real run whose mesh needs more devices than it sees stops before any work."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gin
import jax
import pytest
from jax.sharding import AbstractMesh, NamedSharding, PartitionSpec as P

from flan_repro.cli import main
from flan_repro.gin_config import isolated_gin, parse_gin, recipe_files
from flan_repro.train import dry_run, partitioning

ROOT = Path(__file__).resolve().parents[2]
README_COMMAND = ["train", "--gin_file=gin/train/paper_flan.gin",
                  "--gin_file=gin/model/t5_1_1_xxl.gin", "--gin_file=gin/mesh/tpu_v4_64.gin",
                  "--dry_run"]


def single_cpu_env():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    return env


def gib(text, row):
    return float(re.search(rf"^  {row} +([\d.]+) GiB", text, re.M).group(1))


def test_readme_command_on_one_cpu_reports_xxl_on_the_v4_64_mesh():
    p = subprocess.run([sys.executable, "-m", "flan_repro", *README_COMMAND,
                        "--device_kind", "tpu_v4"], cwd=ROOT, env=single_cpu_env(),
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout
    assert "parameters: 11,135,332,352 (11.1B), 41.48 GiB" in out
    assert "mesh: {'data': 4, 'model': 8} over 32 device(s)" in out
    assert "batch: 8 sequences (2 per data shard), inputs 1024 / targets 256 tokens" in out
    assert "without rematerialisation (the trainer has none)" in out
    params, grads, opt = gib(out, "parameters"), gib(out, "gradients"), gib(out, "optimizer state")
    acts, total = gib(out, "activations"), gib(out, "total")
    # split 8 ways over 'model' (the layer norms, replicated, are 0.01% of the bytes)
    assert params * 8 == pytest.approx(41.48, rel=0.01) and grads == params
    opt_total = float(re.search(r"adafactor, of ([\d.]+) GiB", out).group(1))
    assert opt * 8 == pytest.approx(opt_total, rel=0.01) and opt_total > 17
    assert total == pytest.approx(params + grads + opt + acts, abs=0.02)
    assert 5 < acts < total
    verdict = out.strip().splitlines()[-1]
    assert verdict == f"FITS: {total:.2f} GiB per device vs 32.00 GiB on tpu_v4 (32GiB)"
    # the README shows this output as it is
    readme = (ROOT / "README.md").read_text()
    start = readme.index("model: T5Config (d_model 4096")
    assert readme[start:readme.index("\n```", start)] == out.strip()


SCRIPT = """
import json, sys
import gin
from flan_repro.gin_config import parse_gin
from flan_repro.train.dry_run import dry_run
out = []
for files in json.loads(sys.argv[1]):
    gin.clear_config()
    parse_gin(files, [])
    try:
        out.append(dry_run(device_memory="16GiB"))
    except ValueError as e:
        out.append("error: " + str(e))
print(json.dumps(out))
"""
SIZES = ("small", "base", "large", "xl", "xxl")


def test_every_recipe_and_every_t5_size_on_one_cpu():
    """Every recipe on this machine's mesh, every T5 v1.1 size alone and on the pod mesh:
    small's 6 and base's 12 heads do not split 8 ways, which the dry run says."""
    cases = ([[r] for r in recipe_files()]
             + [["gin/train/paper_flan.gin", f"gin/model/t5_1_1_{s}.gin"] for s in SIZES]
             + [["gin/train/paper_flan.gin", f"gin/model/t5_1_1_{s}.gin",
                 "gin/mesh/tpu_v4_64.gin"] for s in SIZES])
    p = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cases)], cwd=ROOT,
                       env=single_cpu_env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    reports = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(reports) == len(cases) >= 4 + 10
    alone, pod = reports[-10:-5], reports[-5:]
    counts = [int(re.search(r"parameters: ([\d,]+)", r).group(1).replace(",", ""))
              for r in alone]
    # the published T5 v1.1 sizes: small 77M, base 248M, large 783M, xl 2.85B, xxl 11.1B
    for got, want in zip(counts, (77.0e6, 247.6e6, 783.2e6, 2.85e9, 11.14e9)):
        assert abs(got - want) / want < 0.01, (got, want)
    for r in reports[:-10] + alone + pod[2:]:
        assert re.search(r"^(FITS|DOES NOT FIT): .* vs 16.00 GiB on --device_memory 16GiB$",
                         r, re.M), r
    for r, heads in zip(pod[:2], (6, 12)):
        assert r.startswith("error: parameter ") and \
            f"axis 1 ({heads}) is not a multiple of 8; bind a make_mesh.model_parallel" in r
    for r in pod[2:]:
        assert "mesh: {'data': 4, 'model': 8} over 32 device(s)" in r
    # on 16 GiB chips (a v5e) small fits alone and XXL does not fit the pod mesh
    assert alone[0].splitlines()[-1].startswith("FITS: ")
    assert pod[-1].splitlines()[-1].startswith("DOES NOT FIT: ")


def test_optimizer_state_keeps_the_sharding_of_the_axes_it_keeps():
    """Adafactor's factored moments of a [embed, mlp] kernel: v_row (the largest axis,
    mlp, averaged out) is replicated, v_col keeps mlp's 'model' split; unfactored
    moments and Adam's shard like the parameter; counters are replicated."""
    from flan_repro.train import optim
    mesh = AbstractMesh((2, 4), ("data", "model"))
    params = {"wi": jax.ShapeDtypeStruct((256, 1024), "float32"),
              "wo": jax.ShapeDtypeStruct((1024, 256), "float32"),
              "square": jax.ShapeDtypeStruct((512, 512), "float32"),
              "heads": jax.ShapeDtypeStruct((256, 8, 16), "float32"),
              "scale": jax.ShapeDtypeStruct((256,), "float32")}
    axes = {"wi": P(None, "model"), "wo": P("model", None), "square": P(None, "model"),
            "heads": P(None, "model", None), "scale": P(None)}
    shard = {k: NamedSharding(mesh, s) for k, s in axes.items()}
    state = jax.eval_shape(optim.adafactor(1e-3).init, params)
    factored = partitioning.optimizer_state_shardings(state, params, shard)[0]
    spec = lambda tree, k: tuple(tree[k].spec)
    assert spec(factored.v_row, "wi") == (None,) and spec(factored.v_col, "wi") == ("model",)
    assert spec(factored.v_row, "wo") == (None,) and spec(factored.v_col, "wo") == ("model",)
    # equal sizes: optax drops axis 1 for v_row and axis 0 for v_col
    assert spec(factored.v_row, "square") == (None,)
    assert spec(factored.v_col, "square") == ("model",)
    assert spec(factored.v, "heads") == (None, "model", None)     # 8 < 128: unfactored
    assert spec(factored.v, "wi") == () and tuple(factored.count.spec) == ()
    assert factored.v_col["wi"].shard_shape(state[0].v_col["wi"].shape) == (256,)
    assert factored.v["heads"].shard_shape(state[0].v["heads"].shape) == (256, 2, 16)
    adam = jax.eval_shape(optim.optax.adamw(1e-3).init, params)
    adam_shard = partitioning.optimizer_state_shardings(adam, params, shard)
    assert tuple(adam_shard[0].mu["wo"].spec) == ("model", None)
    assert tuple(adam_shard[0].nu["heads"].spec) == (None, "model", None)


def test_too_few_devices_stop_a_run_before_any_work(tmp_path, capsys):
    found = jax.device_count()
    model_dir = tmp_path / "run"
    with isolated_gin():     # the command parses gin; leave other tests' gin alone
        assert main(["train", "--gin_file=gin/train/toy.gin", "--gin.MIXTURE=no_such_mixture",
                     f"--gin.MODEL_DIR={model_dir}", "--gin.TRAIN_STEPS=1",
                     "--gin.make_mesh.model_parallel=2",
                     f"--gin.make_mesh.num_devices={2 * found}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"data x model = {found}x2" in err and f"needs {2 * found} devices" in err
    assert f"jax found {found} {jax.default_backend()} device(s)" in err
    assert "make install ACCEL=tpu" in err and "make install ACCEL=cuda12" in err
    assert not model_dir.exists()     # before the model dir, the model and the data


def test_pod_mesh_without_the_pod(capsys):
    with isolated_gin():
        parse_gin(["gin/train/toy.gin", "gin/mesh/tpu_v4_64.gin"], [])
        assert partitioning.make_mesh(abstract=True).shape == {"data": 4, "model": 8}
        if jax.device_count() < 32:
            with pytest.raises(ValueError, match=r"data x model = 4x8.*needs 32 devices"):
                partitioning.make_mesh()
        gin.bind_parameter("make_mesh.num_devices", None)
        gin.bind_parameter("make_mesh.model_parallel", 3)
        if jax.device_count() % 3:
            with pytest.raises(ValueError, match=r"make_mesh.num_devices=8"):
                partitioning.make_mesh(abstract=True)


@pytest.mark.parametrize("text,size", [("32GiB", 32 * 2 ** 30), ("16GB", 16 * 10 ** 9),
                                       ("16 gb", 16 * 10 ** 9), ("1.5TiB", 3 * 2 ** 39),
                                       ("512MiB", 2 ** 29)])
def test_device_memory_sizes(text, size):
    assert dry_run.parse_size(text) == size


@pytest.mark.parametrize("args,message", [
    (["--device_memory", "32gigs"], "--device_memory '32gigs' is not a size"),
    (["--device_memory", "0GiB"], "--device_memory '0GiB' is not a size"),
    (["--device_memory", "32"], "--device_memory '32' is not a size"),
    (["--device_kind", "tpu_v5"], "--device_kind 'tpu_v5' is not in the table"),
    (["--device_kind", "tpu_v4", "--device_memory", "1GB"], "pass --device_memory or"),
])
def test_bad_device_arguments_are_one_line(args, message, capsys):
    with isolated_gin():
        assert main(["train", "--gin_file=gin/train/toy.gin", "--dry_run", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1, err


def test_device_memory_needs_dry_run(capsys):
    with isolated_gin():
        assert main(["train", "--gin_file=gin/train/toy.gin", "--device_memory", "32GiB"]) == 2
    assert "add --dry_run" in capsys.readouterr().err


def test_device_kind_names_are_forgiving_and_the_verdict_follows_the_total():
    assert dry_run.device_capacity(device_kind="TPU-v4") == ("tpu_v4 (32GiB)", 32 * 2 ** 30)
    with isolated_gin():
        parse_gin(["gin/train/toy.gin"], [])
        fits = dry_run.memory_report(device_memory="1GiB")
        assert fits.splitlines()[-1].startswith("FITS: ")
        assert dry_run.memory_report(device_memory="1MiB").splitlines()[-1].startswith(
            "DOES NOT FIT: ")
