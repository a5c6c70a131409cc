"""`ray job submit` against a real `ray start --head` cluster (token auth on), started and stopped here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


def test_ray_job_submit_runs_the_svm_example(ray_head, tmp_path: Path):
    """The README's command as written, no --lake: the lake must outlive the job's working dir (Ray's temp
    package), land in the home of the user that runs Ray, and be the one the printed query names."""
    dashboard, _, env = ray_head
    home = tmp_path / "home"  # the job's HOME, so the test writes under tmp_path only
    home.mkdir()
    token = Path.home() / ".ray" / "auth_token"  # where Ray's processes look for it, under the real HOME
    job_env = {"HOME": str(home), "RAY_AUTH_TOKEN_PATH": env.get("RAY_AUTH_TOKEN_PATH", str(token))}
    done = subprocess.run(
        ["ray", "job", "submit", "--address", dashboard, "--working-dir", str(ROOT),
         "--runtime-env-json", json.dumps({"env_vars": job_env}), "--",
         "python", "-m", "tunelake", "run", "examples/svm/experiment.json"],
        env=env, capture_output=True, text=True, timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "succeeded" in done.stdout
    lake = home / ".tunelake" / "lake"
    assert f"tunelake sql --lake {lake} " in done.stdout
    (exp,) = query(Lake(str(lake)), "SELECT status, ray_address FROM experiments").to_pylist()
    assert exp["status"] == "completed" and exp["ray_address"]
    counts = query(Lake(str(lake)), "SELECT status, count(*) AS n FROM trials GROUP BY 1").to_pylist()
    assert sum(c["n"] for c in counts) == 12 and {c["status"] for c in counts} <= {"completed", "stopped"}
