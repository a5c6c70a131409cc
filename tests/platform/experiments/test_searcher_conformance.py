"""Every searcher that installs here, on the same small problem: each must beat random search.

The problem is a 2-d bowl (best at x=0.3, y=0.7) computed by awk, so a trial
costs a shell and no Python start. A learning searcher's last third of trials
must score better on average than random search's trials; QMC does not learn
(it spreads its points evenly), so it must only cover the space.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from statistics import mean

import pytest

import tunelake
from tests.conftest import write_repo
from tunelake.errors import UserInputError
from tunelake.platform.spec import Algorithm, parse_spec
from tunelake.platform.tune import searchers
from tunelake.store.lake import Lake
from tunelake.store.query import query

BOWL = """\
    awk -v x="$1" -v y="$2" 'BEGIN { printf "score=%.6f\\n", -((x - 0.3) ^ 2) - ((y - 0.7) ^ 2) }'
    """
TRIALS = 30

LEARNING = ["tpe", "cmaes", "gp", "hyperopt", "hebo", "ax", "bayesopt", "bohb"]


def installed(algorithm: str) -> bool:
    return all(importlib.util.find_spec(m) for m in searchers._NEEDS.get(Algorithm(algorithm), ()))


def values(repo, lake_uri: str, algorithm: str, at_least: int = TRIALS) -> list[float]:
    doc = {"code_github": str(repo), "command": "sh bowl.sh {x} {y}", "primary_result_key": "score",
           "search": {"x": {"type": "uniform", "low": 0, "high": 1}, "y": {"type": "uniform", "low": 0, "high": 1}},
           "optimizer": {"algorithm": algorithm, "num_samples": TRIALS, "seed": 1, "max_concurrent_trials": 2,
                         **({"scheduler": "bohb", "max_t": 1} if algorithm == "bohb" else {})}}
    result = tunelake.run(doc, lake=lake_uri)
    rows = query(Lake(lake_uri), "SELECT value, params FROM trials WHERE experiment_id = ? ORDER BY started_at",
                 [result.experiment_id]).to_pylist()
    assert at_least <= len(rows) <= TRIALS and all(r["value"] is not None for r in rows), rows
    for r in rows:
        params = json.loads(r["params"])
        assert 0 <= params["x"] <= 1 and 0 <= params["y"] <= 1
    return [r["value"] for r in rows]


@pytest.fixture(scope="module")
def bowl(tmp_path_factory):
    return write_repo(tmp_path_factory.mktemp("bowl"), {"bowl.sh": BOWL})


@pytest.fixture(scope="module")
def random_mean(ray_cluster, bowl, tmp_path_factory):
    return mean(values(bowl, str(tmp_path_factory.mktemp("random") / "lake"), "random"))


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", LEARNING)
def test_a_learning_searcher_beats_random(algorithm, random_mean, bowl, lake_uri):
    if not installed(algorithm):
        pytest.skip(f"{algorithm} is not installed (pip install \"tunelake[...]\")")
    # BayesOpt ends early once its GP keeps proposing one point (Ray Tune's `patience`): its 10 random steps
    # and a few more are enough to judge it
    found = values(bowl, lake_uri, algorithm, at_least=11 if algorithm == "bayesopt" else TRIALS)
    late = mean(found[-len(found) // 3:])
    assert late > random_mean, (algorithm, late, random_mean)


@pytest.mark.slow
def test_qmc_covers_the_space(ray_cluster, bowl, lake_uri):
    found = values(bowl, lake_uri, "qmc")
    assert max(found) > -0.05  # 30 evenly spread points come near the bowl's bottom


def test_a_missing_library_is_an_error_naming_its_extra(monkeypatch, lake_uri):
    monkeypatch.setattr(searchers.importlib.util, "find_spec", lambda name: None)
    spec = parse_spec({"code_github": ".", "command": "true", "primary_result_key": "s",
                       "search": {"x": [1, 2]}, "optimizer": {"algorithm": "hebo"}})
    with pytest.raises(UserInputError) as info:
        searchers.make_searcher(spec.optimizer, [])
    assert "'hebo' needs hebo" in str(info.value) and 'pip install "tunelake[hebo]"' in str(info.value)
    with pytest.raises(UserInputError, match=r"tunelake\[bohb\]"):
        tunelake.run({"code_github": ".", "command": "true", "primary_result_key": "s", "search": {"x": [1, 2]},
                      "optimizer": {"algorithm": "bohb", "scheduler": "bohb"}}, lake=lake_uri)
    assert not Path(lake_uri, "experiments").exists()  # refused before any row
