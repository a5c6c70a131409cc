"""The web page in headless Chromium against a real ``tunelake serve`` on a real Ray head.

One test reads experiments written into the service's lake (known numbers: a search with stopped and failed trials)
and checks every chart through ECharts' own option and the SVG it drew (axes, legends, colour scale), the trial
table's sorting and filtering, a trial's detail, compare and the SQL console; one submits the svm example, follows
it to the end and stops a second run from the page. Neither lets the page fetch anything but the service.
Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.platform.service.conftest import TOKEN
from tests.platform.service.test_chart_routes import ASHA, automl_run, fill_asha
from tests.platform.service.test_routes import SVM, fill
from tests.platform.service.test_service import svm_spec
from tunelake.store.lake import Lake

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
OPTION = "id => JSON.parse(JSON.stringify(echarts.getInstanceByDom(document.getElementById(id)).getOption()))"
POINTS = """([id, n]) => { const c = echarts.getInstanceByDom(document.getElementById(id));
                         return !!c && c.getOption().series.filter((s) => s.type !== "custom")
                                                           .reduce((k, s) => k + s.data.length, 0) === n; }"""


@pytest.fixture
def browser_page(service):
    """A page on the service that may load nothing from elsewhere; the list of what it asked for, and errors."""
    from playwright.sync_api import sync_playwright

    url, _ = service
    if not Path(CHROMIUM).exists():
        pytest.fail("the browser test needs Debian's chromium: apt-get install chromium (.ci/run does it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        seen: list[str] = []
        errors: list[str] = []
        page.on("request", lambda r: seen.append(r.url))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error"
                and not m.text.startswith("Failed to load resource") else None)  # the response names it
        page.route(re.compile(r"^(?!" + re.escape(url) + r"/).*"), lambda route: route.abort())
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{url}/#token={TOKEN}")
        yield page, seen, errors
        browser.close()
    outside = [u for u in seen if not u.startswith(f"{url}/") and not u.startswith(("data:", "blob:"))]
    assert outside == [] and errors == []
    assert f"{url}/static/vendor/echarts.min.js" in seen


def option(page, chart_id: str) -> dict:
    return page.evaluate(OPTION, chart_id)


def test_charts_table_trial_compare_and_sql_in_the_browser(service, browser_page, tmp_path: Path):
    from playwright.sync_api import expect

    url, lake_dir = service
    lake = Lake(str(lake_dir))
    fill(lake)
    fill_asha(lake)
    page, _, _ = browser_page
    page.click(f"#experiments tr[data-id='{ASHA}']")
    expect(page.locator("#chart-history svg text", has_text="best so far")).to_be_visible(timeout=30_000)
    expect(page.locator("#chart-history svg text", has_text="trial (in start order)")).to_be_visible()
    history = option(page, "chart-history")
    assert history["legend"][0]["data"] == ["completed", "stopped", "failed", "best so far"]
    by_name = {s["name"]: s for s in history["series"]}
    assert (len(by_name["completed"]["data"]), len(by_name["stopped"]["data"]), len(by_name["failed"]["data"])) == (7, 4, 1)
    assert by_name["best so far"]["step"] == "end"

    expect(page.locator("#chart-map svg text", has_text="kernel")).to_be_visible()
    the_map = option(page, "chart-map")
    assert the_map["xAxis"][0]["type"] == "log" and the_map["xAxis"][0]["name"] == "C"
    assert the_map["yAxis"][0]["data"] == ["rbf", "linear", "poly", "sigmoid"]
    assert the_map["visualMap"][0]["text"][0] == "accuracy"  # the colour scale, with its legend
    points = {s["name"]: len(s["data"]) for s in the_map["series"]}
    assert points == {"best per cell": 11, "completed": 7, "stopped": 4}  # every trial with a value, stopped too
    assert the_map["series"][0]["type"] == "custom"  # the heat map's cells, under the points
    expect(page.locator("#chart-importance svg text", has_text="kernel")).to_be_visible()
    assert option(page, "chart-parallel")["parallelAxis"][0]["type"] == "log"
    assert [a["name"] for a in option(page, "chart-slices")["xAxis"]] == ["C", "kernel"]
    assert len(option(page, "chart-curves")["series"]) == 12
    page.screenshot(path=str(tmp_path / "experiment.png"), full_page=True)

    value = page.locator("#trials th[data-sort='value']")
    value.click()
    value.click()  # ascending, then descending: the best first
    expect(page.locator("#trials tbody tr").first).to_have_attribute("data-id", "a09")
    page.select_option("#trial-status", "stopped")
    expect(page.locator("#trials tbody tr")).to_have_count(4)
    page.select_option("#trial-status", "")
    page.fill("#trial-search", "boom")  # not in params: nothing
    expect(page.locator("#trials tbody tr")).to_have_count(0)
    page.fill("#trial-search", "")
    expect(page.locator("#trials tbody tr")).to_have_count(12)
    page.check("#trials tbody tr[data-id='a02'] input")  # its curve alone: one report, where ASHA stopped it
    page.check("#trials tbody tr[data-id='a03'] input")
    expect(page.locator("#curves-note")).to_contain_text("2 ticked")
    page.wait_for_function(POINTS, arg=["chart-curves", 4])
    assert [(s["name"], s["lineStyle"]["type"]) for s in option(page, "chart-curves")["series"]] == [
        ("a02", "dashed"), ("a03", "solid")]
    page.click("#trials tbody tr[data-id='a04']")
    expect(page.locator("#trial-stderr")).to_have_text("Traceback: boom")
    expect(page.locator("#trial-fields dd[data-field='status']")).to_have_text("failed (exited with code 1)")
    page.screenshot(path=str(tmp_path / "trial.png"), full_page=True)

    page.click(f"#experiments tr[data-id='{SVM}']")  # its trials' cost, summed
    expect(page.locator("#detail-status")).to_contain_text("5 CPU-h, 2.5 GPU-h, $0.75 on-demand "
                                                           "(aws-us-east-1@2026-01-19)")
    page.click("#trials tbody tr[data-id='t1']")
    expect(page.locator("#trial-fields dd[data-field='cost']")).to_have_text(
        "2 CPU-h, 1 GPU-h, $0.50 on-demand (aws-us-east-1@2026-01-19)")

    page.check(f"#experiments tr[data-id='{ASHA}'] input")
    page.check(f"#experiments tr[data-id='{SVM}'] input")
    page.click("#compare-selected")
    expect(page.locator("#chart-compare svg text", has_text=SVM)).to_be_visible()
    assert option(page, "chart-compare")["legend"][0]["data"] == [ASHA, SVM]
    expect(page.locator("#compare-table thead th")).to_have_count(3)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)

    page.click("#tabs button[data-view='warmstart']")
    expect(page.locator("#chart-regret svg")).to_be_visible()  # drawn, or saying what it waits for

    page.click("#tabs button[data-view='sql']")
    page.fill("#sql-text", f"SELECT trial_id, status FROM trials WHERE experiment_id = '{ASHA}' ORDER BY 1 LIMIT 3")
    page.click("#sql-run")
    expect(page.locator("#sql-result tbody tr")).to_have_count(3)
    with page.expect_download() as download:
        page.click("#sql-csv")
    csv = Path(download.value.path()).read_text()
    assert csv.splitlines() == ["trial_id,status", "a00,completed", "a01,completed", "a02,stopped"]

    automl = "automl-page-20250106-000000-0000"
    families = [{"family": "rf", "rf.depth": 3}, {"family": "rf", "rf.depth": 8}, {"family": "knn", "knn.k": 5}]
    automl_run(lake, automl, "d-page", True, [0.8, 0.9, 0.7], proposals=families[:2], params=families)
    page.click("#tabs button[data-view='experiments']")
    page.click(f"#experiments tr[data-id='{automl}']")
    expect(page.locator("#leaderboard tbody tr")).to_have_count(2)
    expect(page.locator("#leaderboard tbody tr").first).to_contain_text("rf")
    expect(page.locator("#proposals tbody tr")).to_have_count(2)
    page.screenshot(path=str(tmp_path / "automl.png"), full_page=True)


def test_submit_follow_and_stop_in_the_browser(service, browser_page, tmp_path: Path):
    from playwright.sync_api import expect

    page, _, errors = browser_page
    page.click("#tabs button[data-view='submit']")
    page.fill("#spec", json.dumps(svm_spec(6), indent=2))
    page.click("#validate")
    expect(page.locator("#message")).to_contain_text("valid: svm-demo, 6 trials")
    page.fill("#spec", '{"code_github": ".", "command": "x", "primary_result_key": "a", "search": {}}')
    page.click("#validate")
    expect(page.locator("#message")).to_contain_text("search: search is empty")
    assert [e.split()[0] for e in errors] == ["422"]  # the bad spec's answer
    errors.clear()
    page.fill("#spec", json.dumps(svm_spec(6), indent=2))
    page.click("#submit")
    expect(page.locator("#message")).to_contain_text("submitted")
    first = re.search(r"submitted (\S+)", page.locator("#message").inner_text()).group(1)
    row = page.locator(f"#experiments tr[data-id='{first}']")
    expect(row.locator("td.status-completed")).to_be_visible(timeout=300_000)
    row.click()
    expect(page.locator("#trials tbody td.status-completed")).to_have_count(6, timeout=30_000)
    expect(page.locator("#chart-map svg text", has_text="kernel")).to_be_visible()
    page.wait_for_function(POINTS, arg=["chart-map", 6])  # redrawn within a poll of the end
    assert option(page, "chart-map")["xAxis"][0]["type"] == "log"
    page.screenshot(path=str(tmp_path / "completed.png"), full_page=True)

    spec = svm_spec(40)
    spec["optimizer"]["max_concurrent_trials"] = 1
    page.click("#tabs button[data-view='submit']")
    page.fill("#spec", json.dumps(spec))
    page.click("#submit")
    expect(page.locator("#message")).not_to_contain_text(first)
    expect(page.locator("#message")).to_contain_text("submitted")
    second = re.search(r"submitted (\S+)", page.locator("#message").inner_text()).group(1)
    expect(page.locator("#detail-title")).to_contain_text(second)
    expect(page.locator("#trials tbody tr").first).to_be_visible(timeout=120_000)  # its driver is in the lake
    expect(page.locator("#detail-status")).to_contain_text(re.compile(r"^running"))
    page.click("#stop")  # the confirmation is accepted
    expect(page.locator(f"#experiments tr[data-id='{second}'] td.status-stopped")).to_be_visible(timeout=120_000)
    page.click("#show-logs")
    expect(page.locator("#logs")).not_to_be_empty()
    page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)
    page.goto(page.url.split("#")[0] + "#token=wrong")
    page.evaluate("localStorage.clear()")
    page.reload()
    expect(page.locator("#message")).to_contain_text("the token was refused")
    assert {e.split()[0] for e in errors} == {"401"}
    errors.clear()
