"""Every way a driver ends leaves the lake true, and one driver at a time drives an experiment.

Drivers here are real `tunelake run` / `tunelake resume` processes on the session's Ray; the
signals are the ones a shell, `ray job stop` and `kill -9` send.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write_repo
from tests.platform.experiments.test_run import rows, spec
from tunelake.store import catalog
from tunelake.store.lake import Lake

pytestmark = pytest.mark.slow

BEAT = {"TUNELAKE_HEARTBEAT_S": "1"}  # so a dead driver is seen in seconds


def start(args: list[str], lake: str, address: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tunelake", *args, "--lake", lake, "--address", address,
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, **BEAT, **(env or {})})


def slow_experiment(tmp_path: Path, trials: int = 6, sleep: float = 20) -> Path:
    repo = write_repo(tmp_path / "repo", {"slow.sh": f"sleep {sleep}; echo score=$1"})
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec(repo, "sh slow.sh {x}", {"x": {"type": "grid", "values": list(range(trials))}})))
    return path


def wait_until_trials_run(lake: str, driver: subprocess.Popen, n: int = 2, within_s: float = 120) -> str:
    """The experiment's id once ``n`` of its trials are running."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        assert driver.poll() is None, driver.stderr.read()
        if Path(lake, "trials").exists():
            running = rows(lake, "SELECT experiment_id FROM trials WHERE status = 'running'")
            if len(running) >= n:
                return running[0]["experiment_id"]
        time.sleep(0.3)
    raise AssertionError("the trials did not start")


@pytest.mark.parametrize("sig, code, status", [(signal.SIGTERM, 143, "stopped"), (signal.SIGINT, 130, "interrupted")])
def test_a_signal_to_the_driver_ends_every_row(ray_cluster, lake_uri, tmp_path, sig, code, status):
    driver = start(["run", str(slow_experiment(tmp_path))], lake_uri, ray_cluster)
    experiment_id = wait_until_trials_run(lake_uri, driver)
    driver.send_signal(sig)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == code, err
    (exp,) = rows(lake_uri, "SELECT status, error, finished_at FROM experiments")
    assert exp["status"] == status and exp["finished_at"] is not None
    assert f"tunelake resume {experiment_id}" in exp["error"]
    trials = rows(lake_uri, "SELECT status, reason FROM trials")
    assert trials and all(t["status"] != "running" for t in trials), trials
    assert {t["status"] for t in trials} == {"stopped"} and all("ended while this trial ran" in t["reason"]
                                                                  for t in trials)
    assert catalog.live_drivers(Lake(lake_uri), experiment_id) == []  # the claim ended with the driver


def test_kill_9_shows_lost_then_one_of_two_resumes_drives(ray_cluster, lake_uri, tmp_path):
    path = slow_experiment(tmp_path, trials=4, sleep=1)
    driver = start(["run", str(path)], lake_uri, ray_cluster, {"TUNE_GLOBAL_CHECKPOINT_S": "0.5"})
    experiment_id = wait_until_trials_run(lake_uri, driver)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    lake = Lake(lake_uri)
    assert rows(lake_uri, "SELECT status FROM experiments") == [{"status": "running"}]  # what the row says
    deadline = time.monotonic() + 60
    while catalog.experiment(lake, experiment_id)["status"] != "lost" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert catalog.experiment(lake, experiment_id)["status"] == "lost"  # what readers show

    both = [start(["resume", experiment_id], lake_uri, ray_cluster) for _ in range(2)]
    ended = [(p.communicate(timeout=300), p.returncode) for p in both]
    codes = sorted(code for _, code in ended)
    assert codes == [0, 2], ended
    refused = next(err for (_, err), code in ended if code == 2)
    assert f"experiment {experiment_id} is driven by another process" in refused and "pid " in refused
    assert catalog.experiment(lake, experiment_id)["status"] == "completed"
    done = rows(lake_uri, "SELECT params->>'x' AS x FROM trials WHERE status = 'completed'")
    assert sorted(int(r["x"]) for r in done) == [0, 1, 2, 3]  # each once: no trial ran twice


def test_resume_while_the_driver_runs_is_refused(ray_cluster, lake_uri, tmp_path):
    driver = start(["run", str(slow_experiment(tmp_path))], lake_uri, ray_cluster)
    try:
        experiment_id = wait_until_trials_run(lake_uri, driver)
        second = start(["resume", experiment_id], lake_uri, ray_cluster)
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert f"pid {driver.pid}" in err and "is driven by another process" in err
        assert rows(lake_uri, "SELECT status FROM experiments") == [{"status": "running"}]
        assert len(catalog.live_drivers(Lake(lake_uri), experiment_id)) == 1
    finally:
        driver.send_signal(signal.SIGTERM)
        driver.communicate(timeout=120)
