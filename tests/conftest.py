"""Shared fixtures: one local Ray instance for the whole session, small repos, and the test datasets.

Ray takes seconds to start on a small machine, so every test that needs it
shares one instance (started lazily by the first such test).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATASETS = ROOT / "tests" / "data"  # small real datasets and their index.csv rows; see its README.md
AWS_SECRET = "moto-secret-7f3a9c2e"  # distinctive, so a leak of it can be searched for


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Workspaces, git mirrors and trial dirs of the tests go under a temp dir."""
    os.environ["TUNELAKE_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.pop("TUNELAKE_LAKE", None)
    os.environ.pop("RAY_ADDRESS", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server() -> str:
    """A real S3 API server (moto) on 127.0.0.1; the AWS variables point every client at it."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("moto_server did not start")
            time.sleep(0.1)
    os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_DEFAULT_REGION": "us-east-1"})
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def bucket(s3_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty bucket for one test."""
    import boto3

    name = "t-" + "".join(c for c in request.node.name.lower() if c.isalnum())[:40] + f"-{os.getpid() % 1000}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    return name


TEST_INSTANCE_TYPE = "g4dn.12xlarge"


@pytest.fixture(scope="session")
def ray_cluster(s3_server: str) -> str:
    """The address of a local Ray instance shared by the session (2 CPUs, 2 fake GPUs).

    It starts after the S3 server, so its workers inherit the AWS variables, and it says it is a
    g4dn.12xlarge (``TUNELAKE_INSTANCE_TYPE`` in its workers' environment only), so trials have a price.
    """
    import ray

    from tunelake.cluster.aws import INSTANCE_TYPE_VARIABLE
    from tunelake.cluster.connect import private_ray

    os.environ[INSTANCE_TYPE_VARIABLE] = TEST_INSTANCE_TYPE
    try:
        with private_ray(num_cpus=2, num_gpus=2, include_dashboard=False):
            os.environ.pop(INSTANCE_TYPE_VARIABLE)
            yield ray.get_runtime_context().gcs_address
    finally:
        os.environ.pop(INSTANCE_TYPE_VARIABLE, None)


@pytest.fixture(scope="session")
def ray_head(s3_server: str):
    """A Ray head with the Jobs API (dashboard on 127.0.0.1); `--block` ties its processes to this one.

    It starts after the S3 server, so its jobs and trials hold AWS credentials, as on a real cluster.
    """
    temp = Path("/tmp") / f"tl-ray-{os.getpid()}"  # Ray's socket paths must stay short
    port, dash = _free_port(), _free_port()
    # A token of its own: `ray start` in token mode refuses to start without one, and a fresh machine has no
    # ~/.ray/auth_token (a test must neither need nor write the user's).
    token = tempfile.mkdtemp(prefix="tl-ray-token-") + "/auth_token"
    Path(token).write_text(secrets.token_hex(32))
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": token}
    head = subprocess.Popen(
        [shutil.which("ray") or "ray", "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", f"--temp-dir={temp}",
         # its own agent ports: the session's other Ray instance holds the defaults
         f"--dashboard-agent-listen-port={_free_port()}", f"--dashboard-agent-grpc-port={_free_port()}",
         f"--metrics-export-port={_free_port()}", f"--runtime-env-agent-port={_free_port()}",
         "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"http://127.0.0.1:{dash}"
    deadline = time.monotonic() + 90
    while True:
        probe = subprocess.run([sys.executable, "-c", f"from ray.job_submission import JobSubmissionClient as C; "
                                f"C({address!r}).submit_job(entrypoint='true')"],
                               env=env, capture_output=True)
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
    shutil.rmtree(Path(token).parent, ignore_errors=True)


@pytest.fixture
def lake_uri(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


def write_repo(root: Path, files: dict[str, str], git: bool = False) -> Path:
    """A small code repository at ``root`` (a git repo with one commit if ``git``)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        if name.endswith(".sh"):
            path.chmod(0o755)
    if git:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@t"}
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "first"]):
            subprocess.run(["git", *cmd], cwd=root, env=env, check=True)
    return root


def commit_all(root: Path, message: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "add", "-A"], cwd=root, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=root, env=env, check=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                          check=True).stdout.strip()


PYTHON = sys.executable
