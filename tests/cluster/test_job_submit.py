"""`ray job submit` against a real `ray start --head` cluster (token auth on), started and stopped here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


def test_ray_job_submit_runs_the_svm_example(ray_head, tmp_path: Path):
    dashboard, _, env = ray_head
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
