"""Two local processes joined by jax.distributed (gloo on CPU) train one model: each
reads its own shard of the data, both end at the same step and loss, one checkpoint."""
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import trainlib  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_run(tmp_path):
    port = free_port()
    procs = [subprocess.Popen(
        trainlib.train_cmd(tmp_path / "run", 6) + [
            f"--coordinator=localhost:{port}", "--num_processes=2", f"--process_id={i}"],
        cwd=trainlib.ROOT, env=trainlib.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for i in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-3000:]
        outs.append(out.strip().splitlines()[-1])
    assert outs[0] == outs[1] and outs[0].startswith("trained") and "to step 6" in outs[0]
    assert trainlib.checkpoint_steps(tmp_path / "run")[-1] == 6
