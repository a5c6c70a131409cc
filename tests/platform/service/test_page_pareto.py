"""The page shows the Pareto front of a search of several metrics (headless Chromium, real HTTP, a lake on disk).

No Ray here: the lake holds the experiment already, and the job launcher is the
routes' fake (the page only reads).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.platform.service.test_page import ARGS, CHROMIUM
from tests.platform.service.test_routes import TOKEN, FakeJobs
from tunelake.platform.service.app import create_app
from tunelake.platform.service.settings import Settings
from tunelake.store.lake import Lake

pytestmark = pytest.mark.slow
MO = "trade-20250102-030405-abcd"


def serve(app) -> tuple[str, object]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def test_the_page_lists_the_front_over_both_metrics(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    lake = Lake(str(tmp_path / "lake"))
    objectives = [{"metric": "accuracy", "mode": "max"}, {"metric": "latency_ms", "mode": "min"}]
    lake.append("experiments", [{"experiment_id": MO, "name": "trade", "status": "completed",
                                 "primary_metric": "accuracy", "mode": "max", "objectives": json.dumps(objectives),
                                 "spec": json.dumps({"search": {"x": {}}})}])
    lake.append("trials", [{"experiment_id": MO, "trial_id": t, "status": "completed", "value": a,
                            "params": json.dumps({"x": x}), "metrics": json.dumps({"accuracy": a, "latency_ms": b})}
                           for t, x, a, b in (("a", 1, 0.9, 9.0), ("b", 2, 0.8, 1.0), ("c", 3, 0.7, 5.0))])
    settings = Settings(lake=lake.uri, ray_dashboard="http://127.0.0.1:9", token=TOKEN, state_dir=tmp_path / "state")
    url, server = serve(create_app(settings, FakeJobs()))  # type: ignore[arg-type]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}/#token={TOKEN}")
            page.locator(f"#experiments tr[data-id='{MO}']").click()
            rows = page.locator("#pareto-table tbody tr")
            expect(rows).to_have_count(2)
            expect(page.locator("#pareto-objectives")).to_have_text("accuracy (max), latency_ms (min)")
            expect(rows.nth(0)).to_contain_text("accuracy=0.9")
            expect(rows.nth(1)).to_contain_text("latency_ms=1")
            browser.close()
        assert errors == []
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
