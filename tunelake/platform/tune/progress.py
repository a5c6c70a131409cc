"""What a person watching ``tunelake run`` sees: a live table on a terminal,
one line per finished trial elsewhere (logs, ``ray job logs``)."""

from __future__ import annotations

import time
from typing import Any

from ray.tune import Callback
from rich.console import Console
from rich.live import Live
from rich.table import Table

from tunelake.platform.tune.tally import Tally


def _params(params: dict[str, Any] | None) -> str:
    if not params:
        return ""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


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
            self._live = Live(self._table(), console=self.console, refresh_per_second=4, transient=False)
            self._live.start()

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if self._live is not None:
            if time.monotonic() - self._last > 0.25:
                self._live.update(self._table())
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
            self._live.update(self._table())
            self._live.stop()
            self._live = None
