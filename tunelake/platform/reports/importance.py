"""How much each parameter mattered to an experiment's metric, by Optuna's importance evaluators.

The lake's completed trials are loaded into an in-memory Optuna study (each parameter's distribution from its
axis: log, linear, integer or categorical), and ``optuna.importance.get_param_importances`` scores them: fANOVA
(random forests, Hutter et al. 2014) by default, PED-ANOVA (quick, for many trials) or MDI on request. Only
parameters that every completed trial holds are scored (Optuna's own rule), so an AutoML search scores what all
its families share.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from tunelake.errors import UserInputError
from tunelake.platform.reports.history import history
from tunelake.platform.reports.space import Axis, Scale, label
from tunelake.store.lake import Lake

MAX_TRIALS = 1000
"""The most recent completed trials an importance is computed from (fANOVA's forests grow with them)."""

FANOVA_TREES = 32
"""Half Optuna's default: the ranking holds and the answer comes twice as fast (docs/dashboard.md)."""


class Evaluator(str, Enum):
    FANOVA = "fanova"
    PED_ANOVA = "ped_anova"
    MDI = "mdi"


def _evaluator(kind: Evaluator) -> Any:
    from optuna import importance

    if kind is Evaluator.FANOVA:
        return importance.FanovaImportanceEvaluator(n_trees=FANOVA_TREES, seed=0)
    if kind is Evaluator.PED_ANOVA:
        return importance.PedAnovaImportanceEvaluator()
    return importance.MeanDecreaseImpurityImportanceEvaluator(seed=0)


def _distribution(axis: Axis, values: list[Any]) -> Any:
    """The axis as an Optuna distribution wide enough for every value the trials hold (``None``: it cannot vary)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if axis.scale is Scale.CATEGORY:
        levels = tuple(dict.fromkeys([*axis.categories, *(label(v) for v in values)]))
        return CategoricalDistribution(levels) if len(levels) > 1 else None
    numbers = [float(v) for v in values]
    low = min(numbers + ([axis.low] if axis.low is not None else []))
    high = max(numbers + ([axis.high] if axis.high is not None else []))
    if low == high:
        return None
    log = axis.scale is Scale.LOG and low > 0
    if axis.integer and all(float(v).is_integer() for v in numbers):
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(low, high, log=log)


def _study(seen: dict[str, Any]) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per study made
    direction = "minimize" if seen["mode"] == "min" else "maximize"
    study = optuna.create_study(direction=direction, storage=optuna.storages.InMemoryStorage())
    done = [p for p in seen["data"] if p["status"] == "completed" and p["value"] is not None][-MAX_TRIALS:]
    axes = [Axis.from_public(a) for a in seen["params"]]
    shared = [a for a in axes if done and all(_usable(a, p["params"].get(a.name)) for p in done)]
    distributions = {a.name: _distribution(a, [p["params"][a.name] for p in done]) for a in shared}
    distributions = {k: d for k, d in distributions.items() if d is not None}
    for p in done:
        params = {k: label(p["params"][k]) if k in distributions and _categorical(d) else p["params"][k]
                  for k, d in distributions.items()}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions, value=p["value"]))
    return study, len(done), list(distributions)


def _usable(axis: Axis, value: Any) -> bool:
    if value is None:
        return False
    if axis.scale is Scale.CATEGORY:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _categorical(distribution: Any) -> bool:
    from optuna.distributions import CategoricalDistribution

    return isinstance(distribution, CategoricalDistribution)


def param_importance(lake: Lake, experiment_id: str, evaluator: Evaluator = Evaluator.FANOVA) -> dict[str, Any]:
    """Each scored parameter's importance (they sum to 1), most important first; no scores, and a note saying
    why, while fewer than two completed trials or no varying parameter are in the lake."""
    import optuna

    seen = history(lake, experiment_id)
    study, trials, names = _study(seen)
    answer = {"experiment_id": experiment_id, "metric": seen["metric"], "evaluator": evaluator.value,
              "trials": trials, "data": [], "note": None}
    if trials < 2 or not names:
        answer["note"] = (f"importance needs at least 2 completed trials with a value and a parameter that varies; "
                          f"{experiment_id} has {trials} completed")
        return answer
    try:
        scores = optuna.importance.get_param_importances(study, evaluator=_evaluator(evaluator), normalize=True)
    except (RuntimeError, ValueError) as exc:  # e.g. every completed trial has the same value
        answer["note"] = f"{evaluator.value} could not score these trials: {exc}"
        return answer
    answer["data"] = [{"param": k, "importance": float(v)} for k, v in scores.items()]
    return answer


def check_evaluator(name: str) -> Evaluator:
    try:
        return Evaluator(name)
    except ValueError:
        raise UserInputError(f"evaluator {name!r} is unknown; use one of "
                             f"{', '.join(e.value for e in Evaluator)}") from None
