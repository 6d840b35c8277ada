"""Run by test_sharding.py under XLA_FLAGS=--xla_force_host_platform_device_count=8:
trains the micro model on meshes (devices x model-parallel) and prints max differences
against the single-device run as JSON."""
import json
import sys
import tempfile
from pathlib import Path

import gin
import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import trainlib  # noqa: E402

from flan_repro import gin_config  # noqa: E402
from flan_repro.model.loading import load_model_dir  # noqa: E402
from flan_repro.train import trainer  # noqa: E402

bindings = gin_config.gin_bindings([a for a in trainlib.MICRO if a.startswith("--gin.")]
                                + ["--gin.TRAIN_STEPS=6", "--gin.DROPOUT_RATE=0.0"])
files = [a.split("=", 1)[1] for a in trainlib.MICRO if a.startswith("--gin_file")]
results = {}
with tempfile.TemporaryDirectory() as tmp:
    for devices, mp in [(1, 1), (8, 1), (8, 2), (8, 4)]:
        gin.clear_config()
        gin_config.parse_gin(files, bindings + [f"MODEL_DIR = '{tmp}/{devices}x{mp}'",
                                             f"make_mesh.num_devices = {devices}",
                                             f"make_mesh.model_parallel = {mp}"])
        from flan_repro.registry.config import configure_from_gin
        configure_from_gin()
        res = trainer.train()
        params = jax.tree.map(np.asarray, load_model_dir(f"{tmp}/{devices}x{mp}",
                                                         trainlib.micro_config()))
        results[f"{devices}x{mp}"] = (res.final_loss, params)
ref_loss, ref = results["1x1"]
out = {"devices": jax.device_count()}
for k, (loss, params) in results.items():
    out[k] = {"loss_diff": abs(loss - ref_loss),
              "param_diff": max(float(np.max(np.abs(a - b)))
                                for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref)))}
print("RESULT " + json.dumps(out))
