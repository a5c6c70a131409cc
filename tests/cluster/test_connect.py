"""The embedded default is a private Ray; a cluster the user names is probed, never waited on.

A "stranger" is the session's `ray start --head` cluster (`ray_head`), another instance on the
machine; Ray's discovery finds it through the `ray_current_cluster` file in `$RAY_TMPDIR/ray`,
the way it finds the newest `ray start` in `/tmp/ray`.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port
from tunelake.cluster.connect import ClusterUnreachable, probe
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow

SPEC = {"name": "private-ray", "code_github": ".", "command": "echo score={x}",
        "primary_result_key": "score", "optimizer": {"algorithm": "grid", "max_concurrent_trials": 1},
        "search": {"x": [1, 2]}}


def discovery_env(tmp_path: Path, address: str) -> dict[str, str]:
    """An environment in which Ray's discovery names ``address`` (as `ray start` leaves it)."""
    root = tmp_path / "raytmp"
    (root / "ray").mkdir(parents=True)
    (root / "ray" / "ray_current_cluster").write_text(address)
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    return {**env, "RAY_TMPDIR": str(root), "PYTHONPATH": str(ROOT)}


def run_tunelake(tmp_path: Path, env: dict[str, str], *flags: str) -> tuple[subprocess.CompletedProcess, Lake]:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    lake = tmp_path / "lake"
    # The timeout only turns a hang (the old behaviour on a dead address file) into a failure.
    done = subprocess.run([sys.executable, "-m", "tunelake", "run", str(spec), "--lake", str(lake), "--quiet",
                           *flags], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return done, Lake(str(lake))


def test_run_never_joins_a_strangers_ray(ray_head, tmp_path: Path):
    _, stranger, _ = ray_head
    done, lake = run_tunelake(tmp_path, discovery_env(tmp_path, stranger))
    assert done.returncode == 0, done.stderr[-3000:]
    (exp,) = query(lake, "SELECT status, ray_address FROM experiments").to_pylist()
    assert exp["status"] == "completed"
    assert exp["ray_address"] and exp["ray_address"].rsplit(":", 1)[1] != stranger.rsplit(":", 1)[1]


def test_run_ignores_a_dead_clusters_address_file(tmp_path: Path):
    dead = f"127.0.0.1:{_free_port()}"
    done, lake = run_tunelake(tmp_path, discovery_env(tmp_path, dead))
    assert done.returncode == 0, done.stderr[-3000:]
    assert query(lake, "SELECT count(*) AS n FROM trials WHERE status = 'completed'").to_pylist() == [{"n": 2}]


def test_an_unreachable_address_is_an_error_naming_it(tmp_path: Path):
    dead = f"127.0.0.1:{_free_port()}"
    env = discovery_env(tmp_path, dead)
    for how, extra_env, flags in (("flag", {}, ("--address", dead)), ("env", {"RAY_ADDRESS": dead}, ())):
        (tmp_path / how).mkdir()
        started = time.monotonic()
        done, _ = run_tunelake(tmp_path / how, {**env, **extra_env}, *flags)
        print(f"{how}: exit {done.returncode} after {time.monotonic() - started:.1f} s")
        assert done.returncode == 2, done.stderr[-3000:]
        assert f"the Ray cluster at {dead} does not answer" in done.stderr
        assert "Traceback" not in done.stderr


def test_serve_starts_its_own_ray_beside_a_stranger(ray_head, tmp_path: Path):
    stranger_dashboard, stranger, _ = ray_head
    env = discovery_env(tmp_path, stranger)
    port = _free_port()
    service = subprocess.Popen([sys.executable, "-m", "tunelake", "serve", "--port", str(port),
                                "--lake", str(tmp_path / "lake")], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = _wait_for_line(service, "Ray jobs at", 180)
        jobs_at = re.search(r"Ray jobs at (\S+)\)", line).group(1)
        assert jobs_at.rstrip("/") != stranger_dashboard.rstrip("/")
        probe(jobs_at)  # its own dashboard answers
    finally:
        service.terminate()
        service.wait(timeout=60)


def _wait_for_line(process: subprocess.Popen, text: str, within_s: float) -> str:
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for line in list(lines):
            if text in line:
                return line
        if process.poll() is not None and not reader.is_alive():
            break
        time.sleep(0.5)
    raise AssertionError(f"no line with {text!r}: {''.join(lines)[-3000:]}")


def test_probe_answers_for_each_kind_of_address(ray_cluster: str):
    probe(ray_cluster)  # a live GCS
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts TCP, says nothing: not a Ray head
    try:
        host, port = silent.getsockname()
        with pytest.raises(ClusterUnreachable, match=f"at {host}:{port} does not answer"):
            probe(f"{host}:{port}", within_s=2)
    finally:
        silent.close()
    dead = _free_port()
    for address in (f"127.0.0.1:{dead}", f"ray://127.0.0.1:{dead}", f"http://127.0.0.1:{dead}"):
        with pytest.raises(ClusterUnreachable, match=re.escape(address)):
            probe(address, within_s=2)
    with pytest.raises(ClusterUnreachable, match="has no port"):
        probe("ray://somewhere")
