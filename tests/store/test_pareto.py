"""The Pareto front of a multi-objective experiment, from the lake."""

from __future__ import annotations

import json
from pathlib import Path

from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.schema import EXPERIMENTS, TRIALS


def trial(tid: str, acc: float | None, lat: float | None, status: str = "completed") -> dict:
    metrics = {k: v for k, v in (("accuracy", acc), ("latency_ms", lat)) if v is not None}
    return {"experiment_id": "e", "trial_id": tid, "status": status, "params": "{}", "value": acc,
            "metrics": json.dumps(metrics)}


def test_the_front_keeps_the_trials_nothing_beats_on_every_metric(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    objectives = [{"metric": "accuracy", "mode": "max"}, {"metric": "latency_ms", "mode": "min"}]
    lake.append(EXPERIMENTS, [{"experiment_id": "e", "status": "completed", "primary_metric": "accuracy",
                               "mode": "max", "objectives": json.dumps(objectives)}])
    lake.append(TRIALS, [
        trial("fast", 0.80, 5.0),     # front: the fastest
        trial("best", 0.95, 40.0),    # front: the most accurate
        trial("mid", 0.90, 20.0),     # front
        trial("worse", 0.85, 25.0),   # beaten by mid on both
        trial("tie", 0.90, 20.0),     # equal to mid: neither beats the other
        trial("slow", 0.80, 6.0),     # beaten by fast (same accuracy, slower)
        trial("lost", 0.99, 1.0, status="failed"),
        trial("half", 0.99, None),    # no latency: not comparable
    ])
    front = catalog.pareto_front(lake, "e")
    assert [r["trial_id"] for r in front] == ["best", "mid", "tie", "fast"]
    assert front[0]["objectives"] == [0.95, 40.0]
    assert catalog.pareto_front(lake, "nope") == []


def test_one_metric_the_front_is_the_best_trial(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    lake.append(EXPERIMENTS, [{"experiment_id": "e", "status": "completed", "primary_metric": "latency_ms",
                               "mode": "min"}])  # a row without objectives (written before the column)
    lake.append(TRIALS, [trial("a", 0.9, 3.0), trial("b", 0.8, 2.0)])
    assert [r["trial_id"] for r in catalog.pareto_front(lake, "e")] == ["b"]
