"""The service's token: out of every process environment a trial can read, and masked in every response."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import write_repo
from tests.platform.service.conftest import TOKEN, start_service
from tests.platform.service.test_service import wait_done
from tunelake.errors import UserInputError
from tunelake.platform.service import token as api_token
from tunelake.platform.service.app import create_app
from tunelake.platform.service.settings import Settings
from tunelake.store.lake import Lake

pytestmark = pytest.mark.slow


def test_a_trial_finds_the_token_in_no_process_environment(client, service, tmp_path: Path):
    """The attack for real: the trial greps every environment it can read (the service's among them)."""
    repo = write_repo(tmp_path / "repo", {"peek.sh": """\
        found=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -a '^TUNELAKE_API_TOKEN=' | sort -u)
        echo "seen:[$found]" >&2
        echo found=$(printf '%s' "$found" | grep -c . ) >&2
        echo score=$(printf '%s' "$found" | grep -c .)
        exit 1
        """})
    spec = {"code_github": str(repo), "command": "sh peek.sh", "primary_result_key": "score",
            "search": {"x": {"type": "grid", "values": [0]}}, "optimizer": {"algorithm": "grid"}}
    experiment_id = client.post("/experiments", json=spec).json()["experiment_id"]
    assert wait_done(client, experiment_id)["counts"] == {"failed": 1}
    ((tail,),) = client.post("/sql", json={"query": "SELECT stderr_tail FROM trials WHERE experiment_id = ?"
                                                      .replace("?", f"'{experiment_id}'")}).json()["rows"]
    assert "seen:[]" in tail and "found=0" in tail
    assert TOKEN not in Lake(str(service[1])).uri  # (the lake itself is checked in test_service)


def test_the_service_process_does_not_hold_the_token_it_was_started_with(service):
    """``TUNELAKE_API_TOKEN`` in the starting environment: the service restarts itself without it."""
    url, _ = service
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    serving = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if b"tunelake\0serve" in cmdline and url.rsplit(":", 1)[1].encode() in cmdline:
            serving.append(environ)
    assert len(serving) == 1
    assert TOKEN.encode() not in serving[0] and b"TUNELAKE_API_TOKEN=" not in serving[0]
    assert httpx.get(f"{url}/experiments", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_token_file_is_read_and_never_put_in_the_environment(ray_head, tmp_path: Path):
    dashboard, _, env = ray_head
    token = "file-token-abcdefghijklmnop"
    (tmp_path / "token").write_text(token + "\n")
    proc, url = start_service(dashboard, tmp_path / "lake", {**env, "TUNELAKE_API_TOKEN_FILE": str(tmp_path / "token")})
    try:
        ok = httpx.get(f"{url}/experiments", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert token.encode() not in Path(f"/proc/{proc.pid}/environ").read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert token not in out  # a chosen token is never printed


@pytest.mark.parametrize("content,problem", [(None, "cannot read"), ("", "is empty"), ("short", "at least 16")])
def test_a_bad_token_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content, problem):
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv(api_token.TOKEN_FILE, str(path))
    with pytest.raises(UserInputError, match=problem):
        api_token.read_token()


def test_every_response_masks_the_token_even_when_the_lake_holds_it(tmp_path: Path):
    """A value that got into the lake (a trial that learned the token some other way) is masked on the way out."""
    token = "in-process-token-0123456789"
    lake = Lake(str(tmp_path / "lake"))
    lake.append("experiments", [{"experiment_id": "leak-1", "name": "x", "status": "failed",
                                 "error": f"saw {token} here"}])
    lake.append("trials", [{"experiment_id": "leak-1", "trial_id": "t1", "status": "failed",
                            "stderr_tail": f"token={token}", "reason": f"exited; {token}"}])
    app = create_app(Settings(lake=lake.uri, ray_dashboard="http://127.0.0.1:9", token=token,
                              state_dir=tmp_path / "state"))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as http:
        responses = [http.post("/sql", json={"query": "SELECT * FROM trials"}),
                     http.post("/sql", json={"query": "SELECT error FROM experiments"}),
                     http.get("/experiments/leak-1/trials"),
                     http.post("/sql", json={"query": f"SELECT '{token}' AS echo"})]
    for response in responses:
        assert response.status_code == 200, response.text
        assert token not in response.text and "***" in response.text
