"""One runner for every kind of search: a frozen :class:`SearchPlan` in, a Ray Tune run out.

Command experiments and AutoML differ in their trainable, searcher and
scheduler; everything else is the same here: the concurrency, the start
gate, the lake recorder, the progress display, Tune's settings and its
state (what ``tunelake resume`` restores), and the tidy-up however the run
ends. The private-API shims of Ray live in this module, each with a test.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

import ray
from ray import tune
from ray.tune import CheckpointConfig, FailureConfig, RunConfig, TuneConfig
from ray.tune.search import BasicVariantGenerator, Searcher

from tunelake.errors import Stopped
from tunelake.paths import cache_root
from tunelake.platform.trial.result import OBJECTIVE, TrialResult
from tunelake.platform.tune.progress import ProgressDisplay
from tunelake.platform.tune.recorder import LakeRecorder
from tunelake.platform.tune.schedulers import Lineage
from tunelake.platform.tune.tally import Tally
from tunelake.platform.tune.slots import autoscaling, close_gate, concurrency, start_gate
from tunelake.store.lake import Lake

# Tune reads these when the driver runs; tunelake writes its own records, so
# Tune's default CSV/JSON/TensorBoard loggers would only cost time and disk.
_TUNE_ENV = {
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "1000",
    # Tune's experiment state (searcher included) is what `tunelake resume` restores;
    # save it often, so a killed driver loses little.
    "TUNE_GLOBAL_CHECKPOINT_S": "2",
    # SIGINT and SIGTERM are tunelake's (graceful_stop), so both end the row as they should.
    "TUNE_DISABLE_SIGINT_HANDLER": "1",
}

TEARDOWN_S = 2.0
"""Tune's time to stop in-flight trials and shut a search down (about 1.8 s on 2 cores)."""


@dataclass(frozen=True)
class TuneStorage:
    """Where Tune keeps a search's state and its trials' checkpoints: a path, on ``filesystem`` (pyarrow's;
    None: the local disk)."""

    path: str
    filesystem: Any = None

    def state_path(self, experiment_id: str) -> str:
        return f"{self.path}/{experiment_id}"

    def __str__(self) -> str:
        return self.path if self.filesystem is None else f"s3://{self.path}"


def tune_storage(lake: Lake, shared: bool | None = None) -> TuneStorage:
    """Where Tune keeps the searches of ``lake``: beside a local lake; for a lake on S3, in the lake
    (``_tune/``) when the Ray cluster spans several nodes or may add them (``shared``: a trial restarted on
    another node must find its checkpoint), else in the driver's cache, so an S3 outage never stops a
    search on one machine."""
    local = lake.fs.local_path()
    if local:
        return TuneStorage(str(local / "_tune"))
    if shared is None:
        shared = len([n for n in ray.nodes() if n.get("Alive")]) > 1 or autoscaling()
    if shared:
        return TuneStorage(lake.fs.path("_tune"), lake.fs.fs)
    return TuneStorage(str(cache_root() / "tune"))


def use_tune_env() -> None:
    """Tune's settings for tunelake's searches; a variable the user set wins."""
    os.environ.update({k: v for k, v in _TUNE_ENV.items() if k not in os.environ})


class Reserve(Protocol):
    """Seconds a search must leave of its wall clock for what follows it (AutoML's refit)."""

    def observe(self, result: TrialResult) -> None: ...

    @property
    def seconds(self) -> float: ...


class Deadline(tune.Stopper):
    """Ends the whole search once what is left of the wall clock covers only the ``reserve`` and Tune's
    own teardown; every result is shown to the reserve first, so it can grow with what trials cost."""

    def __init__(self, at: float, reserve: Reserve | None = None) -> None:
        self.at = at
        self.reserve = reserve

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        if self.reserve is not None:
            self.reserve.observe(TrialResult.from_tune(result))
        return False

    def stop_all(self) -> bool:
        reserved = self.reserve.seconds if self.reserve is not None else 0.0
        return time.time() + reserved + TEARDOWN_S >= self.at


@dataclass(frozen=True)
class SearchPlan:
    """A search, decided: what to run, how to search, and where its rows go.

    ``trainable`` takes the start gate (``None`` when trials run one at a
    time) and returns the Tune trainable. ``metric`` is the user's name for
    the objective, the value the lake's rows carry. ``restore`` continues
    the run saved in ``storage`` instead of starting one.
    """

    experiment_id: str
    lake: Lake
    metric: str
    mode: str
    trainable: Callable[[Any], Any]
    searcher: Searcher
    num_samples: int
    trial_count: int
    storage: TuneStorage
    stop_reason: str
    scheduler: Any = None
    max_concurrent: int | None = None
    cpus_per_trial: float = 1
    gpus_per_trial: float = 0
    time_budget_s: float | None = None
    param_space: dict[str, Any] | None = None
    stop: tune.Stopper | None = None
    restore: bool = False
    code_commit: str | None = None
    dataset_id: str | None = None
    replayed: frozenset[str] = frozenset()
    params_view: Callable[[dict[str, Any]], dict[str, Any]] = dict
    progress: bool = False
    callbacks: list[Any] = field(default_factory=list)
    max_failures: int = 0
    """Restarts of a trial whose worker died, from its last checkpoint."""
    objectives: int = 1
    """Metrics optimized at once; with several, the searcher knows them and Tune's own metric is unset."""
    checkpoints_kept: int = 2
    """Checkpoints kept per trial, newest first (PBT clones one that a trial may have written since)."""

    @property
    def state_path(self) -> str:
        """Where Tune keeps this search's state (what ``tunelake resume`` restores)."""
        return self.storage.state_path(self.experiment_id)


def run_search(plan: SearchPlan) -> Tally:
    """Run the plan on the current Ray session; every trial's rows are in the lake when this returns,
    however the run ends. Returns the live tally (counts and the best so far)."""
    use_tune_env()
    slots = concurrency(plan.max_concurrent, plan.cpus_per_trial, plan.gpus_per_trial)
    gate = start_gate(slots, plan.trial_count - len(plan.replayed), plan.cpus_per_trial, plan.gpus_per_trial)
    tally = Tally(mode=plan.mode, metric=plan.metric)
    recorder = LakeRecorder(plan.lake, plan.experiment_id, tally, plan.stop_reason, code_commit=plan.code_commit,
                            dataset_id=plan.dataset_id, replayed=plan.replayed, params_view=plan.params_view,
                            resources=(plan.cpus_per_trial, plan.gpus_per_trial))
    display = ProgressDisplay(tally, plan.experiment_id, plan.trial_count) if plan.progress else None
    callbacks = [recorder, *([display] if display else []), *plan.callbacks]
    if isinstance(plan.scheduler, Lineage):
        plan.scheduler.listeners = [recorder.exploit]
    try:
        trainable = plan.trainable(gate)
        tuner = _restored(plan, trainable, callbacks) if plan.restore else _new_tuner(plan, trainable, callbacks,
                                                                                       slots)
        with graceful_stop() as signals:
            tuner.fit()
    finally:
        recorder.close()
        if display is not None:
            display.close()
        close_gate(gate)
    if signals:
        raise Stopped(signals[0])
    return tally


@contextmanager
def stop_signals_call(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call ``handler`` inside the block (in the main thread only, where Python
    takes signals), and whatever handled them before does again after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, previous in before.items():
            signal.signal(s, previous)


@contextmanager
def graceful_stop() -> Iterator[list[int]]:
    """While Tune runs, SIGTERM and SIGINT end the search the way Tune ends it on SIGUSR1: trials are
    stopped, its state is saved one last time (what ``tunelake resume`` restores), and ``fit``
    returns; the list then holds the signal, which :func:`run_search` raises as :class:`Stopped`.
    A second signal stops at once. (Tune's own SIGINT handler is off: ``TUNE_DISABLE_SIGINT_HANDLER``.)"""
    got: list[int] = []

    def stop(signum: int, frame) -> None:  # type: ignore[no-untyped-def]
        if got:
            raise Stopped(got[0])
        got.append(signum)
        os.kill(os.getpid(), signal.SIGUSR1)

    with stop_signals_call(stop):
        yield got


def can_restore(storage: TuneStorage, experiment_id: str) -> bool:
    """Whether Tune saved the state of a search in ``storage``."""
    return tune.Tuner.can_restore(storage.state_path(experiment_id), storage_filesystem=storage.filesystem)


def _restored(plan: SearchPlan, trainable: Any, callbacks: list[Any]) -> tune.Tuner:
    tuner = tune.Tuner.restore(plan.state_path, trainable=trainable, resume_unfinished=True, resume_errored=True,
                               param_space=plan.param_space, storage_filesystem=plan.storage.filesystem)
    set_callbacks(tuner, callbacks)
    return tuner


def set_callbacks(tuner: tune.Tuner, callbacks: list[Any]) -> None:
    """Private API: a restored run config holds the callbacks unpickled from the first run (and a PBT
    scheduler the listeners of that run); use these."""
    tuner._local_tuner.get_run_config().callbacks = callbacks
    scheduler = tuner._local_tuner._tune_config.scheduler
    if isinstance(scheduler, Lineage):
        scheduler.listeners = [c.exploit for c in callbacks if isinstance(c, LakeRecorder)]


def _new_tuner(plan: SearchPlan, trainable: Any, callbacks: list[Any], slots: int) -> tune.Tuner:
    # Tune applies its own limit only to a generator it made; a BasicVariantGenerator of ours carries its limit.
    own_limit = isinstance(plan.searcher, BasicVariantGenerator)
    return tune.Tuner(
        trainable,
        param_space=plan.param_space,
        tune_config=TuneConfig(
            metric=OBJECTIVE if plan.objectives == 1 else None, mode=plan.mode if plan.objectives == 1 else None,
            search_alg=plan.searcher, scheduler=plan.scheduler,
            num_samples=plan.num_samples, max_concurrent_trials=None if own_limit else slots,
            time_budget_s=plan.time_budget_s, reuse_actors=True,
        ),
        run_config=RunConfig(
            name=plan.experiment_id, storage_path=plan.storage.path, storage_filesystem=plan.storage.filesystem,
            verbose=0, callbacks=callbacks, stop=plan.stop,
            failure_config=FailureConfig(max_failures=plan.max_failures),
            # a trial asks for a checkpoint when it wrote one (trial/checkpoint.py), and schedulers when they pause
            checkpoint_config=CheckpointConfig(checkpoint_frequency=0, checkpoint_at_end=False,
                                               num_to_keep=plan.checkpoints_kept),
        ),
    )
