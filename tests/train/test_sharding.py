"""Data- and model-parallel training on 8 CPU host devices matches one device.

Tolerance: the loss within 1e-5 and every parameter within 1e-5 absolute after 6
Adafactor steps. They are not bitwise equal because a sharded matmul or reduction
sums in a different order (float32 is not associative).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import trainlib  # noqa: E402


def test_eight_device_meshes_match_one_device():
    out = trainlib.run_device_script("sharding_check.py")
    assert out["devices"] == 8
    for mesh in ("8x1", "8x2", "8x4"):
        assert out[mesh]["loss_diff"] < 1e-5, (mesh, out[mesh])
        assert out[mesh]["param_diff"] < 1e-5, (mesh, out[mesh])
