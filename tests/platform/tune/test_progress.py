"""The live display of ``tunelake run`` on a terminal: counts, best so far, and a table of the trials."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from tunelake.platform.trial.result import OBJECTIVE
from tunelake.platform.tune.progress import SHOWN_FINISHED, ProgressDisplay
from tunelake.platform.tune.tally import Tally


@dataclass
class Running:
    """The three fields of a Tune trial the display reads."""

    trial_id: str
    config: dict[str, Any]
    last_result: dict[str, Any] = field(default_factory=dict)
    status: str = "RUNNING"


def _screen(display: ProgressDisplay, trials: list) -> str:
    out = io.StringIO()
    Console(file=out, width=160, force_terminal=False).print(display._view(trials))
    return out.getvalue()


def test_the_terminal_shows_running_trials_with_their_last_report_and_why_others_ended():
    tally = Tally(mode="max", metric="accuracy")
    tally.counts.update(running=2, completed=1, failed=1)
    tally.best_value, tally.best_params = 0.93, {"C": 1.5}
    tally.finished += [
        {"trial_id": "t1", "status": "completed", "value": 0.93, "params": {"C": 1.5}, "reason": None},
        {"trial_id": "t2", "status": "failed", "value": None, "params": {"C": 900.0},
         "reason": "exited with code 1: ModuleNotFoundError: No module named 'sklearn'"},
    ]
    screen = _screen(ProgressDisplay(tally, "svm-1", 12), [
        Running("t3", {"C": 0.01, "kernel": "rbf"}, {OBJECTIVE: 0.71}), Running("t4", {"C": 3.0, "kernel": "linear"}),
        Running("t5", {"C": 2.0}, status="TERMINATED")])
    lines = screen.splitlines()
    assert "2/12 done" in screen and "accuracy=0.93" in screen
    row = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in ("t1", "t2", "t3", "t4", "t5")}
    assert set(row) == {"t3", "t4", "t1", "t2"}  # a trial Tune has ended is shown from the tally, not as running
    assert "running" in row["t3"] and "0.71" in row["t3"] and "kernel=rbf" in row["t3"]
    assert "failed" in row["t2"] and "No module named" in row["t2"]
    assert lines.index(row["t2"]) < lines.index(row["t1"])  # the latest finished first


def test_only_the_latest_finished_trials_are_listed():
    tally = Tally(mode="min", metric="loss")
    tally.finished += [{"trial_id": f"f{i:02d}", "status": "completed", "value": float(i), "params": {}, "reason": None}
                       for i in range(30)]
    screen = _screen(ProgressDisplay(tally, "e", 30), [])
    listed = [w for w in screen.split() if w.startswith("f") and w[1:].isdigit()]
    assert listed == [f"f{i:02d}" for i in range(29, 29 - SHOWN_FINISHED, -1)]
