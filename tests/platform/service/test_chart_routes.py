"""The routes behind the page's charts, in process over a lake under tmp_path (see ``test_routes.py``): history,
map, importance, curves, a trial's detail, trial pages that sort and filter, compare, leaderboard, the list."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.platform.service.test_routes import (  # noqa: F401  (fixtures)
    EMPTY, OLD, SVM, T0, api, app, fill, jobs, lake, make_app, svm_spec,
)
from tunelake.store.lake import Lake

ASHA = "asha-20250104-000000-0000"
KERNELS = ["rbf", "linear", "poly", "rbf", "linear", "poly", "rbf", "linear", "poly", "rbf", "linear", "poly"]


def fill_asha(lake: Lake, n: int = 12) -> None:
    """An ASHA search: the kernel decides the accuracy, C hardly; every third trial stopped, the fifth failed."""
    lake.append("experiments", [{"experiment_id": ASHA, "name": "asha", "status": "completed",
                                 "primary_metric": "accuracy", "mode": "max", "spec": json.dumps(svm_spec()),
                                 "created_at": T0 + timedelta(days=3), "finished_at": T0 + timedelta(days=3, hours=1)}])
    trials, results = [], []
    for i in range(n):
        kernel, c = KERNELS[i], 10.0 ** (i % 5 - 2)
        value = {"rbf": 0.9, "linear": 0.7, "poly": 0.5}[kernel] + 0.001 * i
        status = "failed" if i == 4 else "stopped" if i % 3 == 2 else "completed"
        trials.append({"experiment_id": ASHA, "trial_id": f"a{i:02d}", "status": status,
                       "params": json.dumps({"C": c, "kernel": kernel}), "value": None if status == "failed" else value,
                       "metrics": json.dumps({"accuracy": value, "loss": 1 - value}), "iterations": 3,
                       "started_at": T0 + timedelta(seconds=i), "finished_at": T0 + timedelta(seconds=60 - i),
                       "duration_s": 60.0 - 2 * i, "node": f"n{i % 2}",
                       "reason": "exited with code 1" if status == "failed" else None,
                       "stderr_tail": "Traceback: boom" if status == "failed" else None})
        steps = 1 if status == "stopped" else 3
        results += [{"experiment_id": ASHA, "trial_id": f"a{i:02d}", "step": s + 1, "value": value - 0.1 * (2 - s)}
                    for s in range(steps)]
    lake.append("trials", trials)
    lake.append("results", results)


def test_history_is_every_trial_in_start_order_with_the_best_completed_so_far(api: TestClient, lake: Lake):
    fill_asha(lake)
    body = api.get(f"/experiments/{ASHA}/history").json()
    assert (body["metric"], body["mode"]) == ("accuracy", "max")
    assert body["params"] == [
        {"name": "C", "scale": "log", "low": 0.001, "high": 1000.0, "categories": [], "integer": False},
        {"name": "kernel", "scale": "category", "low": None, "high": None,
         "categories": ["rbf", "linear", "poly", "sigmoid"], "integer": False}]
    points = body["data"]
    assert [p["trial_id"] for p in points] == [f"a{i:02d}" for i in range(12)]
    assert [p["status"] for p in points][:6] == ["completed", "completed", "stopped", "completed", "failed", "stopped"]
    assert points[2]["value"] == pytest.approx(0.502) and points[4]["value"] is None  # stopped kept, failed empty
    assert points[0]["best"] == pytest.approx(0.9) and points[9]["best"] == pytest.approx(0.909)
    assert points[2]["best"] == pytest.approx(0.9)  # a stopped trial never moves the best
    assert api.get("/experiments/no-such-0/history").status_code == 404


def test_the_map_has_log_and_category_axes_and_the_stopped_trials(api: TestClient, lake: Lake):
    fill_asha(lake)
    body = api.get(f"/experiments/{ASHA}/map", params={"x": "C", "y": "kernel"}).json()
    assert body["x"]["scale"] == "log" and body["y"]["categories"] == ["rbf", "linear", "poly", "sigmoid"]
    by_id = {p["trial_id"]: p for p in body["data"]}
    assert len(by_id) == 11 and "a04" not in by_id  # every trial with a value; the failed one has none
    assert by_id["a02"] == {"trial_id": "a02", "status": "stopped", "x": 1.0, "y": "poly", "value": 0.502}
    bad = api.get(f"/experiments/{ASHA}/map", params={"x": "gamma", "y": "kernel"})
    assert bad.status_code == 422 and "its parameters: C, kernel" in bad.json()["detail"]
    assert api.get(f"/experiments/{ASHA}/map", params={"x": "C"}).status_code == 422


@pytest.mark.parametrize("evaluator", ["fanova", "ped_anova", "mdi"])
def test_importance_finds_the_parameter_that_decides_the_metric(api: TestClient, lake: Lake, evaluator: str):
    fill_asha(lake)
    body = api.get(f"/experiments/{ASHA}/importance", params={"evaluator": evaluator}).json()
    assert body["evaluator"] == evaluator and body["trials"] == 7 and body["note"] is None
    assert {d["param"] for d in body["data"]} == {"kernel", "C"}
    if evaluator != "ped_anova":  # PED-ANOVA compares the top 10% with the rest: 7 trials are too few to rank
        assert [d["param"] for d in body["data"]] == ["kernel", "C"]
    assert sum(d["importance"] for d in body["data"]) == pytest.approx(1.0)


def test_importance_without_enough_trials_says_why(api: TestClient, lake: Lake):
    fill_asha(lake, n=1)
    body = api.get(f"/experiments/{ASHA}/importance").json()
    assert body["data"] == [] and "at least 2 completed trials" in body["note"]
    assert api.get(f"/experiments/{ASHA}/importance", params={"evaluator": "shap"}).status_code == 422


def test_trials_filter_sort_by_a_param_or_metric_and_page_in_the_lake(api: TestClient, lake: Lake):
    fill_asha(lake)
    page = api.get(f"/experiments/{ASHA}/trials", params={"status": ["stopped", "failed"], "sort": "trial_id"}).json()
    assert page["count"] == 5 and [t["trial_id"] for t in page["data"]] == ["a02", "a04", "a05", "a08", "a11"]
    by_c = api.get(f"/experiments/{ASHA}/trials", params={"sort": "param.C", "order": "desc", "limit": 3}).json()
    assert by_c["count"] == 12 and [t["params"]["C"] for t in by_c["data"]] == [100.0, 100.0, 10.0]
    by_loss = api.get(f"/experiments/{ASHA}/trials", params={"sort": "metric.loss", "limit": 2}).json()["data"]
    assert [t["trial_id"] for t in by_loss] == ["a09", "a06"]
    found = api.get(f"/experiments/{ASHA}/trials", params={"q": "LINEAR", "offset": 1, "limit": 2}).json()
    assert found["count"] == 4 and [t["trial_id"] for t in found["data"]] == ["a07", "a04"]  # by finished_at
    past = api.get(f"/experiments/{ASHA}/trials", params={"q": "linear", "offset": 10}).json()
    assert past == {"data": [], "count": 4}
    assert api.get(f"/experiments/{ASHA}/trials", params={"q": "100%"}).json()["count"] == 0  # % is literal
    assert api.get(f"/experiments/{ASHA}/trials", params={"q": "a1_"}).json()["count"] == 0  # so is _
    lake.append("trials", [{"experiment_id": ASHA, "trial_id": "x_1", "status": "running"}])
    assert [t["trial_id"] for t in api.get(f"/experiments/{ASHA}/trials", params={"q": "x_1"}).json()["data"]] == [
        "x_1"]
    assert api.get(f"/experiments/{ASHA}/trials", params={"q": "with code"}).json()["count"] == 1  # the reason
    for bad, says in (({"sort": "param.x'; DROP"}, "not a parameter"), ({"sort": "params"}, "sort must be one of"),
                      ({"status": "done"}, None)):
        response = api.get(f"/experiments/{ASHA}/trials", params=bad)
        assert response.status_code == 422 and (says is None or says in response.json()["detail"]), bad


def test_a_trials_detail_holds_its_stderr_and_its_learning_curve(api: TestClient, lake: Lake):
    fill_asha(lake)
    failed = api.get(f"/experiments/{ASHA}/trials/a04").json()
    assert (failed["status"], failed["reason"], failed["stderr_tail"]) == ("failed", "exited with code 1",
                                                                           "Traceback: boom")
    done = api.get(f"/experiments/{ASHA}/trials/a00").json()
    assert done["curve"] == [[1, pytest.approx(0.7)], [2, pytest.approx(0.8)], [3, pytest.approx(0.9)]]
    assert done["node"] == "n0" and done["params"] == {"C": 0.01, "kernel": "rbf"}
    missing = api.get(f"/experiments/{ASHA}/trials/nope")
    assert missing.status_code == 404 and "no trial 'nope'" in missing.json()["detail"]


def test_curves_show_where_the_scheduler_stopped_a_trial(api: TestClient, lake: Lake):
    fill_asha(lake)
    chosen = api.get(f"/experiments/{ASHA}/curves", params={"trial": ["a00", "a02"]}).json()
    assert [(c["trial_id"], c["status"], len(c["points"])) for c in chosen["data"]] == [
        ("a00", "completed", 3), ("a02", "stopped", 1)]
    first = api.get(f"/experiments/{ASHA}/curves", params={"limit": 2}).json()["data"]
    assert [c["trial_id"] for c in first] == ["a00", "a01"]  # the most reports, then by id


def test_compare_puts_two_to_five_experiments_side_by_side(api: TestClient, lake: Lake):
    fill(lake)
    fill_asha(lake)
    body = api.get("/compare", params={"ids": [SVM, ASHA]}).json()["data"]
    assert [(e["experiment_id"], e["best_trial_id"], len(e["data"])) for e in body] == [(SVM, "t2", 3),
                                                                                      (ASHA, "a09", 12)]
    assert body[0]["best_params"] == {"C": 10.0, "kernel": "rbf"} and body[0]["data"][1]["best"] == 0.9
    for ids in ([SVM], [SVM, SVM], [SVM, ASHA, OLD, EMPTY, "a-0", "b-0"]):
        assert api.get("/compare", params={"ids": ids}).status_code == 422, ids
    assert api.get("/compare", params={"ids": [SVM, "no-such-0"]}).status_code == 404


def test_the_leaderboard_ranks_an_automl_experiments_families(api: TestClient, lake: Lake):
    auto = "automl-iris-20250105-000000-0000"
    lake.append("experiments", [{"experiment_id": auto, "status": "completed", "primary_metric": "accuracy",
                                 "mode": "max", "created_at": T0}])
    lake.append("trials", [
        {"experiment_id": auto, "trial_id": "f1", "status": "completed", "value": 0.8,
         "params": json.dumps({"family": "rf", "rf.n": 10})},
        {"experiment_id": auto, "trial_id": "f2", "status": "completed", "value": 0.95, "iterations": 5,
         "params": json.dumps({"family": "rf", "rf.n": 50})},
        {"experiment_id": auto, "trial_id": "f3", "status": "failed", "params": json.dumps({"family": "knn"})},
        {"experiment_id": auto, "trial_id": "f4", "status": "completed", "value": 0.9,
         "params": json.dumps({"family": "lr"})}])
    body = api.get(f"/experiments/{auto}/leaderboard").json()
    assert [(f["family"], f["trials"], f["completed"], f["best"], f["best_trial_id"]) for f in body["data"]] == [
        ("rf", 2, 2, 0.95, "f2"), ("lr", 1, 1, 0.9, "f4"), ("knn", 1, 0, None, None)]
    assert body["data"][0]["best_params"] == {"family": "rf", "rf.n": 50} and body["data"][0]["best_folds"] == 5


def test_the_list_searches_and_sorts(api: TestClient, lake: Lake):
    fill(lake)
    fill_asha(lake)
    found = api.get("/experiments", params={"q": "SVM"}).json()
    assert [e["experiment_id"] for e in found["data"]] == [SVM] and found["count"] == 1
    by_best = api.get("/experiments", params={"sort": "best_value", "order": "desc"}).json()["data"]
    assert [e["experiment_id"] for e in by_best][:1] == [SVM]  # then those without a best value
    by_time = api.get("/experiments", params={"sort": "duration_s", "order": "asc"}).json()["data"]
    assert [(e["experiment_id"], e["duration_s"]) for e in by_time][:2] == [(SVM, 300.0), (ASHA, 3600.0)]
    assert api.get("/experiments", params={"sort": "spec"}).status_code == 422


def automl_run(lake: Lake, experiment_id: str, dataset_id: str, warm: bool, values: list[float | None],
               proposals: list[dict] | None = None, params: list[dict] | None = None) -> None:
    lake.append("experiments", [{"experiment_id": experiment_id, "status": "completed", "command": "tunelake automl",
                                 "dataset_id": dataset_id, "primary_metric": "accuracy", "mode": "max",
                                 "created_at": T0, "spec": json.dumps({"automl": {"warm_start": warm,
                                                                                  "proposals": proposals or []}})}])
    lake.append("trials", [{"experiment_id": experiment_id, "trial_id": f"{experiment_id}-{i}",
                            "status": "failed" if v is None else "completed", "value": v,
                            "params": json.dumps((params or [{}] * len(values))[i]),
                            "started_at": T0 + timedelta(seconds=i)} for i, v in enumerate(values)])


def test_proposals_show_which_trial_ran_each(api: TestClient, lake: Lake):
    from tunelake.metalearn.zoo import DEFAULT_FAMILY, active, default_config

    proposed = active(default_config(DEFAULT_FAMILY))
    automl_run(lake, "automl-x-0", "d1", True, [0.8, 0.7], proposals=[proposed, {"family": "no-such-family"}],
               params=[{"family": "other"}, default_config(DEFAULT_FAMILY)])
    body = api.get("/experiments/automl-x-0/proposals").json()
    assert (body["automl"], body["warm_start"]) == (True, True)
    assert [(p["trial_id"], p["value"]) for p in body["data"]] == [("automl-x-0-1", 0.7), (None, None)]
    assert body["data"][0]["config"] == proposed and body["data"][0]["evidence"] == []  # no such dataset
    fill(lake)
    assert api.get(f"/experiments/{SVM}/proposals").json() == {"experiment_id": SVM, "automl": False,
                                                               "warm_start": False, "data": []}


def test_regret_compares_warm_and_cold_runs_on_the_same_datasets(api: TestClient, lake: Lake):
    assert api.get("/warmstart/regret").json() == {"datasets": [], "warm": [], "cold": []}
    automl_run(lake, "warm-a-0", "d1", True, [0.9, 0.8])
    automl_run(lake, "cold-a-0", "d1", False, [0.5, 0.9, 0.7])
    automl_run(lake, "warm-b-0", "d2", True, [0.3])  # no cold run on d2: not compared
    automl_run(lake, "warm-c-0", "d3", True, [None, 0.6])
    automl_run(lake, "cold-c-0", "d3", False, [0.2, 0.4])
    body = api.get("/warmstart/regret").json()
    assert [(d["dataset_id"], d["warm"], d["cold"]) for d in body["datasets"]] == [
        ("d1", ["warm-a-0"], ["cold-a-0"]), ("d3", ["warm-c-0"], ["cold-c-0"])]
    # d1: best 0.9, worst 0.5; d3: best 0.6, worst 0.2 (a trial without a value is the worst: regret 1)
    assert body["warm"] == pytest.approx([(0 + 1) / 2, 0, 0])
    assert body["cold"] == pytest.approx([(1 + 1) / 2, (0 + 0.5) / 2, (0 + 0.5) / 2])


def test_proposals_carry_the_evidence_behind_them(api: TestClient, lake: Lake, monkeypatch: pytest.MonkeyPatch):
    from tests.conftest import DATASETS
    from tunelake.metalearn.dataset import describe
    from tunelake.metalearn.features import FEATURE_SET
    from tunelake.metalearn.zoo import DEFAULT_FAMILY, active, default_config

    monkeypatch.setenv("TUNELAKE_PRIOR", "none")  # the lake alone
    rows = []
    for name in ("appendicitis", "haberman"):
        seen = describe(str(DATASETS / f"{name}.parquet"), "target")
        rows.append({"dataset_id": seen.dataset_id, "name": name, "target": "target", "task": seen.task,
                     "meta_features": json.dumps(seen.meta_features), "feature_set": FEATURE_SET})
    lake.append("datasets", rows)
    appendicitis, haberman = rows[0]["dataset_id"], rows[1]["dataset_id"]
    lake.append("trials", [{"experiment_id": "automl-appendicitis", "trial_id": "t0", "status": "completed",
                            "params": json.dumps(default_config("linear")), "value": 0.85,
                            "dataset_id": appendicitis}])
    hedge = active(default_config(DEFAULT_FAMILY))
    proposed = [default_config("linear"), hedge]  # as recommend makes them
    automl_run(lake, "automl-haberman-0", haberman, True, [0.7, 0.75], proposals=proposed,
               params=[default_config("linear"), default_config(DEFAULT_FAMILY)])
    body = api.get("/experiments/automl-haberman-0/proposals").json()["data"]
    assert [(p["trial_id"], p["value"]) for p in body] == [("automl-haberman-0-0", 0.7), ("automl-haberman-0-1", 0.75)]
    assert [e["dataset"] for e in body[0]["evidence"]] == ["appendicitis"] and body[0]["predicted"] > 0
    assert body[1]["evidence"] == [{"why": "robust default"}]


def test_the_heat_map_keeps_the_best_value_per_cell_on_log_spaced_cells(api: TestClient, lake: Lake):
    fill_asha(lake)
    four = api.get(f"/experiments/{ASHA}/map", params={"x": "C", "y": "kernel", "bins": 4}).json()["grid"]
    assert four["x"] == pytest.approx([1e-3, 10 ** -1.5, 1.0, 10 ** 1.5, 1e3])  # equal factors on a log axis
    body = api.get(f"/experiments/{ASHA}/map", params={"x": "C", "y": "kernel", "bins": 2}).json()
    grid = body["grid"]
    assert grid["x"] == pytest.approx([1e-3, 1.0, 1e3]) and grid["y"] == ["rbf", "linear", "poly", "sigmoid"]
    cells = {(c[0], c[1]): c[2:] for c in grid["cells"]}
    # rbf with C = 0.01 (a00, 0.9) and C = 0.1 (a06, 0.906) share the first cell: the best is kept, both counted
    assert cells[(0, 0)] == [pytest.approx(0.906), 2]
    assert cells[(1, 0)] == [pytest.approx(0.909), 2]  # C = 10 (a03) and C = 100 (a09)
    assert cells[(1, 1)] == [pytest.approx(0.707), 1]  # C = 1 is the upper cell's lower bound
    assert sum(c[3] for c in grid["cells"]) == len(body["data"]) == 11
    assert api.get(f"/experiments/{ASHA}/map", params={"x": "C", "y": "kernel"}).json()["grid"] is None
    assert api.get(f"/experiments/{ASHA}/map", params={"x": "C", "y": "kernel", "bins": 51}).status_code == 422
