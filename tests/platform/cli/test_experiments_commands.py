"""``tunelake experiments list|show|stop|logs``, ``--version`` and ``plot``'s figures, over a lake under tmp_path."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import _free_port
from tests.platform.service.test_chart_routes import ASHA, fill_asha
from tests.platform.service.test_routes import EMPTY, OLD, SVM, fill
from tunelake._version import __version__
from tunelake.platform.cli.main import main
from tunelake.store.lake import Lake


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "250")  # one line per row, whatever the terminal running the tests
    lake = Lake(str(tmp_path / "lake"))
    fill(lake)
    fill_asha(lake)
    return lake.uri


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"tunelake {__version__}"


def test_list_searches_newest_first(lake: str, capsys):
    assert main(["experiments", "list", "--lake", lake]) == 0
    out = capsys.readouterr().out
    assert [out.index(e) for e in (ASHA, EMPTY, SVM, OLD)] == sorted(out.index(e) for e in (ASHA, EMPTY, SVM, OLD))
    assert "accuracy=0.9" in out and "5.0 min" in out and "2 completed, 1 failed" in out
    assert main(["experiments", "list", "--lake", lake, "--search", "FAILED"]) == 0
    out = capsys.readouterr().out
    assert OLD in out and SVM not in out and "nan" not in out


def test_show_takes_a_prefix_or_latest(lake: str, capsys):
    assert main(["experiments", "show", "asha", "--lake", lake, "--trials", "3"]) == 0
    out = capsys.readouterr().out
    assert "best: a09 accuracy=0.909" in out and "9 more trials" in out
    assert out.index("a09") < out.index("a06") < out.index("a03")
    assert main(["experiments", "show", "latest", "--lake", lake]) == 0
    assert ASHA in capsys.readouterr().out
    assert main(["experiments", "show", "e", "--lake", lake]) == 0  # only EMPTY starts with "e"
    assert main(["experiments", "show", "nope", "--lake", lake]) == 2
    assert "no experiment 'nope'" in capsys.readouterr().err
    Lake(lake).append("experiments", [{"experiment_id": "asha-2", "status": "running"}])
    assert main(["experiments", "show", "asha", "--lake", lake]) == 2
    assert "'asha' is the start of 2 experiments" in capsys.readouterr().err


def test_logs_without_a_job_show_the_failed_trials_stderr(lake: str, capsys):
    closed = f"http://127.0.0.1:{_free_port()}"
    assert main(["experiments", "logs", ASHA, "--lake", lake, "--address", closed]) == 0
    out = capsys.readouterr().out
    assert "driver output: none" in out and "trial a04 failed: exited with code 1\nTraceback: boom" in out


def test_stop_signals_a_live_driver_on_this_machine(lake: str, capsys):
    driver = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        Lake(lake).append("drivers", [{"experiment_id": EMPTY, "driver_id": "d2", "host": socket.gethostname(),
                                       "pid": driver.pid, "heartbeat_s": 30.0, "lease": 2,
                                       "heartbeat_at": datetime.now(timezone.utc)}])
        closed = f"http://127.0.0.1:{_free_port()}"
        assert main(["experiments", "stop", EMPTY, "--lake", lake, "--address", closed]) == 0
        assert f"pid {driver.pid}" in capsys.readouterr().out
        assert driver.wait(timeout=30) == -15
        assert main(["experiments", "stop", SVM, "--lake", lake, "--address", closed]) == 2
        assert "no live driver on this machine" in capsys.readouterr().err
    finally:
        if driver.poll() is None:
            driver.kill()


def test_plot_draws_history_importance_and_the_map_on_a_log_axis(lake: str, tmp_path: Path, capsys):
    for kind, name in (("history", "h.svg"), ("importance", "i.png"), ("map", "m.html")):
        out = tmp_path / name
        assert main(["plot", "latest", "--kind", kind, "-o", str(out), "--lake", lake]) == 0, capsys.readouterr().err
        assert out.stat().st_size > 5000
    assert "best so far" in (tmp_path / "h.svg").read_text()
    page = (tmp_path / "m.html").read_text()
    assert page.startswith("<!doctype html>") and "C (log)" in page and "kernel" in page
    assert main(["plot", "latest", "--kind", "importance", "-o", str(tmp_path / "x.png"), "--lake", lake,
                 "--evaluator", "mdi"]) == 0
    assert not os.path.exists(tmp_path / "map.png")


def test_a_run_where_every_trial_failed_alike_shows_the_cause():
    import pandas as pd
    from rich.console import Console

    from tunelake.platform.cli.output import print_run
    from tunelake.platform.experiments.lifecycle import Result

    trials = pd.DataFrame([
        {"trial_id": "t1", "status": "failed", "reason": "exited with code 1",
         "stderr_tail": "Traceback (most recent call last):\nModuleNotFoundError: No module named 'sklearn'"},
        {"trial_id": "t2", "status": "failed", "reason": "exited with code 1", "stderr_tail": None},
        {"trial_id": "t3", "status": "failed", "reason": "timed out after 5 s", "stderr_tail": "slow"},
    ])
    out = Console(record=True, width=200)
    print_run(out, Result(experiment_id="e", status="completed", mode="max", lake="/l", models=None,
                          best_trial_id=None, best_value=None, best_params=None, counts={"failed": 3},
                          trials=trials))
    text = out.export_text()
    assert "failed      2 of 3 trials: exited with code 1" in text
    assert "stderr of trial t1:\n  Traceback (most recent call last):\n  ModuleNotFoundError: No module named" in text
    out = Console(record=True, width=200)
    print_run(out, Result(experiment_id="e", status="completed", mode="max", lake="/l", models=None,
                          best_trial_id="t4", best_value=1.0, best_params={}, counts={"failed": 3, "completed": 1},
                          trials=trials))
    assert "failed " not in out.export_text()  # some completed: the summary stays as it was
