"""Request bodies against a real `tunelake serve`: no byte read before the token, uploads streamed to disk.

The bodies are written by hand on a socket, so each test decides how much of
a body goes out and when, and sees whether the server stopped reading. The
service needs no Ray here: nothing is submitted.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import DATASETS, _free_port
from tests.platform.service.conftest import TOKEN, start_service

pytestmark = pytest.mark.slow

MB = 1_000_000
UPLOAD_LIMIT = 200 * MB  # the service's default
NO_TOKEN = [{}, {"Authorization": "Bearer wrong-token-0123456789"}]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """The service's URL, its pid and its uploads folder."""
    root = tmp_path_factory.mktemp("bodies")
    env = {**os.environ, "TUNELAKE_API_TOKEN": TOKEN, "TUNELAKE_CACHE": str(root / "cache")}
    proc, url = start_service(f"http://127.0.0.1:{_free_port()}", root / "lake", env)
    yield url, proc.pid, root / "cache" / "service" / "uploads"
    proc.terminate()
    proc.wait(timeout=30)


class RawPost:
    """A POST written on a socket: chunked, or with a ``Content-Length`` that the body may never reach."""

    def __init__(self, url: str, path: str, headers: dict[str, str], length: int | None = None) -> None:
        where = urlsplit(url)
        self.sock = socket.create_connection((where.hostname, where.port), timeout=60)
        self.chunked = length is None
        lines = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}", *(f"{k}: {v}" for k, v in headers.items()),
                 "Transfer-Encoding: chunked" if self.chunked else f"Content-Length: {length}"]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.sent = 0

    def send(self, data: bytes) -> None:
        self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data)
        self.sent += len(data)

    def end(self) -> None:
        if self.chunked:
            self.sock.sendall(b"0\r\n\r\n")

    def response(self) -> tuple[int, dict[str, str], dict]:
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *fields = head.decode().split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}
        while len(body) < int(headers["content-length"]):
            body += self._recv()
        return int(status_line.split()[1]), headers, json.loads(body)

    def closed_by_server(self, wait_s: float = 10) -> bool:
        """Whether the server closed the connection (it reads no more of the body), within ``wait_s``."""
        self.sock.settimeout(wait_s)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed the connection before it answered")
        return data


def rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) * 1024


class HealthPoller:
    """``/health`` asked again and again while something else happens; the slowest answer is kept."""

    def __init__(self, url: str) -> None:
        self.url, self.worst, self.answers = url, 0.0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> HealthPoller:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)

    def _poll(self) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            assert httpx.get(f"{self.url}/health", timeout=60).status_code == 200
            self.worst, self.answers = max(self.worst, time.monotonic() - start), self.answers + 1
            time.sleep(0.01)


@pytest.mark.parametrize("headers", NO_TOKEN, ids=["no-token", "wrong-token"])
@pytest.mark.parametrize("length", [None, 150 * MB], ids=["chunked", "content-length"])
def test_an_anonymous_upload_is_refused_before_its_body_is_read(served, headers, length):
    url, _, uploads = served
    post = RawPost(url, "/datasets", headers, length)
    sending = _sending(post, MB)  # of 150 MB, or of a chunked body with no end in sight
    code, response_headers, body = post.response()
    sending.join(timeout=60)
    assert code == 401 and "missing or wrong token" in body["detail"]
    assert response_headers["www-authenticate"] == "Bearer" and response_headers["connection"] == "close"
    assert post.closed_by_server()  # the rest of the body is never read
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_a_150_mb_anonymous_upload_costs_the_service_nothing(served):
    url, pid, _ = served
    before = rss(pid)
    post = RawPost(url, "/datasets", {})
    with HealthPoller(url) as health:
        blast = _sending(post, 150 * MB, end=True)
        code, _, _ = post.response()
        blast.join(timeout=120)
    grown = rss(pid) - before
    print(f"sent {post.sent / MB:.1f} MB of 150 MB before the server closed; RSS +{grown / MB:.1f} MB; "
          f"/health answered {health.answers} times, slowest {health.worst * 1000:.0f} ms")
    assert code == 401 and not blast.is_alive()
    assert post.sent < 150 * MB and grown < 50 * MB


def test_a_dripped_anonymous_upload_is_refused_at_once(served):
    """One byte every 0.2 s, for ever: the 401 comes before the drip ends, and the service goes on answering."""
    url, _, _ = served
    post = RawPost(url, "/datasets", {"Authorization": "Bearer wrong-token-0123456789"})
    answered = threading.Event()

    def drip() -> None:
        for _ in range(100):
            if answered.is_set():
                return
            try:
                post.send(b"x")
            except (BrokenPipeError, ConnectionResetError):
                return  # closed by the server (the test checks that below)
            time.sleep(0.2)

    dripping = threading.Thread(target=drip, daemon=True)
    with HealthPoller(url) as health:
        dripping.start()
        post.sock.settimeout(30)
        code, _, _ = post.response()
        answered.set()
    print(f"refused after {post.sent} dripped bytes; /health slowest {health.worst * 1000:.0f} ms")
    assert code == 401 and post.sent < 100  # the server did not wait for the drip to end
    assert health.answers > 0 and post.closed_by_server()
    dripping.join(timeout=30)


def _sending(post: RawPost, size: int, end: bool = False, chunk: int = MB) -> threading.Thread:
    """``size`` bytes of body going out in a thread, until they are through or the server closes the connection."""

    def send() -> None:
        try:
            while post.sent < size:
                post.send(b"x" * min(chunk, size - post.sent))
            if end:
                post.end()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection: what a refusal should do

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_an_upload_goes_to_disk_as_it_arrives_and_stops_at_the_limit(served):
    """210 MB, chunked: on disk as it comes, the service's memory flat, 413 past 200 MB, no partial file left."""
    url, pid, uploads = served
    before = rss(pid)
    post = RawPost(url, "/datasets?format=csv", {"Authorization": f"Bearer {TOKEN}"})
    answer: list = []
    reader = threading.Thread(target=lambda: answer.append(post.response()), daemon=True)
    reader.start()
    seen = []
    try:
        while post.sent < UPLOAD_LIMIT + 10 * MB and reader.is_alive():
            post.send(b"1\n" * (MB // 2))
            if post.sent % (50 * MB) == 0:
                on_disk = sum(f.stat().st_size for f in uploads.glob(".partial-*"))
                seen.append((post.sent // MB, on_disk // MB, (rss(pid) - before) // MB))
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused past the limit, as it should be
    reader.join(timeout=60)
    print("MB sent, on disk, RSS growth:", seen)
    assert [sent for sent, _, _ in seen] == [50, 100, 150, 200]
    assert all(on_disk >= sent - 32 for sent, on_disk, _ in seen)  # less what the sockets hold
    assert all(grown < 50 for _, _, grown in seen)
    (code, headers, body), = answer
    assert code == 413 and headers["connection"] == "close"
    assert body["detail"].startswith(f"upload larger than {UPLOAD_LIMIT} bytes") and "smaller file" in body["detail"]
    assert list(uploads.iterdir()) == []
    iris = (DATASETS / "iris.parquet").read_bytes()  # and the next upload is fine
    kept = httpx.post(f"{url}/datasets", params={"format": "parquet"}, content=iris,
                      headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert kept.status_code == 201 and kept.json()["rows"] == 150 and Path(kept.json()["uri"]).read_bytes() == iris


def test_a_large_upload_with_a_length_is_streamed_and_counted(served):
    url, pid, _ = served
    rows = 18_750_000  # 150 MB
    before = rss(pid)
    post = RawPost(url, "/datasets?format=csv", {"Authorization": f"Bearer {TOKEN}"}, length=4 + 8 * rows)
    post.send(b"x,y\n")
    for _ in range(rows // 125_000):
        post.send(b"1234,56\n" * 125_000)
    code, _, body = post.response()
    grown = rss(pid) - before
    print(f"a {post.sent / MB:.0f} MB upload: RSS +{grown / MB:.1f} MB")
    assert code == 201 and body["rows"] == rows and body["columns"] == ["x", "y"]
    assert Path(body["uri"]).stat().st_size == post.sent
    assert grown < 120 * MB  # Arrow's read-ahead while the rows are counted (about 40 MB), not the 150 MB file
    Path(body["uri"]).unlink()


def test_a_1_mb_yaml_spec_does_not_stop_the_service(served):
    """Parsed in a worker thread (and by libyaml): ``/health`` goes on answering while it is read."""
    url, _, _ = served
    values = "".join(f"      - {i}\n" for i in range(200_000))
    spec = ("code_github: .\ncommand: run {x}\nprimary_result_key: score\nsearch:\n  x:\n    type: choice\n"
            "    values:\n" + values)[:990_000]
    spec = spec[:spec.rfind("\n") + 1]
    with HealthPoller(url) as health:
        time.sleep(0.2)
        start = time.monotonic()
        checked = httpx.post(f"{url}/experiments/validate", content=spec, timeout=120,
                             headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/yaml"})
        took = time.monotonic() - start
    print(f"a {len(spec) / MB:.2f} MB YAML spec checked in {took * 1000:.0f} ms; /health answered "
          f"{health.answers} times, slowest {health.worst * 1000:.0f} ms")
    assert checked.status_code == 200, checked.text
    assert checked.json()["trials"] == 10
    assert health.worst < took / 2  # a blocked event loop would hold /health for the whole parse
