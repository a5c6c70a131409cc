"""What a trial written as a function (AutoML's) says to Tune while it runs: its results, its id."""

from __future__ import annotations

from ray import tune

from tunelake.platform.trial.result import TrialResult


def report(result: TrialResult) -> None:
    tune.report(result.to_tune())


def trial_id() -> str:
    return tune.get_context().get_trial_id()
