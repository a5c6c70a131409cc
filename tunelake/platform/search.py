"""Ray Tune searchers and schedulers for the spec's ``optimizer`` block.

Nothing here searches by itself: each algorithm and scheduler is one of Ray
Tune's own, configured from the spec.
"""

from __future__ import annotations

from typing import Any

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule, TrialScheduler
from ray.tune.search import BasicVariantGenerator, Searcher

from tunelake.platform.spec import Algorithm, Optimizer, SchedulerKind


def make_searcher(
    optimizer: Optimizer,
    points: list[dict[str, Any]],
    evaluated_rewards: list[float] | None = None,
) -> Searcher | BasicVariantGenerator:
    """The searcher for ``optimizer.algorithm``, started from ``points``.

    ``evaluated_rewards`` (one per point, TPE only) feeds results of earlier
    trials to the searcher without running them again. Metric and mode are
    left to ``TuneConfig``, which hands them to the searcher and scheduler.
    """
    if optimizer.algorithm is Algorithm.TPE:
        import optuna
        from optuna.samplers import TPESampler
        from ray.tune.search.optuna import OptunaSearch

        optuna.logging.set_verbosity(optuna.logging.WARNING)

        return OptunaSearch(
            points_to_evaluate=points or None,
            evaluated_rewards=evaluated_rewards or None,
            sampler=TPESampler(seed=optimizer.seed),
        )
    return BasicVariantGenerator(points_to_evaluate=points or None, random_state=optimizer.seed)


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
