"""An experiment's row in the lake from ``running`` to how it ended, and the :class:`Result` it leaves.

Command experiments and AutoML both write their row through
:class:`ExperimentRecord`: every version carries the same description (name,
metric, mode, spec, code, versions, host), and :meth:`ExperimentRecord.running`
writes the end on every way out it can catch (``interrupted`` on Ctrl-C,
``failed`` with the reason on an error), so no row stays ``running`` because
of an exception.
"""

from __future__ import annotations

import json
import signal
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from typing import Any, Iterator

from tunelake._version import __version__
from tunelake.errors import Stopped, TunelakeError
from tunelake.platform.experiments.lease import DriverLease
from tunelake.platform.tune.runner import stop_signals_call
from tunelake.redact import redact
from tunelake.store import catalog
from tunelake.store.lake import Lake, utcnow
from tunelake.store.schema import EXPERIMENTS, ExperimentStatus


@dataclass(frozen=True)
class Result:
    """What a finished experiment left in the lake."""

    experiment_id: str
    status: str
    mode: str
    lake: str
    models: str | None
    best_trial_id: str | None
    best_value: float | None
    best_params: dict[str, Any] | None
    counts: dict[str, int]
    error: str | None = None
    trials: Any = field(default=None, repr=False, compare=False)  # pandas.DataFrame, best first


class ExperimentRecord:
    """The experiment row of ``experiment_id``; ``description`` holds the columns every version repeats."""

    def __init__(self, lake: Lake, experiment_id: str, description: dict[str, Any], models: str,
                 created: datetime | None = None) -> None:
        self.lake = lake
        self.experiment_id = experiment_id
        self.description = dict(description)
        self.models = models
        self.created = created or utcnow()

    def write(self, status: ExperimentStatus, **fields: Any) -> None:
        """Append a version of the row with ``status``; ``fields`` are this version's own columns."""
        self.lake.append(EXPERIMENTS, [{
            "experiment_id": self.experiment_id,
            **self.description,
            "status": status.value,
            "model_storage": self.models,
            "host": socket.gethostname(),
            "tunelake_version": __version__,
            "ray_version": version("ray"),
            "created_at": self.created,
            **fields,
        }])

    def describe(self, **columns: Any) -> None:
        """Learnt more about the experiment (its code's commit, its dataset, its cluster): say so in the lake."""
        self.description.update(columns)
        self.write(ExperimentStatus.RUNNING)

    @contextmanager
    def running(self) -> Iterator[None]:
        """The row is ``running`` inside, with this process's claim on the experiment (refused, before
        anything is written, when another driver holds it); the way out ends it: ``stopped`` on SIGTERM,
        ``interrupted`` on Ctrl-C, ``failed`` with the reason on an error, and the exception goes on up."""
        lease = DriverLease(self.lake, self.experiment_id)
        lease.acquire()
        try:
            with stop_on_signals():
                self.write(ExperimentStatus.RUNNING)
                try:
                    yield
                except Stopped as exc:
                    self.end(*_stopped(exc, self.experiment_id))
                    raise
                except KeyboardInterrupt:
                    self.end(ExperimentStatus.INTERRUPTED, "interrupted by the user")
                    raise
                except TunelakeError as exc:
                    self.end(ExperimentStatus.FAILED, str(exc))
                    raise
                except Exception as exc:
                    self.end(ExperimentStatus.FAILED, f"{type(exc).__name__}: {exc}")
                    raise
        finally:
            lease.release()

    def finish(self) -> Result:
        """End the row after a search: ``completed`` when a trial completed, else ``failed`` saying so."""
        counts = catalog.status_counts(self.lake, self.experiment_id)
        if counts.get("completed", 0):
            return self.end(ExperimentStatus.COMPLETED, None)
        return self.end(ExperimentStatus.FAILED,
                        f"no trial completed ({sum(counts.values())} trials; see trials.reason)")

    def end(self, status: ExperimentStatus, error: str | None) -> Result:
        """Write the row's last version (with the best trial) and return the :class:`Result`."""
        best = None
        counts: dict[str, int] = {}
        trials = None
        try:
            best = catalog.best_trial(self.lake, self.experiment_id)
            counts = catalog.status_counts(self.lake, self.experiment_id)
            trials = catalog.trials_frame(self.lake, self.experiment_id)
        except TunelakeError:  # an unreadable lake must not hide how the experiment ended
            pass
        self.write(status, finished_at=utcnow(), best_trial_id=best["trial_id"] if best else None,
                   best_value=best["value"] if best else None, best_params=best["params"] if best else None,
                   error=redact(error))
        return Result(
            experiment_id=self.experiment_id, status=status.value, mode=self.description.get("mode", "max"),
            lake=self.lake.uri, models=self.models, best_trial_id=best["trial_id"] if best else None,
            best_value=best["value"] if best else None,
            best_params=json.loads(best["params"]) if best else None, counts=counts, error=error, trials=trials,
        )


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM (and SIGINT) raise :class:`Stopped` inside, so the row says how the driver ended;
    a search installs its own, gentler handlers while Tune runs (``tune.runner.graceful_stop``)."""
    def stop(signum: int, frame) -> None:  # type: ignore[no-untyped-def]
        raise Stopped(signum)

    with stop_signals_call(stop):
        yield


def _stopped(exc: Stopped, experiment_id: str) -> tuple[ExperimentStatus, str]:
    then = f"; `tunelake resume {experiment_id}` continues it"
    if exc.signum == signal.SIGINT:
        return ExperimentStatus.INTERRUPTED, f"interrupted (SIGINT, Ctrl-C){then}"
    return ExperimentStatus.STOPPED, f"stopped ({exc.name}: `ray job stop`, POST /experiments/{{id}}/stop or a shutdown){then}"
