"""Writes every trial's life to the lake, from inside the Tune driver loop.

Each state change (running, then completed / stopped / failed) and every
report becomes a row. Rows are buffered and written once a second, so a file
holds many rows rather than one or two, and whenever Tune saves its state, so
a trial that ``tunelake resume`` would not run again is in the lake: a
``kill -9`` of the driver loses at most the last second of rows, and only of
trials that resume runs again (or, if they were running, records as lost).

A lake that cannot be written (an S3 outage) does not stop the experiment:
rows stay buffered, stamped with their versions, and later steps try again.
At the end, :meth:`LakeRecorder.close` waits for the lake a while longer and
then keeps what is left in the local spool (:mod:`tunelake.store.spool`).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any, Callable

from ray.tune import Callback

from tunelake.cluster.cost import trial_cost
from tunelake.errors import LakeError
from tunelake.paths import cache_root
from tunelake.platform.trial.result import TrialResult
from tunelake.platform.tune.schedulers import Exploit
from tunelake.platform.tune.tally import Tally
from tunelake.redact import redact
from tunelake.store import spool
from tunelake.store.lake import Lake, stamp, utcnow
from tunelake.store.schema import RESULTS, TRIAL_EVENTS, TRIALS, EventKind, TrialStatus

logger = logging.getLogger(__name__)
UNFINISHED = "the search ended while this trial ran (time budget or interrupt)"


def _json(value: Any) -> str:
    """JSON text of a row's params or metrics; numpy scalars (from BOHB, HyperOpt...) as plain numbers."""
    return json.dumps(value, sort_keys=True, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def _ts(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, timezone.utc) if epoch else None


def _error_text(trial: Any) -> str:
    """The last line of the error Tune kept for ``trial`` (its worker died, or raised)."""
    error = None
    try:
        error = trial.get_error()
    except Exception:  # the error file may be unreadable; the row must still land
        pass
    return str(error).strip().splitlines()[-1] if error else "the trial's Ray worker failed"


def _checkpoint_step(trial: Any) -> int | None:
    """Private API: the training iteration of the checkpoint Tune restores ``trial`` from (None: none)."""
    latest = trial.run_metadata.checkpoint_manager.latest_checkpoint_result
    return latest.metrics.get("training_iteration") if latest is not None else None


class LakeRecorder(Callback):
    """A Tune callback that appends trial and result rows to the lake."""

    FLUSH_INTERVAL_S = 1.0
    RETRY_INTERVAL_S = 5.0  # between flushes while the lake is unreachable
    PATIENCE_S = 600.0  # how long close() waits for an unreachable lake before spooling

    def __init__(self, lake: Lake, experiment_id: str, tally: Tally, stop_reason: str,
                 code_commit: str | None = None, dataset_id: str | None = None,
                 replayed: frozenset[str] = frozenset(),
                 params_view: Callable[[dict[str, Any]], dict[str, Any]] = dict,
                 resources: tuple[float, float] = (1, 0)) -> None:
        self.lake = lake
        self.experiment_id = experiment_id
        self.tally = tally
        self.stop_reason = stop_reason
        self.code_commit = code_commit
        self.dataset_id = dataset_id
        self.replayed = replayed  # already in the lake as completed: count them, write nothing
        self.params_view = params_view  # what of a trial's config the lake keeps as its params
        self.cpus, self.gpus = resources  # what each trial reserves: its cost is its share of its node
        self._trials: list[dict[str, Any]] = []
        self._results: list[dict[str, Any]] = []
        self._events: list[dict[str, Any]] = []
        self._restarts: dict[str, int] = {}
        self._final: dict[str, TrialResult] = {}
        self._started: dict[str, float] = {}
        self._open: dict[str, Any] = {}  # started, not yet ended: closed as stopped if the search ends first
        self._node: dict[str, str] = {}
        self._instance: dict[str, str] = {}
        self._last_flush = time.monotonic()
        self._failing_since: float | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment state; live trials stay behind
        # (a restored search gets a new recorder).
        return {**self.__dict__, "_open": {}}

    # -- Tune hooks -------------------------------------------------------

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if trial.trial_id in self._open:  # started again: after a pause (PBT, HyperBand) or a restart
            return
        self._started[trial.trial_id] = time.time()
        self._open[trial.trial_id] = trial
        self._trial_row(trial, TrialStatus.RUNNING, started_at=utcnow())
        self.tally.counts[TrialStatus.RUNNING.value] += 1

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict[str, Any], **info: Any) -> None:
        tid = trial.trial_id
        sent = TrialResult.from_tune(result)
        node = sent.node or result.get("hostname")
        if node:
            self._node[tid] = str(node)
        if sent.instance_type:
            self._instance[tid] = sent.instance_type
        for report in sent.reports:
            metrics = report["metrics"]
            self._results.append(stamp({
                "experiment_id": self.experiment_id,
                "trial_id": tid,
                "step": report["step"],
                "value": metrics.get(self.tally.metric),
                "metrics": _json(metrics),
                "reported_at": _ts(report["at"]),
            }))
        if sent.final:
            self._final[tid] = sent

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        final = self._final.pop(trial.trial_id, None)
        if final is None:
            self._stopped(trial, self.stop_reason)
            return
        self._finish(
            trial,
            TrialStatus(final.outcome),
            value=final.metrics.get(self.tally.metric),
            metrics=final.metrics,
            reason=redact(final.reason),
            exit_code=final.exit_code,
            signal=final.signal,
            stderr_tail=redact(final.stderr_tail),
            model_uri=final.model_uri,
            iterations=final.steps,
        )

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._final.pop(trial.trial_id, None)
        self._finish(trial, TrialStatus.FAILED, reason=redact(f"worker error: {_error_text(trial)}"[:2000]))

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """The trial's worker died and ``max_failures`` allows another try: Tune starts it again from its
        last checkpoint (from the beginning without one). The trial row counts the restart; an event says why."""
        tid = trial.trial_id
        self._restarts[tid] = self._restarts.get(tid, 0) + 1
        self._final.pop(tid, None)
        step = _checkpoint_step(trial)
        where = f"its checkpoint at step {step}" if step is not None else "its beginning (no checkpoint)"
        reason = redact(f"restart {self._restarts[tid]} from {where}: {_error_text(trial)}"[:2000])
        self._event(trial, EventKind.RESTART, (trial.last_result or {}).get("training_iteration"),
                    source_step=step, reason=reason)
        self._trial_row(trial, TrialStatus.RUNNING, started_at=_ts(self._started.get(tid)), reason=reason)

    def exploit(self, event: Exploit) -> None:
        """PBT or PB2 cloned a trial into another (a listener of :class:`~.schedulers.Lineage`)."""
        self._event(event.trial, EventKind.EXPLOIT, event.step, source_trial_id=event.source.trial_id,
                    source_step=event.source_step, params_before=_json(self.params_view(event.previous)),
                    params=_json(self.params_view(event.config)))

    def _event(self, trial: Any, kind: EventKind, step: int | None, **fields: Any) -> None:
        now = time.time_ns()
        self._events.append(stamp({
            "experiment_id": self.experiment_id, "trial_id": trial.trial_id, "event_id": f"{now:020d}",
            "kind": kind.value, "step": step, "happened_at": _ts(now / 1e9),
            **{"params": _json(self.params_view(trial.config)), **fields},
        }))

    # -- rows -------------------------------------------------------------

    def _stopped(self, trial: Any, reason: str) -> None:
        """End ``trial`` as stopped before its own end, with what it last reported."""
        last = trial.last_result or {}
        sent = TrialResult.from_tune(last)
        self._finish(trial, TrialStatus.STOPPED, value=sent.objective, metrics=sent.metrics,
                     reason=reason, iterations=last.get("training_iteration"))

    def _finish(self, trial: Any, status: TrialStatus, value: float | None = None,
                metrics: dict[str, float] | None = None, **fields: Any) -> None:
        started = self._started.get(trial.trial_id)
        self._open.pop(trial.trial_id, None)
        now = time.time()
        duration = (now - started) if started else None
        cost = trial_cost(duration, self.cpus, self.gpus, self._instance.get(trial.trial_id)).columns() \
            if duration is not None else {}
        self._trial_row(
            trial, status, value=value, metrics=_json(metrics or {}), finished_at=_ts(now),
            started_at=_ts(started), duration_s=duration, **cost, **fields,
        )
        counts = self.tally.counts
        counts[TrialStatus.RUNNING.value] = max(0, counts[TrialStatus.RUNNING.value] - 1)
        counts[status.value] += 1
        if status is TrialStatus.COMPLETED and value is not None and self.tally.better(value):
            self.tally.best_value = value
            self.tally.best_params = self.params_view(trial.config)
            self.tally.best_trial_id = trial.trial_id
        self.tally.finished.append({"trial_id": trial.trial_id, "status": status.value, "value": value,
                                    "params": self.params_view(trial.config), "reason": fields.get("reason")})

    def _trial_row(self, trial: Any, status: TrialStatus, **fields: Any) -> None:
        if trial.trial_id in self.replayed:
            return
        row = {
            "experiment_id": self.experiment_id,
            "trial_id": trial.trial_id,
            "status": status.value,
            "params": _json(self.params_view(trial.config)),
            "node": self._node.get(trial.trial_id),
            "instance_type": self._instance.get(trial.trial_id),
            "cpus": self.cpus,
            "gpus": self.gpus,
            "code_commit": self.code_commit,
            "dataset_id": self.dataset_id,
            "restarts": self._restarts.get(trial.trial_id),
            **fields,
        }
        self._trials.append(stamp(row))

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        wait = self.RETRY_INTERVAL_S if self._failing_since is not None else self.FLUSH_INTERVAL_S
        if (self._results or self._trials or self._events) and time.monotonic() - self._last_flush > wait:
            self.flush()

    def get_state(self) -> None:
        """Called as Tune saves its state: write the buffered rows first (the recorder itself keeps
        no state; a resumed search gets a new one)."""
        if self._failing_since is None and (self._results or self._trials or self._events):
            self.flush()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.flush()

    def flush(self) -> bool:
        """Write what is buffered; False (rows kept) when the lake cannot take them now.

        Results go first, so a trial's end never lands before its reports.
        """
        self._last_flush = time.monotonic()
        try:
            if self._results:
                self.lake.append(RESULTS, self._results)
                self._results = []
            if self._events:
                self.lake.append(TRIAL_EVENTS, self._events)
                self._events = []
            if self._trials:
                self.lake.append(TRIALS, self._trials)
                self._trials = []
        except LakeError as exc:
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                logger.warning("the lake cannot be written (%s); %d rows kept, trying again every %.0fs",
                               exc, len(self._results) + len(self._trials), self.RETRY_INTERVAL_S)
            return False
        if self._failing_since is not None:
            logger.warning("the lake is back after %.0fs; every kept row is written",
                           time.monotonic() - self._failing_since)
            self._failing_since = None
        return True

    def close(self) -> None:
        """End the trials the search left in flight (a time budget or an interrupt ends it without
        ending them), then flush, waiting up to :attr:`PATIENCE_S` for an unreachable lake; then
        spool what is left.

        Raises :class:`LakeError` naming the spool, so the run ends with an
        error but no row is lost.
        """
        for trial in list(self._open.values()):
            self._stopped(trial, UNFINISHED)
        deadline = time.monotonic() + self.PATIENCE_S
        while not self.flush():
            if time.monotonic() > deadline:
                root = cache_root() / "spool"
                for table, rows in ((RESULTS, self._results), (TRIAL_EVENTS, self._events), (TRIALS, self._trials)):
                    if rows:
                        spool.keep(root, self.lake.uri, table, rows)
                where = spool.spool_dir(root, self.lake.uri)
                rows_kept = len(self._results) + len(self._events) + len(self._trials)
                self._results, self._events, self._trials = [], [], []
                raise LakeError(
                    f"the lake {self.lake.uri} could not be written for {self.PATIENCE_S:.0f}s; {rows_kept} rows "
                    f"are kept in {where}; run `tunelake lake replay --lake {self.lake.uri}` once it is back"
                )
            time.sleep(self.RETRY_INTERVAL_S)
