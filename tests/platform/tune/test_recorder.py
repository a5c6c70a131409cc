"""The recorder keeps every row while the lake cannot be written."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tunelake.errors import LakeError
from tunelake.platform.trial.result import FINAL
from tunelake.platform.tune.recorder import LakeRecorder, Tally
from tunelake.store import spool
from tunelake.store.lake import Lake
from tunelake.store.query import query


class FlakyLake(Lake):
    """A real local lake that refuses writes while ``down``, as an unreachable S3 endpoint would."""

    down = False

    def append(self, table: Any, rows: Any) -> list[str]:
        if self.down:
            raise LakeError("could not write: endpoint unreachable")
        return super().append(table, rows)


def _trial(tid: str) -> SimpleNamespace:
    return SimpleNamespace(trial_id=tid, config={"x": 1}, last_result={})


def _complete(recorder: LakeRecorder, tid: str, value: float) -> None:
    trial = _trial(tid)
    recorder.on_trial_start(0, [], trial)
    metrics = {"score": value}
    recorder.on_trial_result(0, [], trial, {
        "tl_reports": f'[{{"step": 1, "metrics": {{"score": {value}}}, "at": 1.0}}]',
        "tl_kind": FINAL, "tl_outcome": "completed", "tl_metrics": metrics})
    recorder.on_trial_complete(0, [], trial)


def _recorder(lake: Lake) -> LakeRecorder:
    recorder = LakeRecorder(lake, "e1", Tally(mode="max", metric="score"), "stopped")
    recorder.RETRY_INTERVAL_S = 0.01
    recorder.PATIENCE_S = 0.2
    return recorder


def test_rows_wait_for_the_lake_and_keep_their_order(tmp_path: Path):
    lake = FlakyLake(str(tmp_path / "lake"))
    recorder = _recorder(lake)
    _complete(recorder, "t1", 0.5)
    lake.down = True
    assert recorder.flush() is False
    _complete(recorder, "t2", 0.7)
    recorder.on_step_end(0, [])
    lake.down = False
    recorder.close()
    rows = query(lake, "SELECT trial_id, status, value FROM trials ORDER BY 1").to_pylist()
    assert rows == [{"trial_id": "t1", "status": "completed", "value": 0.5},
                    {"trial_id": "t2", "status": "completed", "value": 0.7}]
    assert query(lake, "SELECT count(*) AS n FROM trials_log").to_pylist() == [{"n": 4}]
    assert query(lake, "SELECT count(*) AS n FROM results").to_pylist() == [{"n": 2}]


def test_a_lake_that_stays_away_gets_the_rows_from_the_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUNELAKE_CACHE", str(tmp_path / "cache"))
    lake = FlakyLake(str(tmp_path / "lake"))
    recorder = _recorder(lake)
    lake.down = True
    _complete(recorder, "t1", 0.5)
    with pytest.raises(LakeError, match="tunelake lake replay"):
        recorder.close()
    lake.down = False
    assert query(lake, "SELECT count(*) AS n FROM trials").to_pylist() == [{"n": 0}]
    assert spool.replay(tmp_path / "cache" / "spool", lake) == 3
    assert query(lake, "SELECT status, value FROM trials").to_pylist() == [{"status": "completed", "value": 0.5}]


def test_trials_in_flight_when_the_search_ends_are_closed_as_stopped(tmp_path: Path):
    lake = FlakyLake(str(tmp_path / "lake"))
    recorder = _recorder(lake)
    _complete(recorder, "t1", 0.5)
    recorder.on_trial_start(0, [], _trial("t2"))  # a time budget ends the search here
    recorder.close()
    rows = query(lake, "SELECT trial_id, status, reason FROM trials ORDER BY 1").to_pylist()
    assert rows == [{"trial_id": "t1", "status": "completed", "reason": None},
                    {"trial_id": "t2", "status": "stopped",
                     "reason": "the search ended while this trial ran (time budget or interrupt)"}]


def test_rows_are_batched_and_in_the_lake_before_tune_saves_its_state(tmp_path: Path):
    from ray.tune.callback import CallbackList

    lake = Lake(str(tmp_path / "lake"))
    recorder = _recorder(lake)
    recorder.FLUSH_INTERVAL_S = 3600.0
    _complete(recorder, "t1", 0.5)
    recorder.on_step_end(0, [])
    assert query(lake, "SELECT count(*) AS n FROM trials").to_pylist() == [{"n": 0}]  # batched, not per row
    CallbackList([recorder]).save_to_dir(str(tmp_path / "tune-state"))  # what Tune does every few seconds
    assert query(lake, "SELECT trial_id, status FROM trials").to_pylist() == [{"trial_id": "t1", "status": "completed"}]
    assert query(lake, "SELECT count(*) AS n FROM results").to_pylist() == [{"n": 1}]


def test_numpy_params_land_as_numbers_and_exploits_and_restarts_as_events(tmp_path: Path):
    import numpy as np

    from tunelake.platform.tune.schedulers import Exploit

    lake = Lake(str(tmp_path / "lake"))
    recorder = _recorder(lake)
    donor, clone = _trial("t1"), SimpleNamespace(trial_id="t2", config={"n": np.int64(4), "lr": np.float64(0.1)},
                                                 last_result={"training_iteration": 6})
    recorder.on_trial_start(0, [], clone)
    recorder.exploit(Exploit(clone, donor, 6, 8, {"n": np.int64(2), "lr": 0.5}, dict(clone.config)))
    clone.get_error = lambda: RuntimeError("The actor died unexpectedly")
    clone.run_metadata = SimpleNamespace(checkpoint_manager=SimpleNamespace(
        latest_checkpoint_result=SimpleNamespace(metrics={"training_iteration": 6})))
    recorder.on_trial_recover(0, [], clone)
    recorder.close()
    events = query(lake, "SELECT * FROM trial_events ORDER BY event_id").to_pylist()
    assert [e["kind"] for e in events] == ["exploit", "restart"]
    assert json.loads(events[0]["params"]) == {"n": 4, "lr": 0.1} and json.loads(events[0]["params_before"])["n"] == 2
    assert (events[0]["source_trial_id"], events[0]["step"], events[0]["source_step"]) == ("t1", 6, 8)
    assert events[1]["source_step"] == 6 and "restart 1 from its checkpoint at step 6" in events[1]["reason"]
    versions = query(lake, "SELECT status, restarts, params FROM trials_log ORDER BY version").to_pylist()
    assert [(v["status"], v["restarts"]) for v in versions] == [("running", None), ("running", 1), ("stopped", 1)]
    assert json.loads(versions[-1]["params"])["n"] == 4  # the search ended while it ran (close)
