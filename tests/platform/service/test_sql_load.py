"""``/sql`` under attack, over real HTTP: 50 bad queries at once against a real ``tunelake serve``
(uvicorn, default limits, no Ray: nothing here submits a job), with ``/health`` timed all along."""

from __future__ import annotations

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.platform.service.conftest import TOKEN, start_service

RUNAWAY = "SELECT sum(i) FROM range(1000000000000) t(i)"  # would run for hours: stopped at the time limit
ENDLESS_ROWS = "SELECT i, repeat('x', 10000) AS s FROM range(1000000000) t(i)"  # rows of 10 kB without end
ANSWER_BYTES = 10_000_000  # the service's default byte limit for an answer


def test_fifty_bad_queries_at_once_leave_the_service_responsive(tmp_path: Path):
    proc, url = start_service("http://127.0.0.1:9", tmp_path / "lake", {**os.environ, "TUNELAKE_API_TOKEN": TOKEN})
    latencies: list[float] = []
    health: list[int] = []
    done = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while not done.is_set():
                start = time.monotonic()
                health.append(client.get("/health").status_code)
                latencies.append(time.monotonic() - start)
                time.sleep(0.1)

    def attack(query: str) -> httpx.Response:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as client:
            return client.post("/sql", json={"query": query})

    try:
        prober = threading.Thread(target=probe)
        prober.start()
        started = time.monotonic()
        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(attack, [RUNAWAY] * 40 + [ENDLESS_ROWS] * 10))
        took = time.monotonic() - started
        done.set()
        prober.join()
        after = attack("SELECT 1 AS one").json()
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    print(f"\n/health under 50 bad /sql queries: {len(latencies)} probes, median "
          f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms; "
          f"the 50 answered in {took:.1f} s")
    codes = [a.status_code for a in answers]
    busy = [a for a in answers if a.status_code == 503]
    assert busy and all("the most this service runs at once; try again" in a.json()["detail"] for a in busy)
    assert all(a.headers["retry-after"] for a in busy)
    stopped = [a for a in answers if a.status_code == 400]
    assert all("stopped after 10s" in a.json()["detail"] for a in stopped)
    cut = [a for a in answers if a.status_code == 200]
    assert all(len(a.content) <= ANSWER_BYTES + 1_000 and a.json()["truncated"] for a in cut)
    assert len(busy) + len(stopped) + len(cut) == 50, codes
    assert set(health) == {200} and max(latencies) < 5.0  # generous: the figure printed above is what to look at
    assert after == {"columns": ["one"], "rows": [[1]], "truncated": False}
