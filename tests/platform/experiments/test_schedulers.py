"""Schedulers that pause and clone trials (PBT, PB2, HyperBand, BOHB), end to end with real checkpoints."""

from __future__ import annotations

import json

import pytest

import tunelake
from tests.conftest import write_repo
from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow

# "Training" adds lr to the score every epoch; the checkpoint carries the score and the epoch.
GROW = """\
    import json, os, pathlib, sys, time
    lr = float(sys.argv[1])
    live = pathlib.Path(os.environ["TUNELAKE_CHECKPOINT_DIR"])
    restore = os.environ.get("TUNELAKE_RESTORE_DIR")
    state = {"score": 0.0, "epoch": 0}
    if restore and pathlib.Path(restore, "state.json").exists():
        state = json.loads(pathlib.Path(restore, "state.json").read_text())
    while state["epoch"] < EPOCHS:
        state = {"score": state["score"] + lr, "epoch": state["epoch"] + 1}
        (live / "state.json").write_text(json.dumps(state))
        print(json.dumps({**state, "restored": 1 if restore else 0}), flush=True)
        time.sleep(0.15)
    """


def rows(lake: str, sql: str) -> list[dict]:
    return query(Lake(lake), sql).to_pylist()


def grow_repo(tmp_path, epochs: int):
    return write_repo(tmp_path / "repo", {"grow.py": GROW.replace("EPOCHS", str(epochs))})


def doc(repo, optimizer: dict, search: dict | None = None) -> dict:
    return {"code_github": str(repo), "command": "python grow.py {lr}", "primary_result_key": "score",
            "resources": {"cpus_per_trial": 0.5},
            "search": search or {"lr": {"type": "uniform", "low": 0.1, "high": 1.0}},
            "optimizer": {"algorithm": "random", "seed": 3, "max_concurrent_trials": 4, **optimizer}}


def test_pbt_clones_better_trials_and_the_lake_keeps_the_lineage(ray_cluster, lake_uri, tmp_path):
    spec = doc(grow_repo(tmp_path, 12), {"scheduler": "pbt", "num_samples": 4, "perturbation_interval": 3})
    result = tunelake.run(spec, lake=lake_uri)
    trials = {t["trial_id"]: t for t in rows(lake_uri, "SELECT * FROM trials")}
    assert len(trials) == 4 and {t["status"] for t in trials.values()} == {"completed"}
    exploits = rows(lake_uri, "SELECT * FROM trial_events WHERE kind = 'exploit' ORDER BY happened_at")
    assert exploits, "PBT exploited no trial"
    for e in exploits:
        assert e["trial_id"] in trials and e["source_trial_id"] in trials and e["source_trial_id"] != e["trial_id"]
        assert e["step"] >= 3 and e["source_step"] >= 3
    # explored: a clone goes on with new params (a perturbed copy of its source's can land on its own old value)
    assert any(json.loads(e["params"])["lr"] != json.loads(e["params_before"])["lr"] for e in exploits)
    first = exploits[0]
    # the clone went on from the source's checkpoint: its next report is the source's score plus its new lr
    results = rows(lake_uri, f"SELECT * FROM results WHERE trial_id = '{first['trial_id']}' "
                             f"AND step = {first['source_step'] + 1}")
    source = rows(lake_uri, f"SELECT * FROM results WHERE trial_id = '{first['source_trial_id']}' "
                            f"AND step = {first['source_step']}")
    later = json.loads(results[0]["metrics"])
    assert later["restored"] == 1
    if len([e for e in exploits if e["trial_id"] == first["trial_id"]]) == 1:
        lr = json.loads(first["params"])["lr"]
        assert later["score"] == pytest.approx(json.loads(source[0]["metrics"])["score"] + lr)
    tree = catalog.lineage(Lake(lake_uri), result.experiment_id)
    assert {(r["descendant"], r["source_trial_id"]) for r in tree if r["depth"] == 1} == \
        {(e["trial_id"], e["source_trial_id"]) for e in exploits}


@pytest.mark.parametrize("scheduler", ["hyperband", "pb2"])
def test_pausing_schedulers_run_every_trial_to_an_end(ray_cluster, lake_uri, tmp_path, scheduler):
    optimizer = {"scheduler": scheduler, "num_samples": 4, "max_t": 9, "reduction_factor": 3,
                 "perturbation_interval": 3}
    search = {"lr": {"type": "uniform", "low": 0.1, "high": 1.0}, "width": {"type": "int", "low": 1, "high": 8}}
    tunelake.run(doc(grow_repo(tmp_path, 9), optimizer, search), lake=lake_uri)
    trials = rows(lake_uri, "SELECT * FROM trials")
    assert len(trials) == 4 and {t["status"] for t in trials} <= {"completed", "stopped"}
    assert any(t["status"] == "completed" for t in trials)
    for t in trials:
        assert isinstance(json.loads(t["params"])["width"], int)  # PB2 proposes floats; ints stay whole
    for e in rows(lake_uri, "SELECT * FROM trial_events WHERE kind = 'exploit'"):
        assert isinstance(json.loads(e["params"])["width"], int)


def test_bohb_runs_with_its_hyperband(ray_cluster, lake_uri, tmp_path):
    pytest.importorskip("hpbandster")
    pytest.importorskip("ConfigSpace")
    optimizer = {"algorithm": "bohb", "scheduler": "bohb", "num_samples": 4, "max_t": 9}
    tunelake.run(doc(grow_repo(tmp_path, 9), optimizer), lake=lake_uri)
    trials = rows(lake_uri, "SELECT * FROM trials")
    assert len(trials) == 4 and any(t["status"] == "completed" for t in trials)
    assert all(0.1 <= json.loads(t["params"])["lr"] <= 1.0 for t in trials)
