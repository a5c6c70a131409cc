"""Every route over real HTTP, auth failures, and the SQL sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import DATASETS, EXAMPLES
from tests.platform.service.conftest import TOKEN

pytestmark = pytest.mark.slow


def svm_spec(samples: int = 4) -> dict:
    spec = json.loads((EXAMPLES / "svm" / "experiment.json").read_text())
    spec["code_github"] = str(EXAMPLES / "svm")
    spec["optimizer"].update(num_samples=samples, scheduler="fifo")
    return spec


def wait_done(client: httpx.Client, experiment_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/experiments/{experiment_id}").json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(1)
    raise AssertionError(f"experiment {experiment_id} did not finish: {body}")


def test_health_needs_no_token(service):
    url, _ = service
    assert httpx.get(f"{url}/health").json()["status"] == "ok"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": TOKEN}])
def test_routes_refuse_missing_or_wrong_tokens(service, headers):
    url, _ = service
    for method, path in [("GET", "/experiments"), ("GET", "/experiments/x"), ("POST", "/sql"),
                         ("POST", "/experiments"), ("GET", "/experiments/x/trials")]:
        response = httpx.request(method, f"{url}{path}", headers=headers, json={"query": "SELECT 1"})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


def test_bad_spec_is_422_with_field_paths(client):
    response = client.post("/experiments", json={"code_github": ".", "command": "run {C}",
                                                 "primary_result_key": "acc",
                                                 "search": {"C": {"type": "uniform", "low": 3, "high": 1}}})
    assert response.status_code == 422
    assert response.json()["detail"] == ["search.C: low must be below high (3 >= 1); swap them or widen the range"]
    yaml_ok = client.post("/experiments/validate", content="code_github: .\ncommand: run {x}\nprimary_result_key: a\n"
                          "search:\n  x: [1, 2]\n", headers={"Content-Type": "application/yaml"})
    assert yaml_ok.status_code == 200 and yaml_ok.json()["trials"] == 10
    assert client.post("/experiments", content=b"\xff\xfe").status_code == 422
    assert client.post("/experiments", content="{not json").status_code == 422


def test_ids_are_validated_and_unknown_ids_are_404(client):
    for bad in ["no-such-experiment", "..%2F..%2Fetc", "a" * 300, "x;rm"]:
        assert client.get(f"/experiments/{bad}").status_code == 404, bad
        assert client.get(f"/experiments/{bad}/trials").status_code == 404, bad
    assert client.get("/experiments/no-such/logs").status_code == 404
    assert client.post("/experiments/no-such/stop").status_code == 404


def test_oversized_body_is_413(client):
    assert client.post("/experiments", content="x" * 2_000_000).status_code == 413
    assert client.post("/sql", json={"query": "SELECT 1 -- " + "x" * 1_100_000}).status_code == 413


def test_submit_follow_and_query_an_experiment(client, service):
    response = client.post("/experiments", json=svm_spec())
    assert response.status_code == 201, response.text
    experiment_id = response.json()["experiment_id"]
    assert response.json()["job_id"] == f"tunelake-{experiment_id}"
    listed = client.get("/experiments").json()
    assert experiment_id in [e["experiment_id"] for e in listed["data"]]
    done = wait_done(client, experiment_id)
    assert done["status"] == "completed" and done["counts"] == {"completed": 4}
    assert done["job_status"] in ("SUCCEEDED", "RUNNING") and set(done["params"]) == {"C", "kernel"}
    trials = client.get(f"/experiments/{experiment_id}/trials", params={"sort": "value", "order": "desc"}).json()
    assert trials["count"] == 4
    values = [t["value"] for t in trials["data"]]
    assert values == sorted(values, reverse=True) and values[0] == done["best_value"]
    page = client.get(f"/experiments/{experiment_id}/trials", params={"limit": 2, "offset": 1}).json()
    assert page["count"] == 4 and len(page["data"]) == 2
    assert experiment_id in client.get(f"/experiments/{experiment_id}/logs").text
    sql = client.post("/sql", json={"query": "SELECT status, count(*) AS n FROM trials WHERE experiment_id = "
                                             f"'{experiment_id}' GROUP BY 1"}).json()
    assert sql == {"columns": ["status", "n"], "rows": [["completed", 4]], "truncated": False}
    deadline = time.monotonic() + 60  # the lake says completed a moment before the job's driver exits
    while client.get(f"/experiments/{experiment_id}").json()["job_status"] != "SUCCEEDED":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert client.post(f"/experiments/{experiment_id}/stop").json() == {"stopped": False}


def test_stop_a_running_experiment(client):
    spec = svm_spec(samples=40)
    spec["optimizer"]["max_concurrent_trials"] = 1
    experiment_id = client.post("/experiments", json=spec).json()["experiment_id"]
    deadline = time.monotonic() + 120
    while not client.get(f"/experiments/{experiment_id}/trials").json().get("data"):  # the driver is in the lake
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert client.post(f"/experiments/{experiment_id}/stop").json() == {"stopped": True}
    deadline = time.monotonic() + 60
    while client.get(f"/experiments/{experiment_id}").json()["job_status"] not in ("STOPPED", "FAILED"):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    # the driver heard SIGTERM and wrote how it ended, trials included
    exp = client.get(f"/experiments/{experiment_id}").json()
    assert exp["status"] == "stopped", exp
    trials = client.get(f"/experiments/{experiment_id}/trials").json()["data"]
    assert all(t["status"] != "running" for t in trials), trials


@pytest.mark.parametrize("query", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "COPY (SELECT 1) TO '/tmp/tunelake-escape.csv'",
    "ATTACH '/tmp/tunelake-escape.db'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SELECT 1; SELECT 2",
    "CREATE TABLE x AS SELECT 1",
    "SELECT count(*) FROM range(1000000000000) a, range(1000000000) b",
])
def test_sql_sandbox_refuses_escapes(client, query):
    response = client.post("/sql", json={"query": query})
    assert response.status_code == 400, response.text
    assert "detail" in response.json()


def test_sql_reads_and_caps_rows(client):
    response = client.post("/sql", json={"query": "SELECT * FROM range(20000)"}).json()
    assert response["truncated"] and len(response["rows"]) == 10_000
    assert client.post("/sql", json={"query": "DESCRIBE trials"}).json()["rows"][0][0] == "experiment_id"


def test_openapi_documents_the_spec(service):
    url, _ = service
    doc = httpx.get(f"{url}/openapi.json").json()
    body = doc["paths"]["/experiments"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "primary_result_key" in json.dumps(body)
    assert {"/experiments", "/experiments/{experiment_id}", "/experiments/{experiment_id}/trials",
            "/experiments/{experiment_id}/logs", "/experiments/{experiment_id}/stop", "/sql", "/health"} <= set(doc["paths"])


def test_serve_refuses_a_public_bind_without_a_token():
    done = subprocess.run([sys.executable, "-m", "tunelake", "serve", "--host", "0.0.0.0", "--address", "x"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2 and "TUNELAKE_API_TOKEN" in done.stderr


def test_automl_and_recommend_through_the_api(client):
    uploaded = client.post("/datasets", params={"format": "parquet"},
                           content=(DATASETS / "iris.parquet").read_bytes()).json()
    assert uploaded["rows"] == 150 and "target" in uploaded["columns"]
    bad = client.post("/datasets", params={"format": "parquet"}, content=b"\x00\x01 not a table")
    assert bad.status_code == 422 and "could not be read" in bad.json()["detail"]
    data = uploaded["uri"]
    response = client.post("/automl", json={"data": data, "target": "target", "trials": 4, "warm_start": False,
                                            "ensemble": True})
    assert response.status_code == 201, response.text
    done = wait_done(client, response.json()["experiment_id"])
    # ASHA may stop a configuration after its first fold; every one of the 4 is recorded either way
    assert done["status"] == "completed" and done["primary_metric"] == "accuracy"
    assert sum(done["counts"].values()) == 4 and set(done["counts"]) <= {"completed", "stopped"}
    assert done["counts"]["completed"] >= 1
    # "ensemble": true reached the job, and its final model is made of the search's finished trials
    spec = client.post("/sql", json={"query": "SELECT spec FROM experiments WHERE experiment_id = "
                                              f"'{done['experiment_id']}' AND status = 'completed'"}).json()
    assert json.loads(spec["rows"][0][0])["automl"]["ensemble"] is True
    trials = client.get(f"/experiments/{done['experiment_id']}/trials").json()["data"]
    (stored,) = [t for t in trials if t["model_uri"]]
    members = json.loads(Path(stored["model_uri"], "members.json").read_text())
    assert {m["trial_id"] for m in members} <= {t["trial_id"] for t in trials if t["status"] == "completed"}
    proposals = client.post("/recommend", json={"data": str(DATASETS / "wine_recognition.parquet"),
                                                "target": "target", "k": 3}).json()
    assert proposals["task"] == "classification"
    assert 1 <= len(proposals["data"]) <= 3 and all("family" in p["config"] for p in proposals["data"])
    bad = client.post("/recommend", json={"data": "/no/such.csv", "target": "y"})
    assert bad.status_code == 422 and "not a file" in bad.json()["detail"]


def test_secrets_stay_out_of_the_lake_the_logs_and_the_responses(client, service, tmp_path):
    """A trial prints every secret it can reach; none of them is stored or served."""
    from tests.conftest import AWS_SECRET, write_repo
    from tunelake.store.lake import Lake
    from tunelake.store.query import query

    repo = write_repo(tmp_path / "repo", {"leak.sh": """\
        echo "token=[$TUNELAKE_API_TOKEN] aws=$AWS_SECRET_ACCESS_KEY" >&2
        env >&2
        echo "pushing to https://bob:hunter2hunter2@example.com/x" >&2
        [ "$1" = 1 ] && echo score=1 || exit 3
        """})
    spec = {"code_github": str(repo), "command": "sh leak.sh {x}", "primary_result_key": "score",
            "search": {"x": {"type": "grid", "values": [0, 1]}}, "optimizer": {"algorithm": "grid"}}
    experiment_id = client.post("/experiments", json=spec).json()["experiment_id"]
    assert wait_done(client, experiment_id)["counts"] == {"completed": 1, "failed": 1}
    served = [client.get(f"/experiments/{experiment_id}").text, client.get("/experiments").text,
              client.get(f"/experiments/{experiment_id}/trials").text, client.get(f"/experiments/{experiment_id}/logs").text]
    for table in ("experiments", "trials", "results", "trials_log"):
        served.append(client.post("/sql", json={"query": f"SELECT * FROM {table}"}).text)
    lake = Lake(str(service[1]))
    stored = [json.dumps(query(lake, f"SELECT * FROM {t}").to_pylist(), default=str)
              for t in ("experiments", "trials_log", "results", "datasets")]
    for text in served + stored:
        for secret in (TOKEN, AWS_SECRET, "hunter2hunter2"):
            assert secret not in text
    ((tail,),) = client.post("/sql", json={"query": "SELECT stderr_tail FROM trials WHERE status = 'failed' AND "
                                                      f"experiment_id = '{experiment_id}'"}).json()["rows"]
    assert "token=[] aws=***" in tail  # the trial saw the AWS key; the lake got a mask
    assert "https://***@example.com/x" in tail
