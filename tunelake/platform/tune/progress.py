"""What a person watching ``tunelake run`` sees: on a terminal, the counts and
best so far above a live table of the running trials (their last reported
value) and the latest finished ones (with why a trial failed or stopped);
elsewhere (logs, ``ray job logs``) one line per finished trial."""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from tunelake.platform.trial.result import OBJECTIVE
from tunelake.platform.tune.tally import Tally

SHOWN_RUNNING = 8
SHOWN_FINISHED = 8
PARAMS_WIDTH = 70


def _params(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def _short(text: str, width: int = PARAMS_WIDTH) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _value(value: Any) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, (int, float)) else str(value)


class ProgressDisplay(Callback):
    """Renders a :class:`Tally` (kept by the lake recorder) while Tune runs."""

    def __init__(self, tally: Tally, experiment_id: str, total: int | None, console: Console | None = None) -> None:
        self.tally = tally
        self.experiment_id = experiment_id
        self.total = total
        self.console = console or Console(stderr=True)
        self.started = time.monotonic()
        self._live: Live | None = None
        self._shown = 0
        self._last = 0.0

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment state; a console and a
        # live display hold locks and a terminal, so they stay behind.
        state = dict(self.__dict__)
        state["console"] = None
        state["_live"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.console = Console(stderr=True)

    def _view(self, trials: list) -> Group:
        return Group(self._table(), self._trials(trials))

    def _trials(self, trials: list) -> Table:
        """The running trials (Tune's, with their last report), then the latest finished (the tally's)."""
        table = Table(box=None, header_style="bold", pad_edge=False)
        for name in ("trial", "status", self.tally.metric, "params", "reason"):
            table.add_column(name, overflow="ellipsis", no_wrap=True)
        running = [t for t in trials if getattr(t, "status", None) == "RUNNING"][:SHOWN_RUNNING]
        for t in running:
            last = getattr(t, "last_result", None) or {}
            table.add_row(str(t.trial_id), "running", _value(last.get(OBJECTIVE)),
                          _short(_params(getattr(t, "config", None))), "")
        for item in self.tally.finished[-SHOWN_FINISHED:][::-1]:
            table.add_row(item["trial_id"], item["status"], _value(item["value"]), _short(_params(item["params"])),
                          _short(item["reason"] or "", 90), style="red" if item["status"] == "failed" else None)
        return table

    def _table(self) -> Table:
        c = self.tally.counts
        done = c["completed"] + c["failed"] + c["stopped"]
        table = Table(title=f"tunelake {self.experiment_id}", title_justify="left", show_header=False, box=None)
        table.add_row("trials", f"{done}/{self.total or '?'} done  ·  {c['running']} running  ·  "
                                f"{c['completed']} completed  ·  {c['stopped']} stopped  ·  {c['failed']} failed")
        best = "—" if self.tally.best_value is None else f"{self.tally.metric}={self.tally.best_value:.6g}"
        table.add_row("best", f"{best}  {_params(self.tally.best_params)}")
        table.add_row("elapsed", f"{time.monotonic() - self.started:.1f}s")
        return table

    def setup(self, **info: Any) -> None:
        if self.console.is_terminal:
            self._live = Live(self._view([]), console=self.console, refresh_per_second=4, transient=False)
            self._live.start()

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if self._live is not None:
            if time.monotonic() - self._last > 0.25:
                self._live.update(self._view(trials))
                self._last = time.monotonic()
            return
        for item in self.tally.finished[self._shown:]:
            value = "" if item["value"] is None else f" {self.tally.metric}={item['value']:.6g}"
            reason = f" ({item['reason']})" if item["reason"] else ""
            self.console.print(f"trial {item['trial_id']} {item['status']}{value}  {_params(item['params'])}{reason}",
                               highlight=False, soft_wrap=True)
        self._shown = len(self.tally.finished)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.on_step_end(0, trials)
        self.close()

    def close(self) -> None:
        if self._live is not None:
            self._live.update(self._view([]))
            self._live.stop()
            self._live = None
