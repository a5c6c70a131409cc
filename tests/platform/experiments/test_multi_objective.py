"""Several metrics at once: Optuna's multi-objective samplers through Ray Tune, every objective in the lake."""

from __future__ import annotations

import json

import pytest

import tunelake
from tests.conftest import write_repo
from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow

# accuracy peaks at x=0.7; latency grows with x: the two pull apart, so the front has several trials
TRADE = """\
    awk -v x="$1" -v y="$2" 'BEGIN { printf "accuracy=%.6f latency_ms=%.6f\\n",
                                         1 - (x - 0.7) ^ 2 - y / 10, 10 * x + y }'
    """


@pytest.mark.parametrize("algorithm", ["tpe", "nsga2"])
def test_two_metrics_are_searched_and_the_front_comes_from_the_lake(ray_cluster, lake_uri, tmp_path, algorithm):
    repo = write_repo(tmp_path / "repo", {"trade.sh": TRADE})
    doc = {"code_github": str(repo), "command": "sh trade.sh {x} {y}",
           "primary_result_key": ["accuracy", "latency_ms"], "mode": ["max", "min"],
           "search": {"x": {"type": "uniform", "low": 0, "high": 1}, "y": {"type": "uniform", "low": 0, "high": 1}},
           "optimizer": {"algorithm": algorithm, "num_samples": 12, "seed": 0, "max_concurrent_trials": 2}}
    result = tunelake.run(doc, lake=lake_uri)
    lake = Lake(lake_uri)
    (exp,) = query(lake, "SELECT * FROM experiments").to_pylist()
    assert exp["status"] == "completed" and exp["primary_metric"] == "accuracy" and exp["mode"] == "max"
    assert json.loads(exp["objectives"]) == [{"metric": "accuracy", "mode": "max"},
                                             {"metric": "latency_ms", "mode": "min"}]
    trials = query(lake, "SELECT * FROM trials").to_pylist()
    assert len(trials) == 12 and all(t["status"] == "completed" for t in trials)
    for t in trials:
        metrics = json.loads(t["metrics"])
        assert set(metrics) == {"accuracy", "latency_ms"} and t["value"] == metrics["accuracy"]
    front = catalog.pareto_front(lake, result.experiment_id)
    assert front
    points = [(json.loads(t["metrics"])["accuracy"], json.loads(t["metrics"])["latency_ms"]) for t in trials]
    for row in front:
        acc, lat = row["objectives"]
        assert not any(a >= acc and b <= lat and (a > acc or b < lat) for a, b in points)
    off = [p for p in points if p not in {tuple(r["objectives"]) for r in front}]
    for acc, lat in off:  # everything off the front is beaten by a trial on it
        assert any(a >= acc and b <= lat and (a > acc or b < lat) for a, b in (tuple(r["objectives"]) for r in front))


def test_a_trial_missing_one_metric_fails_and_the_search_goes_on(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"one.sh": 'echo "accuracy=$1"\n[ "$1" = 2 ] && echo "latency_ms=3"; true\n'})
    doc = {"code_github": str(repo), "command": "sh one.sh {x}", "primary_result_key": ["accuracy", "latency_ms"],
           "mode": ["max", "min"], "search": {"x": {"type": "grid", "values": [1, 2]}},
           "optimizer": {"algorithm": "random"}}
    tunelake.run(doc, lake=lake_uri)
    got = {json.loads(t["params"])["x"]: t for t in query(Lake(lake_uri), "SELECT * FROM trials").to_pylist()}
    assert got[2]["status"] == "completed"
    assert got[1]["status"] == "failed" and "'latency_ms'" in got[1]["reason"]


def test_the_run_summary_shows_the_front(ray_cluster, lake_uri, tmp_path, capsys):
    from tunelake.platform.cli.main import main

    repo = write_repo(tmp_path / "repo", {"trade.sh": TRADE})
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({
        "code_github": str(repo), "command": "sh trade.sh {x} {y}", "primary_result_key": ["accuracy", "latency_ms"],
        "mode": ["max", "min"], "search": {"x": {"type": "grid", "values": [0.1, 0.7, 0.9]}, "y": 0},
        "optimizer": {"algorithm": "grid"}}))
    assert main(["run", str(spec), "--lake", lake_uri, "--quiet"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("pareto"))
    # x=0.9 is slower and less accurate than x=0.7: off the front
    assert line.startswith("pareto      2 trials on the front of accuracy (max), latency_ms (min): ")
    assert "accuracy=1, latency_ms=7" in line and "latency_ms=1" in line and "latency_ms=9" not in line
