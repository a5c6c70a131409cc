"""Every route in process: the app over a lake under tmp_path and a fake job launcher, no Ray, no server.

The test writes the lake (``Lake.append``) and checks what each route returns
against it; for the routes that start jobs it checks what the fake received.
The real path (uvicorn, Ray jobs) is tested in ``test_service.py``.
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import DATASETS, EXAMPLES
from tunelake._version import __version__
from tunelake.ids import EXPERIMENT_ID
from tunelake.metalearn.dataset import describe
from tunelake.metalearn.features import FEATURE_SET
from tunelake.metalearn.zoo import DEFAULT_FAMILY, active, default_config
from tunelake.platform.service.app import STATIC, create_app
from tunelake.platform.service.jobs import PREFIX, JobLauncher
from tunelake.platform.service.settings import Settings
from tunelake.platform.spec import AutoMLSpec, parse_automl
from tunelake.store.lake import Lake

TOKEN = "route-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BODY_LIMIT, UPLOAD_LIMIT, SQL_ROWS = 200_000, 1_000_000, 5  # small, so the limits are cheap to cross
T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
SVM, OLD, EMPTY = "svm-demo-20250102-030405-abcd", "old-20250101-000000-0000", "empty-20250103-000000-0000"


class FakeJobs:
    """:class:`JobLauncher` without Ray: submissions are recorded, job states kept in a dict."""

    def __init__(self) -> None:
        self.specs: dict[str, dict[str, Any]] = {}
        self.automl: dict[str, dict[str, Any]] = {}
        self.states: dict[str, str] = {}
        self.output: dict[str, str] = {}
        self.stopped: list[str] = []

    def submit(self, experiment_id: str, spec: dict[str, Any]) -> str:
        self.specs[experiment_id] = spec
        return self._start(experiment_id)

    def submit_automl(self, experiment_id: str, spec: dict[str, Any]) -> str:
        self.automl[experiment_id] = spec
        return self._start(experiment_id)

    def _start(self, experiment_id: str) -> str:
        self.states[experiment_id] = "PENDING"
        return PREFIX + experiment_id

    def status(self, experiment_id: str) -> str | None:
        return self.states.get(experiment_id)

    def logs(self, experiment_id: str) -> str | None:
        if experiment_id not in self.states:
            return None
        return self.output.get(experiment_id, f"started {experiment_id}\n")

    def stop(self, experiment_id: str) -> bool:
        """As Ray's ``stop_job``: true when the job was still going."""
        if self.states.get(experiment_id) not in ("PENDING", "RUNNING"):
            return False
        self.states[experiment_id] = "STOPPED"
        self.stopped.append(experiment_id)
        return True

    def submitted(self) -> dict[str, str]:
        return dict(self.states)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(str(tmp_path / "lake"))


@pytest.fixture
def jobs() -> FakeJobs:
    return FakeJobs()


@pytest.fixture
def make_app(tmp_path: Path, lake: Lake, jobs: FakeJobs) -> Callable[..., FastAPI]:
    def make(**limits: Any) -> FastAPI:
        settings = Settings(lake=lake.uri, ray_dashboard="http://127.0.0.1:9", token=TOKEN,
                            state_dir=tmp_path / "state", **{"max_body_bytes": BODY_LIMIT,
                                                             "max_upload_bytes": UPLOAD_LIMIT,
                                                             "sql_max_rows": SQL_ROWS, **limits})
        return create_app(settings, jobs)  # type: ignore[arg-type]  # the fake has the launcher's methods

    return make


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    return make_app()


@pytest.fixture
def api(app: FastAPI):
    with TestClient(app, headers=AUTH) as client:
        yield client


def svm_spec() -> dict[str, Any]:
    return json.loads((EXAMPLES / "svm" / "experiment.json").read_text())


def fill(lake: Lake) -> None:
    """Three experiments (one with three trials, one failed, one without trials) and their rows."""
    spec = svm_spec()
    lake.append("experiments", [
        {"experiment_id": SVM, "name": "svm-demo", "status": "completed", "primary_metric": "accuracy",
         "mode": "max", "algorithm": "tpe", "num_samples": 3, "spec": json.dumps(spec), "created_at": T0,
         "finished_at": T0 + timedelta(minutes=5), "best_trial_id": "t2", "best_value": 0.9,
         "best_params": json.dumps({"C": 10.0, "kernel": "rbf"})},
        {"experiment_id": OLD, "name": "old", "status": "failed", "primary_metric": "loss", "mode": "min",
         "created_at": T0 - timedelta(days=1), "best_value": float("nan"), "error": "the code could not be fetched"},
        {"experiment_id": EMPTY, "name": "empty", "status": "running", "created_at": T0 + timedelta(days=1)},
    ])
    lake.append("drivers", [{"experiment_id": EMPTY, "driver_id": "d1", "heartbeat_s": 30.0,
                             "heartbeat_at": datetime.now(timezone.utc), "lease": 1}])  # alive
    lake.append("trials", [
        {"experiment_id": SVM, "trial_id": "t1", "status": "completed", "params": json.dumps({"C": 1.0, "kernel": "rbf"}),
         "value": 0.7, "metrics": json.dumps({"accuracy": 0.7, "loss": float("nan")}), "iterations": 1,
         "started_at": T0, "finished_at": T0 + timedelta(seconds=30), "duration_s": 30.0, "node": "n1", **COST},
        {"experiment_id": SVM, "trial_id": "t2", "status": "completed", "params": json.dumps({"C": 10.0, "kernel": "rbf"}),
         "value": 0.9, "metrics": json.dumps({"accuracy": 0.9}), "iterations": 1, "started_at": T0,
         "finished_at": T0 + timedelta(seconds=10), "duration_s": 10.0, "node": "n2", "model_uri": "/models/t2",
         **COST, "cost_usd": 0.25},
        {"experiment_id": SVM, "trial_id": "t3", "status": "failed", "params": json.dumps({"C": 0.1, "kernel": "poly"}),
         "started_at": T0, "finished_at": T0 + timedelta(seconds=20), "reason": "exited with code 1",
         "cpus": 1.0, "gpus": 0.5, "cpu_hours": 1.0, "gpu_hours": 0.5},  # stopped before its node was known
    ])


COST = {"instance_type": "g5.xlarge", "cpus": 1.0, "gpus": 0.5, "cpu_hours": 2.0, "gpu_hours": 1.0, "cost_usd": 0.5,
        "price_table": "aws-us-east-1@2026-01-19"}


# -- the fake, the open routes, the token ---------------------------------------------------------------


def test_the_fake_has_the_launchers_methods():
    def public(cls: type) -> dict[str, list[str]]:
        return {name: list(inspect.signature(f).parameters) for name, f in vars(cls).items()
                if inspect.isfunction(f) and not name.startswith("_")}

    assert public(FakeJobs) == public(JobLauncher)


def test_health_the_page_and_the_openapi_need_no_token(app: FastAPI):
    client = TestClient(app)
    assert client.get("/health").json() == {"status": "ok", "version": __version__}
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text == (STATIC / "index.html").read_text()
    assert client.get("/static/app.js").content == (STATIC / "app.js").read_bytes()
    doc = client.get("/openapi.json").json()
    body = doc["paths"]["/experiments"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "primary_result_key" in json.dumps(body)


PROTECTED = {("POST", "/experiments"), ("POST", "/experiments/validate"), ("GET", "/experiments"),
             ("GET", "/experiments/{experiment_id}"), ("GET", "/experiments/{experiment_id}/trials"),
             ("GET", "/experiments/{experiment_id}/pareto"),
             ("GET", "/experiments/{experiment_id}/logs"), ("POST", "/experiments/{experiment_id}/stop"),
             ("POST", "/sql"), ("POST", "/datasets"), ("POST", "/automl"), ("POST", "/recommend"),
             ("GET", "/experiments/{experiment_id}/trials/{trial_id}"), ("GET", "/experiments/{experiment_id}/curves"),
             ("GET", "/experiments/{experiment_id}/history"), ("GET", "/experiments/{experiment_id}/map"),
             ("GET", "/experiments/{experiment_id}/importance"), ("GET", "/experiments/{experiment_id}/leaderboard"),
             ("GET", "/compare"), ("GET", "/experiments/{experiment_id}/proposals"), ("GET", "/warmstart/regret")}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": TOKEN}, {"Authorization": f"Bearer {TOKEN}x"},
                                     {"Authorization": "Bearer "}])
def test_every_other_route_refuses_a_missing_or_wrong_token(app: FastAPI, jobs: FakeJobs, lake: Lake,
                                                            tmp_path: Path, headers: dict[str, str]):
    fill(lake)
    jobs.states[SVM] = "RUNNING"
    routes = {(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations}
    assert routes - {("GET", "/health")} == PROTECTED  # a new route gets a line here, and tests
    client = TestClient(app, headers=headers)
    for method, path in sorted(PROTECTED):
        response = client.request(method, path.replace("{experiment_id}", SVM), json={"query": "SELECT 1"})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "missing or wrong token" in response.json()["detail"]
    assert jobs.specs == {} and jobs.automl == {} and jobs.stopped == []
    assert not (tmp_path / "state" / "uploads").exists()


# -- experiments: create and validate -------------------------------------------------------------------


def test_a_spec_is_submitted_as_sent_json_or_yaml(api: TestClient, jobs: FakeJobs):
    spec = svm_spec()
    response = api.post("/experiments", json=spec)
    assert response.status_code == 201, response.text
    first = response.json()["experiment_id"]
    assert EXPERIMENT_ID.fullmatch(first) and first.startswith("svm-demo-")
    assert response.json()["job_id"] == PREFIX + first
    assert jobs.specs == {first: spec}

    text = yaml.safe_dump({**spec, "name": "svm yaml"})
    response = api.post("/experiments", content=text, headers={"Content-Type": "application/yaml"})
    assert response.status_code == 201, response.text
    second = response.json()["experiment_id"]
    assert second.startswith("svm-yaml-") and jobs.specs[second] == yaml.safe_load(text)
    assert list(jobs.specs) == [first, second]

    # before its driver writes a row, the experiment is the job's
    assert api.get(f"/experiments/{first}").json() == {
        "experiment_id": first, "name": None, "status": "submitted", "job_status": "PENDING", "primary_metric": None,
        "mode": None, "algorithm": None, "num_samples": None, "counts": {}, "best_trial_id": None, "best_value": None,
        "best_params": None, "params": [], "created_at": None, "finished_at": None, "duration_s": None, "error": None,
        "objectives": [], "cpu_hours": None, "gpu_hours": None, "cost_usd": None, "priced_trials": None,
        "price_table": None}


def test_a_job_that_ended_before_its_driver_wrote_a_row_is_failed(api: TestClient, jobs: FakeJobs):
    experiment_id = api.post("/experiments", json=svm_spec()).json()["experiment_id"]
    jobs.states[experiment_id] = "FAILED"  # e.g. its driver could not import tunelake on the head node
    shown = api.get(f"/experiments/{experiment_id}").json()
    assert (shown["status"], shown["job_status"]) == ("failed", "FAILED")
    assert f"/experiments/{experiment_id}/logs" in shown["error"]
    listed = {e["experiment_id"]: e["status"] for e in api.get("/experiments").json()["data"]}
    assert listed[experiment_id] == "failed"


def test_validate_checks_without_submitting(api: TestClient, jobs: FakeJobs):
    assert api.post("/experiments/validate", json=svm_spec()).json() == {"valid": True, "trials": 12,
                                                                        "name": "svm-demo"}
    grid = "code_github: .\ncommand: run {x} {y}\nprimary_result_key: a\noptimizer: {algorithm: grid}\n" \
           "search:\n  x: {type: grid, values: [1, 2, 3]}\n  y: {type: choice, values: [a, b]}\n"
    assert api.post("/experiments/validate", content=grid).json() == {"valid": True, "trials": 6, "name": "experiment"}
    assert jobs.specs == {}


@pytest.mark.parametrize("route", ["/experiments", "/experiments/validate"])
@pytest.mark.parametrize("body,problems", [
    (json.dumps({"code_github": ".", "command": "run {C}", "primary_result_key": "acc",
                 "search": {"C": {"type": "uniform", "low": 3, "high": 1}}, "optimizer": {"num_samples": 0}}).encode(),
     ["optimizer.num_samples: Input should be greater than or equal to 1",
      "search.C: low must be below high (3 >= 1); swap them or widen the range"]),
    (b"{}", ["code_github: is required", "command: is required", "primary_result_key: is required",
             "search: is required"]),
    (b"[1, 2]", ["spec: must be a JSON/YAML object, got list"]),
    (b"\xff\xfe", ["spec: not UTF-8 text; send JSON or YAML"]),
    (b"{not json", ["spec: invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes"]),
])
def test_a_bad_spec_is_422_with_every_problem_by_field_path(api: TestClient, jobs: FakeJobs, route: str,
                                                            body: bytes, problems: list[str]):
    response = api.post(route, content=body)
    assert response.status_code == 422
    assert response.json() == {"detail": problems}
    assert jobs.specs == {}


# -- experiments: list, get, trials, logs, stop ---------------------------------------------------------


def test_a_running_experiment_whose_driver_stopped_beating_is_lost(api: TestClient, lake: Lake):
    now = datetime.now(timezone.utc)
    lake.append("experiments", [{"experiment_id": e, "status": "running", "created_at": now}
                                for e in ("beats-0", "stale-0", "ended-0", "none-0")])
    lake.append("drivers", [
        {"experiment_id": "beats-0", "driver_id": "a", "heartbeat_s": 1.0, "heartbeat_at": now, "lease": 1},
        {"experiment_id": "stale-0", "driver_id": "b", "heartbeat_s": 1.0, "heartbeat_at": now - timedelta(seconds=5),
         "lease": 1},
        {"experiment_id": "ended-0", "driver_id": "c", "heartbeat_s": 30.0, "heartbeat_at": now, "ended_at": now,
         "lease": 1},
    ])
    seen = {e["experiment_id"]: e["status"] for e in api.get("/experiments").json()["data"]}
    assert seen == {"beats-0": "running", "stale-0": "lost", "ended-0": "lost", "none-0": "lost"}
    assert api.get("/experiments/stale-0").json()["status"] == "lost"


def test_experiments_are_listed_newest_first_with_counts_and_jobs(api: TestClient, lake: Lake, jobs: FakeJobs):
    assert api.get("/experiments").json() == {"data": [], "count": 0}
    fill(lake)
    jobs.states.update({SVM: "SUCCEEDED", "pending-20250104-000000-0000": "PENDING"})
    body = api.get("/experiments").json()
    assert body["count"] == 4
    assert [(e["experiment_id"], e["status"], e["job_status"]) for e in body["data"]] == [
        ("pending-20250104-000000-0000", "submitted", "PENDING"),  # submitted, no row yet: first
        (EMPTY, "running", None), (SVM, "completed", "SUCCEEDED"), (OLD, "failed", None)]
    by_id = {e["experiment_id"]: e for e in body["data"]}
    assert by_id[SVM]["counts"] == {"completed": 2, "failed": 1} and by_id[EMPTY]["counts"] == {}
    assert by_id[SVM]["best_value"] == 0.9 and by_id[SVM]["params"] == ["C", "kernel"]
    assert by_id[OLD]["best_value"] is None  # NaN in the lake, null in JSON
    assert by_id[OLD]["error"] == "the code could not be fetched"
    page = api.get("/experiments", params={"offset": 2, "limit": 1}).json()
    assert page["count"] == 4 and [e["experiment_id"] for e in page["data"]] == [SVM]
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "many"}):
        response = api.get("/experiments", params=bad)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][0] == "query", bad


def test_an_experiment_is_its_lake_row_its_counts_and_its_job(api: TestClient, lake: Lake, jobs: FakeJobs):
    fill(lake)
    jobs.states[SVM] = "RUNNING"
    assert api.get(f"/experiments/{SVM}").json() == {
        "experiment_id": SVM, "name": "svm-demo", "status": "completed", "job_status": "RUNNING",
        "primary_metric": "accuracy", "mode": "max", "algorithm": "tpe", "num_samples": 3,
        "counts": {"completed": 2, "failed": 1}, "best_trial_id": "t2", "best_value": 0.9,
        "best_params": {"C": 10.0, "kernel": "rbf"}, "params": ["C", "kernel"],
        "created_at": "2025-01-02T03:04:05Z", "finished_at": "2025-01-02T03:09:05Z", "duration_s": 300.0,
        "error": None, "objectives": [{"metric": "accuracy", "mode": "max"}],
        "cpu_hours": 5.0, "gpu_hours": 2.5, "cost_usd": 0.75, "priced_trials": 2,
        "price_table": "aws-us-east-1@2026-01-19"}
    old = api.get(f"/experiments/{OLD}").json()
    assert (old["status"], old["job_status"], old["best_value"], old["counts"]) == ("failed", None, None, {})


def test_trials_are_sorted_and_paged(api: TestClient, lake: Lake):
    fill(lake)
    body = api.get(f"/experiments/{SVM}/trials").json()  # by finished_at, oldest first
    assert body["count"] == 3 and [t["trial_id"] for t in body["data"]] == ["t2", "t3", "t1"]
    t1 = body["data"][2]
    assert t1 == {"trial_id": "t1", "status": "completed", "params": {"C": 1.0, "kernel": "rbf"}, "value": 0.7,
                  "metrics": {"accuracy": 0.7, "loss": None}, "iterations": 1, "started_at": "2025-01-02T03:04:05Z",
                  "finished_at": "2025-01-02T03:04:35Z", "duration_s": 30.0, "node": "n1", "reason": None,
                  "model_uri": None, "restarts": None, **COST}
    best = api.get(f"/experiments/{SVM}/trials", params={"sort": "value", "order": "desc"}).json()["data"]
    assert [(t["trial_id"], t["value"]) for t in best] == [("t2", 0.9), ("t1", 0.7), ("t3", None)]  # nulls last
    assert best[0]["model_uri"] == "/models/t2" and best[2]["reason"] == "exited with code 1"
    page = api.get(f"/experiments/{SVM}/trials", params={"sort": "trial_id", "offset": 1, "limit": 1}).json()
    assert page["count"] == 3 and [t["trial_id"] for t in page["data"]] == ["t2"]
    assert api.get(f"/experiments/{EMPTY}/trials").json() == {"data": [], "count": 0}
    for bad in ({"sort": "params"}, {"order": "up"}, {"limit": 0}, {"limit": 5001}, {"offset": -1}):
        assert api.get(f"/experiments/{SVM}/trials", params=bad).status_code == 422, bad


def test_the_pareto_front_of_one_metric_is_the_best_trial_and_of_two_the_trade_off(api: TestClient, lake: Lake):
    fill(lake)
    body = api.get(f"/experiments/{SVM}/pareto").json()
    assert body["objectives"] == [{"metric": "accuracy", "mode": "max"}]
    assert [(p["trial_id"], p["objectives"]) for p in body["data"]] == [("t2", [0.9])] and body["count"] == 1
    two = [{"metric": "accuracy", "mode": "max"}, {"metric": "latency_ms", "mode": "min"}]
    lake.append("experiments", [{"experiment_id": "mo", "status": "completed", "primary_metric": "accuracy",
                                 "mode": "max", "objectives": json.dumps(two)}])
    lake.append("trials", [{"experiment_id": "mo", "trial_id": t, "status": "completed", "params": "{}",
                            "metrics": json.dumps({"accuracy": a, "latency_ms": b})}
                           for t, a, b in (("a", 0.9, 9.0), ("b", 0.8, 1.0), ("c", 0.7, 5.0))])
    body = api.get("/experiments/mo/pareto").json()
    assert body["objectives"] == two and [p["trial_id"] for p in body["data"]] == ["a", "b"]
    assert body["data"][1] == {"trial_id": "b", "params": {}, "objectives": [0.8, 1.0],
                               "metrics": {"accuracy": 0.8, "latency_ms": 1.0}}
    assert api.get(f"/experiments/{EMPTY}/pareto").json() == {"objectives": [], "data": [], "count": 0}
    assert api.get("/experiments/nope/pareto").status_code == 404


def test_logs_come_from_the_job_with_secrets_masked(api: TestClient, jobs: FakeJobs):
    experiment_id = api.post("/experiments", json=svm_spec()).json()["experiment_id"]
    assert api.get(f"/experiments/{experiment_id}/logs").text == f"started {experiment_id}\n"
    jobs.output[experiment_id] = f"cloning https://bob:hunter2hunter2@example.com/x.git\ntoken {TOKEN}\n"
    response = api.get(f"/experiments/{experiment_id}/logs")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "cloning https://***@example.com/x.git\ntoken ***\n"


def test_stop_stops_a_running_job_once(api: TestClient, jobs: FakeJobs):
    experiment_id = api.post("/experiments", json=svm_spec()).json()["experiment_id"]
    jobs.states[experiment_id] = "RUNNING"
    assert api.post(f"/experiments/{experiment_id}/stop").json() == {"stopped": True}
    assert jobs.stopped == [experiment_id]
    assert api.get(f"/experiments/{experiment_id}").json()["job_status"] == "STOPPED"
    assert api.post(f"/experiments/{experiment_id}/stop").json() == {"stopped": False}  # already over
    assert jobs.stopped == [experiment_id]


@pytest.mark.parametrize("bad", ["no-such-experiment", "..%2F..%2Fetc", "a" * 300, "x;rm", "-dash", "%2F", "%00",
                                 "caf%C3%A9"])
def test_unknown_or_malformed_ids_are_404(api: TestClient, lake: Lake, jobs: FakeJobs, bad: str):
    fill(lake)
    jobs.states[SVM] = "RUNNING"
    for method, path in (("GET", ""), ("GET", "/trials"), ("GET", "/logs"), ("POST", "/stop")):
        response = api.request(method, f"/experiments/{bad}{path}")
        assert response.status_code == 404, (method, path, response.text)
    assert jobs.stopped == []


def test_an_experiment_only_in_the_lake_has_no_job_to_follow(api: TestClient, lake: Lake, jobs: FakeJobs):
    fill(lake)
    assert api.get(f"/experiments/{SVM}").status_code == 200
    assert api.get(f"/experiments/{SVM}/logs").json()["detail"] == f"no job for experiment {SVM!r}"
    assert api.post(f"/experiments/{SVM}/stop").status_code == 404
    assert jobs.stopped == []


# -- /sql -----------------------------------------------------------------------------------------------


def test_sql_reads_the_lake(api: TestClient, lake: Lake):
    fill(lake)
    counts = api.post("/sql", json={"query": "SELECT status, count(*) AS n FROM trials "
                                             f"WHERE experiment_id = '{SVM}' GROUP BY 1 ORDER BY 1"})
    assert counts.json() == {"columns": ["status", "n"], "rows": [["completed", 2], ["failed", 1]],
                             "truncated": False}
    odd = api.post("/sql", json={"query": "SELECT best_value, created_at FROM experiments "
                                          f"WHERE experiment_id = '{OLD}'"}).json()
    assert odd["rows"] == [[None, "2025-01-01 03:04:05+00:00"]]  # NaN as null, a timestamp as text
    capped = api.post("/sql", json={"query": "SELECT * FROM range(100)"}).json()
    assert capped["truncated"] and capped["rows"] == [[i] for i in range(SQL_ROWS)]
    assert api.post("/sql", json={"query": "DESCRIBE trials"}).json()["rows"][0][0] == "experiment_id"


def test_a_damaged_lake_file_is_left_out_and_named_in_a_header(api: TestClient, lake: Lake):
    """On the old code one bad file made every read of its table a 400 (`GET /experiments` included)."""
    fill(lake)
    (bad,) = lake.append("experiments", [{"experiment_id": "lost-20250105-000000-0000", "status": "running"}])
    Path(bad).write_bytes(b"\0" * 100)
    listed = api.get("/experiments")
    assert listed.status_code == 200, listed.text
    assert {e["experiment_id"] for e in listed.json()["data"]} == {SVM, OLD, EMPTY}
    assert json.loads(listed.headers["x-tunelake-skipped-files"]) == [lake.fs.relative(bad)]
    rows = api.post("/sql", json={"query": "SELECT count(*) FROM experiments"})
    assert rows.status_code == 200 and rows.json()["rows"] == [[3]]
    assert json.loads(rows.headers["x-tunelake-skipped-files"]) == [lake.fs.relative(bad)]
    assert "x-tunelake-skipped-files" not in api.post("/sql", json={"query": "SELECT count(*) FROM trials"}).headers


@pytest.mark.parametrize("query,problem", [
    ("SELECT * FROM read_csv('/etc/passwd')", "file system operations are disabled"),
    ("COPY (SELECT 1) TO '/tmp/tunelake-escape.csv'", "only SELECT"),
    ("ATTACH '/tmp/tunelake-escape.db'", "only SELECT"),
    ("INSTALL httpfs", "only SELECT"),
    ("SET enable_external_access = true", "only SELECT"),
    ("CREATE TABLE x AS SELECT 1", "only SELECT"),
    ("SELECT 1; SELECT 2", "exactly one statement (got 2)"),
    ("SELEC 1", "syntax error"),
    ("PRAGMA version", "only SELECT"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/tunelake-escape.csv'", "EXPLAIN is allowed here only of a SELECT"),
    ("/* x */ EXPLAIN -- y\n ANALYSE INSERT INTO t SELECT 1", "EXPLAIN is allowed here only of a SELECT"),
    ("EXPLAIN (ANALYZE, FORMAT JSON) COPY (SELECT 1) TO '/tmp/tunelake-escape.csv'", "only of a SELECT"),
    ("EXPLAIN CREATE TABLE x AS SELECT 1", "only of a SELECT"),
])
def test_a_rejected_statement_is_400(api: TestClient, query: str, problem: str):
    response = api.post("/sql", json={"query": query})
    assert response.status_code == 400, response.text
    assert problem in response.json()["detail"]


def test_explain_analyze_cannot_write_or_read_files_under_the_working_dir(api: TestClient, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    """DuckDB leaves its temporary folder (``.tmp`` under the working dir) open to file functions even with
    external access off; ``EXPLAIN ANALYZE`` runs what it explains, so this COPY wrote a file there."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "spilled").write_text("rows another query spilled")
    written = api.post("/sql", json={"query": "EXPLAIN ANALYZE COPY (SELECT 'owned') TO '.tmp/f.csv'"})
    assert written.status_code == 400 and "only of a SELECT" in written.json()["detail"]
    assert sorted(p.name for p in (tmp_path / ".tmp").iterdir()) == ["spilled"]
    read = api.post("/sql", json={"query": "SELECT * FROM read_text('.tmp/spilled')"})
    assert read.status_code == 400 and "file system operations are disabled" in read.json()["detail"]
    for query in ("EXPLAIN SELECT 1", "EXPLAIN ANALYZE SELECT 42", "EXPLAIN (FORMAT JSON) SELECT 1",
                  "EXPLAIN (SELECT 1)", "SUMMARIZE SELECT 1 AS a", "FROM range(3)"):
        assert api.post("/sql", json={"query": query}).status_code == 200, query


def test_an_answer_stops_at_the_byte_limit(api: TestClient):
    """Rows of 3 MB: the answer holds those that fit in the default 10 MB and says it was cut."""
    response = api.post("/sql", json={"query": "SELECT i, repeat('x', 3000000) AS s FROM range(5) t(i)"})
    assert response.status_code == 200 and len(response.content) <= 10_000_000 + 1_000
    answer = response.json()
    assert answer["truncated"] and [row[0] for row in answer["rows"]] == [0, 1, 2]
    alone = api.post("/sql", json={"query": "SELECT repeat('x', 11000000)"})
    assert alone.status_code == 400 and "the first row alone is over the 10,000,000 bytes" in alone.json()["detail"]


def test_each_query_has_its_own_memory_and_threads(api: TestClient, make_app: Callable[..., FastAPI]):
    """Not DuckDB's default (most of the machine's memory, every core) and no disk to spill to."""
    settings = api.post("/sql", json={"query": "SELECT current_setting('memory_limit'), current_setting('threads'), "
                                               "current_setting('temp_directory')"}).json()["rows"]
    assert settings == [["512.0 MiB", 2, ""]]
    with TestClient(make_app(sql_memory_mib=64), headers=AUTH) as small:
        response = small.post("/sql", json={"query": "SELECT max(x) FROM (SELECT list(i) AS x FROM range(30000000) t(i))"})
    assert response.status_code == 400
    assert "needs more than the 64 MiB of memory a query may use here" in response.json()["detail"]


def test_the_time_limit_covers_converting_the_answer(make_app: Callable[..., FastAPI]):
    """10,000 rows of 500 columns: DuckDB makes them in a blink, turning them into JSON takes seconds."""
    wide = "SELECT " + ", ".join(f"i % 10 AS c{k}" for k in range(500)) + " FROM range(10000) t(i)"
    with TestClient(make_app(sql_timeout_s=0.3, sql_max_rows=10_000), headers=AUTH) as api:
        response = api.post("/sql", json={"query": wide})
    assert response.status_code == 400 and "stopped after 0.3s" in response.json()["detail"]


def test_a_failing_query_runs_once_while_the_lake_changes(api: TestClient, lake: Lake,
                                                          monkeypatch: pytest.MonkeyPatch):
    """A writer appends all along; the query fails after reading. Only the file listing may be retried."""
    from tunelake.store import query as store_query

    fill(lake)
    opened = []
    real_connect = store_query.connect
    monkeypatch.setattr(store_query, "connect", lambda *a, **k: opened.append(1) or real_connect(*a, **k))
    stop = threading.Event()

    def write() -> None:
        for i in itertools.count():
            if stop.is_set():
                return
            lake.append("trials", [{"experiment_id": SVM, "trial_id": f"w{i}", "status": "running"}])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        response = api.post("/sql", json={"query": "SELECT CASE WHEN n > 0 THEN error('boom') END FROM "
                                                   "(SELECT count(*) AS n FROM trials, range(30000000))"})
    finally:
        stop.set()
        writer.join()
    assert response.status_code == 400 and "boom" in response.json()["detail"]
    assert len(opened) == 1


def test_a_slow_statement_is_stopped_with_400(make_app: Callable[..., FastAPI]):
    with TestClient(make_app(sql_timeout_s=0.2), headers=AUTH) as api:
        response = api.post("/sql", json={"query": "SELECT count(*) FROM range(1000000000000) a, range(1000000000) b"})
    assert response.status_code == 400 and "stopped after 0.2s" in response.json()["detail"]


def test_a_bad_sql_body_is_422(api: TestClient):
    for body in ({}, {"query": 1}, {"query": "SELECT 1 -- " + "x" * 100_000}):
        response = api.post("/sql", json=body)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][:2] == ["body", "query"]


# -- body limits ----------------------------------------------------------------------------------------


def test_bodies_over_the_limit_are_413(api: TestClient, jobs: FakeJobs, tmp_path: Path):
    too_large = {"detail": f"body larger than {BODY_LIMIT} bytes: a spec or a query is a short document; send less"}
    response = api.post("/experiments", content="x" * (BODY_LIMIT + 1))
    assert response.status_code == 413 and response.json() == too_large
    assert api.post("/sql", json={"query": "SELECT 1 -- " + "x" * BODY_LIMIT}).status_code == 413

    def chunks(text: str, size: int = 50_000):  # no Content-Length: the limit is counted as it streams in
        yield from (text[i:i + size].encode() for i in range(0, len(text), size))

    streamed = api.post("/experiments", content=chunks(json.dumps(svm_spec()) + " " * BODY_LIMIT))
    assert streamed.status_code == 413 and streamed.json() == too_large
    assert jobs.specs == {}
    small = api.post("/experiments/validate", content=chunks(json.dumps(svm_spec())))
    assert small.status_code == 200 and small.json()["trials"] == 12  # a streamed body under the limit is read whole

    upload = api.post("/datasets", params={"format": "csv"}, content=b"a\n" + b"1\n" * (UPLOAD_LIMIT // 2))
    assert upload.status_code == 413 and f"upload larger than {UPLOAD_LIMIT} bytes" in upload.json()["detail"]
    assert upload.headers["connection"] == "close"  # the rest of the body is never read
    assert not (tmp_path / "state" / "uploads").exists()


# -- /datasets, /automl, /recommend ----------------------------------------------------------------------


def test_an_upload_is_kept_by_content(api: TestClient, tmp_path: Path):
    data = (DATASETS / "iris.parquet").read_bytes()
    first = api.post("/datasets", params={"format": "parquet"}, content=data)
    assert first.status_code == 201, first.text
    path = tmp_path / "state" / "uploads" / f"{hashlib.sha256(data).hexdigest()[:24]}.parquet"
    assert first.json() == {"uri": str(path), "rows": 150,
                            "columns": ["sepal-length", "sepal-width", "petal-length", "petal-width", "target"]}
    assert path.read_bytes() == data
    assert api.post("/datasets", params={"format": "parquet"}, content=data).json() == first.json()

    csv = ("x,colour,target\n" + "".join(f"{i},{'red' if i % 3 else ''},{i % 2}\n" for i in range(30_000))).encode()
    assert BODY_LIMIT < len(csv) < UPLOAD_LIMIT  # uploads have their own, larger limit
    uploaded = api.post("/datasets", content=csv).json()  # CSV unless told
    assert uploaded["rows"] == 30_000 and uploaded["columns"] == ["x", "colour", "target"]
    assert uploaded["uri"].endswith(".csv") and Path(uploaded["uri"]).read_bytes() == csv


def test_a_bad_upload_is_422_and_leaves_no_file(api: TestClient, tmp_path: Path):
    bad = api.post("/datasets", params={"format": "parquet"}, content=b"\x00\x01 not a table")
    assert bad.status_code == 422 and "could not be read" in bad.json()["detail"]
    empty = api.post("/datasets", params={"format": "csv"}, content=b"")
    assert empty.status_code == 422 and "the body is empty" in empty.json()["detail"]
    other = api.post("/datasets", params={"format": "xlsx"}, content=b"a\n1\n")
    assert other.status_code == 422 and other.json()["detail"][0]["loc"] == ["query", "format"]
    assert list((tmp_path / "state" / "uploads").iterdir()) == []


@pytest.mark.parametrize("csv, body, says", [
    ("a,y\n1,0\n2,1\n3,0\n", {}, "3 of 3 rows have a value"),
    ("a,y\n" + "".join(f"{i},1\n" for i in range(30)), {}, "has the same value (1) in every row"),
    ("a,y\n" + "".join(f"{i},{i / 3}\n" for i in range(30)), {"metric": "f1_macro"},
     "--metric 'f1_macro' does not fit this regression target"),
    ("a,y\n1,0\n", {"target": "nope"}, "column 'nope' is not in"),
])
def test_automl_on_data_it_cannot_learn_from_is_422_and_starts_no_job(api: TestClient, jobs: FakeJobs, csv: str,
                                                                       body: dict, says: str):
    data = api.post("/datasets", content=csv.encode()).json()["uri"]
    response = api.post("/automl", json={"data": data, "target": "y", **body})
    assert response.status_code == 422 and says in response.json()["detail"], response.text
    assert jobs.automl == {}


def test_automl_submits_the_options_it_was_given(api: TestClient, jobs: FakeJobs):
    data = api.post("/datasets", params={"format": "parquet"}, content=(DATASETS / "iris.parquet").read_bytes()
                    ).json()["uri"]
    response = api.post("/automl", json={"data": data, "target": "target", "trials": 4, "time_budget_s": 30,
                                         "metric": "f1_macro", "warm_start": False, "ensemble": True})
    assert response.status_code == 201, response.text
    experiment_id = response.json()["experiment_id"]
    assert response.json()["job_id"] == PREFIX + experiment_id
    assert experiment_id.startswith(f"automl-{Path(data).stem}-") and EXPERIMENT_ID.fullmatch(experiment_id)
    # the job gets the whole AutoML spec, with the schema's defaults filled in (the CLI reads it with --spec)
    assert jobs.automl == {experiment_id: {**AutoMLSpec(data=data, target="target").model_dump(mode="json"),
                                           "trials": 4, "time_budget_s": 30, "metric": "f1_macro",
                                           "warm_start": False, "ensemble": True}}
    assert parse_automl(jobs.automl[experiment_id]).trials == 4
    plain = api.post("/automl", json={"data": "s3://bucket/sales.csv", "target": "y"}).json()["experiment_id"]
    assert plain.startswith("automl-sales-")
    assert jobs.automl[plain] == AutoMLSpec(data="s3://bucket/sales.csv", target="y").model_dump(mode="json")
    assert api.get(f"/experiments/{plain}").json()["status"] == "submitted"

    for bad, field in (({"target": "y"}, "data"), ({"data": "d.csv"}, "target"), ({"data": "d.csv", "target": "y",
                       "trials": 0}, "trials"), ({"data": "d.csv", "target": "y", "time_budget_s": -1}, "time_budget_s"),
                       ({"data": "d.csv", "target": "y", "trails": 3}, "trails")):
        response = api.post("/automl", json=bad)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", field], bad
    assert len(jobs.automl) == 2


def test_recommend_proposes_what_worked_on_the_nearest_data(api: TestClient, lake: Lake,
                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUNELAKE_PRIOR", "none")  # the lake alone: the shipped prior would add its datasets
    request = {"data": str(DATASETS / "haberman.parquet"), "target": "target", "k": 3}
    hedge = active(default_config(DEFAULT_FAMILY))
    assert api.post("/recommend", json=request).json() == {  # nothing learned yet: the robust default alone
        "task": "classification", "data": [{"config": hedge, "predicted": None, "evidence": [{"why": "robust default"}]}]}

    seen = describe(str(DATASETS / "appendicitis.parquet"), "target")
    lake.append("datasets", [{"dataset_id": seen.dataset_id, "name": "appendicitis", "target": "target",
                              "task": seen.task, "meta_features": json.dumps(seen.meta_features),
                              "feature_set": FEATURE_SET}])
    tried = [(default_config("linear"), 0.85), (default_config("knn"), 0.8), (hedge, 0.7)]
    lake.append("trials", [{"experiment_id": "automl-appendicitis", "trial_id": f"t{i}", "status": "completed",
                            "params": json.dumps(config), "value": value, "dataset_id": seen.dataset_id}
                           for i, (config, value) in enumerate(tried)])
    body = api.post("/recommend", json=request).json()
    assert body["task"] == "classification"
    assert [p["config"] for p in body["data"]] == [default_config("linear"), default_config("knn"), hedge]
    (linear, knn, default) = body["data"]
    assert linear["predicted"] > knn["predicted"] > 0 and default["predicted"] is None  # best on the neighbour first
    assert [e["dataset"] for e in linear["evidence"] + knn["evidence"]] == ["appendicitis"] * 2
    assert linear["evidence"][0]["score"] == 0.85 and linear["evidence"][0]["distance"] > 0


def test_recommend_names_the_bad_field(api: TestClient):
    missing = api.post("/recommend", json={"data": "/no/such.csv", "target": "y"})
    assert missing.status_code == 422 and "data: '/no/such.csv' is not a file" in missing.json()["detail"]
    wrong = api.post("/recommend", json={"data": str(DATASETS / "haberman.parquet"), "target": "nope"})
    assert wrong.status_code == 422 and "--target: column 'nope' is not in haberman.parquet" in wrong.json()["detail"]
    few = api.post("/recommend", json={"data": str(DATASETS / "haberman.parquet"), "target": "target", "k": 0})
    assert few.status_code == 422 and few.json()["detail"][0]["loc"] == ["body", "k"]
