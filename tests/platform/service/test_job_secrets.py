"""A spec whose code URL holds a password, submitted to the real service: the service fetches the code with it,
and no file the service stages, Ray unpacks or logs, or the job's driver caches holds it, nor does Ray's job API."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_repo
from tests.platform.code.git_http import git_http_server
from tests.platform.service.test_service import wait_done

PASSWORD = "job-pa55-" + secrets.token_hex(6)  # made here: copies of this file hold only the prefix


def _files_holding(secret: bytes, *roots: Path) -> list[str]:
    found = []
    for root in roots:
        for folder, _, names in os.walk(root):
            for name in names:
                path = Path(folder) / name
                try:
                    if path.is_file() and not path.is_symlink() and secret in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    pass  # a socket, or a file gone meanwhile
    return found


def test_a_git_password_is_used_and_kept_out_of_every_file_and_of_ray(client, service, ray_head, tmp_path: Path):
    _, lake = service
    repo = write_repo(tmp_path / "work", {"train.py": "print('score=1')"}, git=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(tmp_path / "served" / "proj.git")], check=True)
    with git_http_server(tmp_path / "served", "alice", PASSWORD) as (base, seen):
        spec = {"code_github": base.replace("http://", f"http://alice:{PASSWORD}@") + "/proj.git",
                "command": "python train.py", "primary_result_key": "score",
                "search": {"x": {"type": "grid", "values": [1]}}, "optimizer": {"algorithm": "grid"}}
        response = client.post("/experiments", json=spec)
        assert response.status_code == 201, response.text
        done = wait_done(client, response.json()["experiment_id"])
    logs = client.get(f"/experiments/{done['experiment_id']}/logs").text
    assert done["status"] == "completed", (done, logs[-3000:])
    assert any(h.startswith("Basic ") for h in seen)  # the job did authenticate
    done_row = client.get(f"/experiments/{done['experiment_id']}").json()
    assert done_row["counts"].get("completed") == 1, done_row  # the trial ran the code the service fetched
    # Ray's logs included: its runtime-env agent writes every job's env_vars there
    roots = [Path(os.environ["TUNELAKE_CACHE"]), Path("/tmp") / f"tl-ray-{os.getpid()}", lake]
    assert _files_holding(PASSWORD.encode(), *roots) == []
    dashboard, _, env = ray_head
    listing = subprocess.run([sys.executable, "-c", "import json; from ray.job_submission import JobSubmissionClient "
                              f"as C; print(json.dumps([j.dict() for j in C({dashboard!r}).list_jobs()], default=str))"],
                             env=env, capture_output=True, text=True, check=True).stdout
    assert "tunelake-" + done["experiment_id"] in listing and PASSWORD not in listing
    stage = Path(os.environ["TUNELAKE_CACHE"]) / "service" / "jobs"
    assert not stage.exists() or list(stage.iterdir()) == []


def test_code_the_service_cannot_fetch_is_a_422_without_the_password(client, tmp_path: Path):
    repo = write_repo(tmp_path / "work", {"train.py": "print('score=1')"}, git=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(tmp_path / "served" / "proj.git")], check=True)
    with git_http_server(tmp_path / "served", "alice", PASSWORD) as (base, _):
        spec = {"code_github": base.replace("http://", "http://alice:not-the-pa55word@") + "/proj.git",
                "command": "python train.py", "primary_result_key": "score",
                "search": {"x": {"type": "grid", "values": [1]}}, "optimizer": {"algorithm": "grid"}}
        response = client.post("/experiments", json=spec)
    assert response.status_code == 422, response.text
    assert "git clone failed" in response.text and "not-the-pa55word" not in response.text
