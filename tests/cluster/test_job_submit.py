"""`ray job submit` against a real `ray start --head` cluster (token auth on), started and stopped here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


@pytest.fixture
def head(tmp_path_factory: pytest.TempPathFactory):
    """A Ray head with the Jobs API (dashboard on 127.0.0.1); `--block` ties its processes to this one."""
    temp = Path("/tmp") / f"tl-ray-{os.getpid()}"  # Ray's socket paths must stay short
    port, dash = _free_port(), _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    head = subprocess.Popen(
        [shutil.which("ray") or "ray", "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", f"--temp-dir={temp}",
         "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"http://127.0.0.1:{dash}"
    deadline = time.monotonic() + 90
    while True:
        probe = subprocess.run([sys.executable, "-c", f"from ray.job_submission import JobSubmissionClient as C; "
                                f"C({address!r}).list_jobs()"], env=env, capture_output=True)
        if probe.returncode == 0:
            break
        if time.monotonic() > deadline or head.poll() is not None:
            head.kill()
            raise RuntimeError(f"ray head did not start: {probe.stderr.decode()[-500:]}")
        time.sleep(1)
    yield address, f"127.0.0.1:{port}", env
    os.killpg(head.pid, 15)
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, 9)
    shutil.rmtree(temp, ignore_errors=True)


def test_ray_job_submit_runs_the_svm_example(head, tmp_path: Path):
    dashboard, _, env = head
    lake = tmp_path / "lake"
    done = subprocess.run(
        ["ray", "job", "submit", "--address", dashboard, "--working-dir", str(ROOT), "--",
         "python", "-m", "tunelake", "run", "examples/svm/experiment.json", "--lake", str(lake), "--quiet"],
        env=env, capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout
    (exp,) = query(Lake(str(lake)), "SELECT status, ray_address FROM experiments").to_pylist()
    assert exp["status"] == "completed" and exp["ray_address"]
    counts = query(Lake(str(lake)), "SELECT status, count(*) AS n FROM trials GROUP BY 1").to_pylist()
    assert sum(c["n"] for c in counts) == 12 and {c["status"] for c in counts} <= {"completed", "stopped"}
