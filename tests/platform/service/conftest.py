"""A real `tunelake serve` (uvicorn) on 127.0.0.1, submitting to a real Ray head."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import _free_port

TOKEN = "test-token-0123456789"


def start_service(dashboard: str, lake: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``tunelake serve`` as its own process, once its ``/health`` answers: the process and its URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunelake", "serve", "--port", str(port), "--lake", str(lake), "--address", dashboard],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"tunelake serve did not start: {proc.communicate()[0]}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def service(ray_head, tmp_path_factory: pytest.TempPathFactory):
    dashboard, _, env = ray_head
    lake = tmp_path_factory.mktemp("service") / "lake"
    proc, url = start_service(dashboard, lake, {**env, "TUNELAKE_API_TOKEN": TOKEN})
    yield url, Path(lake)
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def client(service):
    url, _ = service
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as c:
        yield c
