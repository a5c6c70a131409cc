"""The Tune driver: builds a ``Tuner`` for an experiment and runs it.

With :mod:`tunelake.platform.tune.trainable`, :mod:`~tunelake.platform.tune.space`,
:mod:`~tunelake.platform.tune.searchers` and :mod:`~tunelake.platform.tune.recorder`, this
is where Ray Tune is used; the rest of tunelake speaks its own types.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import ray
from ray import tune
from ray.tune import CheckpointConfig, FailureConfig, RunConfig, TuneConfig

from tunelake.paths import cache_root
from tunelake.platform.spec import Algorithm, SchedulerKind
from tunelake.platform.trial.result import OBJECTIVE
from tunelake.platform.tune.progress import ProgressDisplay
from tunelake.platform.tune.recorder import LakeRecorder, Tally
from tunelake.platform.tune.searchers import make_scheduler, make_searcher
from tunelake.platform.tune.slots import close_gate, concurrency, start_gate
from tunelake.platform.tune.space import param_space
from tunelake.platform.tune.trainable import CommandTrainable, TrialContext

if TYPE_CHECKING:
    from tunelake.platform.experiments.run import Experiment

STOP_REASONS = {
    SchedulerKind.ASHA: "stopped early by the ASHA scheduler",
    SchedulerKind.MEDIAN: "stopped early by the median stopping rule",
    SchedulerKind.FIFO: "stopped by Tune (time budget or interrupt)",
}


def _storage_path(experiment: "Experiment") -> str:
    local = experiment.lake.fs.local_path()
    return str((local / "_tune") if local else cache_root() / "tune")


def _extra_env(experiment: "Experiment") -> dict[str, str]:
    spec = experiment.spec
    env = {}
    if spec.dataset is not None:
        env["TUNELAKE_DATASET_URI"] = spec.dataset.uri
        env["TUNELAKE_DATASET_TARGET"] = spec.dataset.target or ""
    if experiment.dataset_id:
        env["TUNELAKE_DATASET_ID"] = experiment.dataset_id
    return env


def tune_state_path(experiment: "Experiment") -> str:
    """Where Tune keeps this experiment's state (what ``tunelake resume`` restores)."""
    return f"{_storage_path(experiment)}/{experiment.experiment_id}"


def tune_search(experiment: "Experiment", tally: Tally, progress: bool, restore: bool = False) -> None:
    """Run the search (or, with ``restore``, continue it from Tune's saved state,
    the searcher's included); every trial's rows are in the lake when this returns."""
    spec = experiment.spec
    snapshot = experiment.snapshot
    assert snapshot is not None
    opt = spec.optimizer
    deadline = time.time() + opt.time_budget_s if opt.time_budget_s else None
    slots = concurrency(opt.max_concurrent_trials, spec.resources.cpus_per_trial, spec.resources.gpus_per_trial)
    context = TrialContext(
        experiment_id=experiment.experiment_id,
        command=spec.command,
        subdir=spec.dir,
        install_script=spec.install_script,
        workspace_key=snapshot.workspace_key(spec.install_script),
        archive=[ray.put(snapshot.archive)],
        primary_metric=spec.primary_result_key,
        metric_regexes=dict(spec.metrics),
        model_store=experiment.store,
        model_dir=spec.model_storage.model_dir,
        clean_model_dir=spec.model_storage.clean_model_dir_flag,
        trial_timeout_s=opt.trial_timeout_s,
        deadline=deadline,
        extra_env=_extra_env(experiment),
        replay=experiment.replay,
        start_gate=start_gate(slots, spec.trial_count() - len(experiment.replay), spec.resources.cpus_per_trial,
                              spec.resources.gpus_per_trial),
    )
    resources = {"cpu": spec.resources.cpus_per_trial, "gpu": spec.resources.gpus_per_trial}
    trainable = tune.with_resources(tune.with_parameters(CommandTrainable, context=context), resources)
    recorder = LakeRecorder(
        experiment.lake, experiment.experiment_id, tally, STOP_REASONS[opt.scheduler],
        code_commit=snapshot.commit, dataset_id=experiment.dataset_id, replayed=frozenset(experiment.replay),
    )
    callbacks: list[tune.Callback] = [recorder]
    display = ProgressDisplay(tally, experiment.experiment_id, spec.trial_count()) if progress else None
    if display is not None:
        callbacks.append(display)
    space = param_space(spec.search, opt.algorithm)
    if restore:
        tuner = tune.Tuner.restore(tune_state_path(experiment), trainable=trainable, resume_unfinished=True,
                                   resume_errored=True, param_space=space)
        # The restored run config holds callbacks unpickled from the first run; use this run's.
        tuner._local_tuner.get_run_config().callbacks = callbacks
    else:
        tuner = _new_tuner(experiment, trainable, space, callbacks, slots)
    try:
        tuner.fit()
    finally:
        recorder.close()
        if display is not None:
            display.close()
        close_gate(context.start_gate)


def _new_tuner(experiment: "Experiment", trainable: Any, space: dict[str, Any], callbacks: list,
               slots: int) -> tune.Tuner:
    spec = experiment.spec
    opt = spec.optimizer
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=TuneConfig(
            metric=OBJECTIVE,
            mode=spec.mode.value,
            search_alg=make_searcher(opt, [dict(p) for p in opt.points_to_evaluate] + experiment.meta_points,
                                     experiment.evaluated),
            scheduler=make_scheduler(opt),
            num_samples=opt.samples(),
            # random and grid carry their limit in their generator (make_searcher)
            max_concurrent_trials=slots if opt.algorithm is Algorithm.TPE else None,
            time_budget_s=opt.time_budget_s,
            reuse_actors=True,
        ),
        run_config=RunConfig(
            name=experiment.experiment_id,
            storage_path=_storage_path(experiment),
            verbose=0,
            callbacks=callbacks,
            failure_config=FailureConfig(max_failures=0),
            checkpoint_config=CheckpointConfig(checkpoint_frequency=0, checkpoint_at_end=False),
        ),
    )
