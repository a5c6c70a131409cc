"""Ray Tune searchers and schedulers for the spec's ``optimizer`` block.

Nothing here searches by itself: each algorithm and scheduler is one of Ray
Tune's own, configured from the spec.
"""

from __future__ import annotations

from typing import Any

import optuna
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule, TrialScheduler
from ray.tune.search import BasicVariantGenerator, Searcher
from ray.tune.search.optuna import OptunaSearch

from tunelake.platform.spec import Algorithm, Optimizer, SchedulerKind
from tunelake.platform.trial.result import OBJECTIVE, is_final


class PruningOptunaSearch(OptunaSearch):
    """Ray Tune's Optuna searcher, told that a trial stopped before its end was pruned.

    Tune hands a stopped trial's last result to ``on_trial_complete`` and
    Optuna would file its partial score (one fold, a few epochs) as a
    finished one, so a lucky start would rank among the best configurations.
    Pruned, TPE ranks it below every finished trial by how far it got.
    """

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if result is not None and not is_final(result):
            result = {k: v for k, v in result.items() if k != self.metric}
        super().on_trial_complete(trial_id, result, error)


class WarmOptunaSearch(PruningOptunaSearch):
    """Ray Tune's Optuna searcher, told earlier results once its study exists.

    Tune's own ``evaluated_rewards`` turns every ``points_to_evaluate`` into
    an already-evaluated point; here the user's points still run, and earlier
    experiments' results are added beside them.
    """

    def __init__(self, evaluated: list[tuple[dict[str, Any], float]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluated = list(evaluated)

    def _setup_study(self, mode: Any) -> None:
        super()._setup_study(mode)
        for point, value in self.evaluated:
            self.add_evaluated_point(point, value)


def make_searcher(
    optimizer: Optimizer,
    points: list[dict[str, Any]],
    evaluated: list[tuple[dict[str, Any], float]] | None = None,
) -> Searcher | BasicVariantGenerator:
    """The searcher for ``optimizer.algorithm``, started from ``points`` (run first).

    ``evaluated`` (TPE only) are earlier trials' configurations and results,
    told to the searcher without running them again. Metric and mode are
    left to ``TuneConfig``, which hands them to the searcher and scheduler.
    """
    if optimizer.algorithm is Algorithm.TPE:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return WarmOptunaSearch(evaluated or [], points_to_evaluate=points or None,
                                sampler=optuna.samplers.TPESampler(seed=optimizer.seed))
    # Tune ignores TuneConfig's max_concurrent_trials for a generator it did not make itself.
    return BasicVariantGenerator(points_to_evaluate=points or None, random_state=optimizer.seed,
                                 max_concurrent=optimizer.max_concurrent_trials or 0)


def make_scheduler(optimizer: Optimizer) -> TrialScheduler:
    """The trial scheduler; ``training_iteration`` (one per report) is its clock."""
    if optimizer.scheduler is SchedulerKind.ASHA:
        return ASHAScheduler(
            time_attr="training_iteration",
            grace_period=optimizer.grace_period,
            max_t=optimizer.max_t,
            reduction_factor=optimizer.reduction_factor,
            # max_t places the rungs; a trial that gets past them runs to its own end
            # (and saves its model) instead of being killed at max_t.
            stop_last_trials=False,
        )
    if optimizer.scheduler is SchedulerKind.MEDIAN:
        return MedianStoppingRule(
            time_attr="training_iteration",
            grace_period=optimizer.grace_period,
            min_samples_required=3,
        )
    return FIFOScheduler()


STOP_REASONS = {
    SchedulerKind.ASHA: "stopped early by the ASHA scheduler",
    SchedulerKind.MEDIAN: "stopped early by the median stopping rule",
    SchedulerKind.FIFO: "stopped by Tune (time budget or interrupt)",
}
"""What a trial's row says when Tune ended it before its own end."""


def fold_scheduler(folds: int) -> ASHAScheduler:
    """ASHA over cross-validation folds: after the first fold, the better half goes on."""
    return ASHAScheduler(time_attr="training_iteration", grace_period=1, max_t=folds, reduction_factor=2,
                         stop_last_trials=False)


def conditional_tpe(space: Any, points: list[dict[str, Any]], mode: str, seed: int) -> PruningOptunaSearch:
    """TPE over a define-by-run Optuna space (a function of the Optuna trial), from ``points``.

    Tune tells a searcher its metric only along with a search space it then
    converts; this one has its space already, so it is told here.
    """
    from optuna.samplers import TPESampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return PruningOptunaSearch(space, metric=OBJECTIVE, mode=mode, points_to_evaluate=points or None,
                               sampler=TPESampler(seed=seed))
