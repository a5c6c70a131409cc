"""The web page in headless Chromium: submit the svm example, follow it, see the trials and the map."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.platform.service.conftest import TOKEN
from tests.platform.service.test_service import svm_spec

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def test_submit_and_follow_in_the_browser(service):
    from playwright.sync_api import expect, sync_playwright

    url, _ = service
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser test needs Debian's chromium: apt-get install chromium (.ci/run does it)")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/#token={TOKEN}")
        page.fill("#spec", json.dumps(svm_spec(6), indent=2))
        page.click("#validate")
        expect(page.locator("#message")).to_contain_text("valid: svm-demo, 6 trials")
        page.fill("#spec", '{"code_github": ".", "command": "x", "primary_result_key": "a", "search": {}}')
        page.click("#validate")
        expect(page.locator("#message")).to_contain_text("search: search is empty")
        page.fill("#spec", json.dumps(svm_spec(6), indent=2))
        page.click("#submit")
        expect(page.locator("#message")).to_contain_text("submitted")
        experiment_id = re.search(r"submitted (\S+)", page.locator("#message").inner_text()).group(1)
        row = page.locator(f"#experiments tr[data-id='{experiment_id}']")
        expect(row.locator("td.status-completed")).to_be_visible(timeout=300_000)
        row.click()
        expect(page.locator("#trials tbody tr")).to_have_count(6, timeout=30_000)
        expect(page.locator("#map circle.map-point")).to_have_count(6)
        expect(page.locator("#chart polyline")).to_have_count(1)
        assert page.locator("#map-x").input_value() == "C" and page.locator("#map-y").input_value() == "kernel"
        page.select_option("#map-y", "C")
        expect(page.locator("#map circle.map-point")).to_have_count(6)
        page.select_option("#map-y", "kernel")
        page.screenshot(path=str(artifacts / "page.png"), full_page=True)
        page.goto(f"{url}/#token=wrong")
        page.evaluate("localStorage.clear()")
        page.reload()
        expect(page.locator("#message")).to_contain_text("the token was refused")
        browser.close()
    assert errors == []
    assert (artifacts / "page.png").stat().st_size > 10_000
