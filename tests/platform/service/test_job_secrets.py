"""A spec whose code URL holds a password, submitted to the real service: the job clones with it, and no file
the service stages, Ray unpacks or the job's driver caches holds it."""

from __future__ import annotations

import os
import secrets
import subprocess
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


def test_a_git_password_is_used_by_the_job_and_kept_out_of_its_files(client, service, tmp_path: Path):
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
    roots = [Path(os.environ["TUNELAKE_CACHE"]), Path("/tmp") / f"tl-ray-{os.getpid()}", lake]
    holding = _files_holding(PASSWORD.encode(), *roots)
    # Known, left open: Ray's runtime-env agent logs each job's runtime_env, env_vars included, on the head node.
    print("Ray logs holding the password:", [p for p in holding if "/logs/" in p])
    assert [p for p in holding if "/logs/" not in p] == []  # no staged spec, package, git mirror or lake file
    stage = Path(os.environ["TUNELAKE_CACHE"]) / "service" / "jobs"
    assert not stage.exists() or list(stage.iterdir()) == []
