"""Checkpoints in the trial protocol, end to end: real Ray, real subprocesses, a worker killed for real."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import tunelake
from tests.conftest import write_repo
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow

TRAIN = """\
    import json, os, pathlib, sys, time
    q, marker = float(sys.argv[1]), pathlib.Path(sys.argv[2])
    live = pathlib.Path(os.environ["TUNELAKE_CHECKPOINT_DIR"])
    restore = os.environ.get("TUNELAKE_RESTORE_DIR")
    start = json.loads(pathlib.Path(restore, "state.json").read_text())["epoch"] if restore else 0

    def worker_pid():
        pid = os.getppid()
        while pid > 1:
            if open(f"/proc/{pid}/cmdline", "rb").read().startswith(b"ray::"):
                return pid
            pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        raise SystemExit("no Ray worker above this trial")

    for epoch in range(start + 1, 7):
        (live / "state.json").write_text(json.dumps({"epoch": epoch}))
        print(json.dumps({"epoch": epoch, "score": epoch * q, "resumed_from": start}), flush=True)
        if epoch == 3 and not restore and not marker.exists():
            marker.write_text(str(worker_pid()))
            time.sleep(60)  # the test kills this trial's worker now
        time.sleep(0.1)
    """


def rows(lake: str, sql: str) -> list[dict]:
    return query(Lake(lake), sql).to_pylist()


def kill_when_marked(marker: Path, killed: list[int]) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)  # the checkpoint of step 3 reaches Tune first
        pid = int(marker.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_killed_worker_restarts_its_trial_from_the_last_checkpoint(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"train.py": TRAIN})
    marker = tmp_path / "worker.pid"
    killed: list[int] = []
    watcher = kill_when_marked(marker, killed)
    doc = {"code_github": str(repo), "command": f"python train.py {{q}} {marker}", "primary_result_key": "score",
           "search": {"q": {"type": "grid", "values": [2]}},
           "optimizer": {"algorithm": "grid", "max_failures": 2}}
    result = tunelake.run(doc, lake=lake_uri)
    watcher.join(5)
    assert killed, "the worker was never killed"
    (trial,) = rows(lake_uri, "SELECT * FROM trials")
    assert trial["status"] == "completed" and trial["value"] == 12 and trial["restarts"] == 1
    (event,) = rows(lake_uri, "SELECT * FROM trial_events")
    assert event["kind"] == "restart" and event["source_step"] == 3 and event["trial_id"] == trial["trial_id"]
    assert "from its checkpoint at step 3" in event["reason"]
    reports = {r["step"]: json.loads(r["metrics"]) for r in rows(lake_uri, "SELECT * FROM results")}
    assert sorted(reports) == [1, 2, 3, 4, 5, 6]
    assert [reports[s]["resumed_from"] for s in (4, 5, 6)] == [3, 3, 3]  # the restarted program read step 3
    # the row went running -> running (the restart) -> completed
    versions = rows(lake_uri, "SELECT list(status ORDER BY version) AS s, list(restarts ORDER BY version) AS r "
                              "FROM trials_log")
    assert versions[0]["s"] == ["running", "running", "completed"] and versions[0]["r"][1:] == [1, 1]
    stored = list(Path(lake_uri, "_tune", result.experiment_id).rglob("checkpoint_*/files/state.json"))
    assert stored, "no checkpoint in Tune's storage"


def test_without_max_failures_a_killed_worker_fails_its_trial(ray_cluster, lake_uri, tmp_path):
    repo = write_repo(tmp_path / "repo", {"train.py": TRAIN})
    marker = tmp_path / "worker.pid"
    killed: list[int] = []
    watcher = kill_when_marked(marker, killed)
    doc = {"code_github": str(repo), "command": f"python train.py {{q}} {marker}", "primary_result_key": "score",
           "search": {"q": {"type": "grid", "values": [2]}}, "optimizer": {"algorithm": "grid"}}
    tunelake.run(doc, lake=lake_uri)
    watcher.join(5)
    assert [e["status"] for e in rows(lake_uri, "SELECT * FROM experiments")] == ["failed"]  # none completed
    (trial,) = rows(lake_uri, "SELECT * FROM trials")
    assert killed and trial["status"] == "failed" and trial["reason"].startswith("worker error")
    assert trial["restarts"] is None
    assert rows(lake_uri, "SELECT * FROM trial_events") == []
