"""`train --dry_run` on every training recipe: abstract shapes only, parameter counts, per-device
memory of the configured mesh (64 simulated host devices for the TPU pod mesh)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from flan_repro.gin_config import recipe_files

ROOT = Path(__file__).resolve().parents[2]
PROFILES = recipe_files()

# every recipe alone, then FLAN's recipe at each published T5 v1.1 size on the pod mesh
CASES = [[p] for p in PROFILES] + [
    ["gin/train/paper_flan.gin", f"gin/model/t5_1_1_{s}.gin", "gin/mesh/tpu_v4_64.gin"]
    for s in ("small", "base", "large", "xl", "xxl")]

SCRIPT = """
import json, sys
import gin
from flan_repro.gin_config import parse_gin
from flan_repro.train.dry_run import dry_run
out = []
for files in json.loads(sys.argv[1]):
    gin.clear_config()
    parse_gin(files, [])
    out.append(dry_run())
print(json.dumps(out))
"""


def test_dry_run_every_profile_and_size():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=64",
               JAX_PLATFORMS="cpu")
    p = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(CASES)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    reports = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(reports) == len(CASES) >= 4 + 5
    params = [int(re.search(r"parameters: ([\d,]+)", r).group(1).replace(",", ""))
              for r in reports]
    assert all(n > 0 for n in params)
    # the published T5 v1.1 sizes: small 77M, base 248M, large 783M, xl 2.85B, xxl 11.1B
    for got, want in zip(params[len(PROFILES):], (77.0e6, 247.6e6, 783.2e6, 2.85e9, 11.14e9)):
        assert abs(got - want) / want < 0.01, (got, want)
    for r in reports[len(PROFILES):]:
        assert "'model': 8" in r and "over 64 device(s)" in r
        per_device = float(re.search(r"params ([\d.]+) GiB", r).group(1))
        assert per_device > 0
    xxl = reports[-1]
    # 11.1B float32 params sharded 8 ways over the model axis: ~5.2 GiB, not 41 GiB
    assert float(re.search(r"params ([\d.]+) GiB", xxl).group(1)) < 8
