"""Where tunelake puts a lake nobody named: never inside a Ray job's working dir, which Ray deletes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

WHERE = "from tunelake.store.lake import Lake; print(Lake(None).uri)"


def default_lake(cwd: Path, home: Path, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("TUNELAKE_LAKE", "RAY_JOB_CONFIG_JSON_ENV_VAR")}
    done = subprocess.run([sys.executable, "-c", WHERE], cwd=cwd, capture_output=True, text=True, check=True,
                          env={**base, "PYTHONPATH": str(ROOT), "HOME": str(home), **env})
    return done.stdout.strip()


def test_a_ray_job_s_lake_outlives_its_working_dir(tmp_path: Path):
    """Ray sets RAY_JOB_CONFIG_JSON_ENV_VAR for a job's entrypoint, whose cwd is the job's unpacked package."""
    package, home = tmp_path / "_ray_pkg_0123", tmp_path / "home"
    package.mkdir()
    home.mkdir()
    job = json.dumps({"runtime_env": {"working_dir": "gcs://_ray_pkg_0123.zip"}, "metadata": {}})
    assert default_lake(package, home, RAY_JOB_CONFIG_JSON_ENV_VAR=job) == str(home / ".tunelake" / "lake")
    assert not (package / "tunelake-lake").exists()
    assert default_lake(package, home) == str(package / "tunelake-lake")  # run by hand: the folder it runs in
    named = tmp_path / "named"
    assert default_lake(package, home, RAY_JOB_CONFIG_JSON_ENV_VAR=job, TUNELAKE_LAKE=str(named)) == str(named)
