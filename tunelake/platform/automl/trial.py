"""One AutoML trial, on a Ray worker: a zoo configuration scored by k-fold cross-validation.

Trials run in-process (the data goes to the object store once). Each fold is
reported as it ends (the mean so far is the objective), so a scheduler can
stop a configuration already behind after one fold; only a trial that ran
every fold completes, and only its out-of-fold predictions are kept for the
ensemble. A configuration that cannot fit is a failed trial, not a failed
search.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable

import numpy as np
import ray

from tunelake.cluster.aws import this_instance_type
from tunelake.metalearn import zoo
from tunelake.metalearn.ensemble import response
from tunelake.platform.trial.result import FINAL, FOLD, Outcome, TrialResult, node_name
from tunelake.platform.tune import session
from tunelake.platform.tune.slots import pass_gate


def zoo_space(families: list[str]) -> Callable[[Any], None]:
    """The zoo as one conditional Optuna space: the family first, then only that family's parameters.

    Conditional, so TPE models each hyperparameter on the trials that used it,
    not on trials of other families where it meant nothing. A partial of a
    module function, because Tune pickles the searcher with its space.
    """
    return functools.partial(_suggest, tuple(families))


def _suggest(families: tuple[str, ...], trial: Any) -> None:
    family = trial.suggest_categorical("family", list(families))
    for name, p in zoo.FAMILIES[family].params.items():
        name = zoo.key(family, name)
        if p.kind == "choice":
            trial.suggest_categorical(name, list(p.values))
        elif p.kind in ("int", "logint"):
            trial.suggest_int(name, int(p.low), int(p.high), log=p.kind == "logint")
        else:
            trial.suggest_float(name, p.low, p.high, log=p.kind == "loguniform")


@ray.remote(num_cpus=0)
class OutOfFold:
    """The out-of-fold predictions of the best finished trials, kept until the search ends for ensembling."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.held: dict[str, tuple[float, np.ndarray]] = {}

    def add(self, trial_id: str, score: float, predictions: np.ndarray) -> None:
        self.held[trial_id] = (score, predictions)
        if len(self.held) > self.keep:
            del self.held[min(self.held, key=lambda t: self.held[t][0])]

    def take(self) -> dict[str, np.ndarray]:
        return {t: p for t, (_, p) in self.held.items()}


def folds_of(task: str, folds: int, seed: int) -> Any:
    from sklearn.model_selection import KFold, StratifiedKFold

    return (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)


def automl_trial(config: dict[str, Any], data: tuple[Any, Any], task: str, metric: str, folds: int,
                 seed: int, out_of_fold: Any = None, gate: Any = None) -> None:
    """Score ``config`` on ``data`` fold by fold; the last fold's result is the trial's final one."""
    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    pass_gate(gate)
    x, y = data
    started = time.time()
    base = {"node": node_name(), "instance_type": this_instance_type(), "started_at": started, "steps": folds}
    scorer = get_scorer(metric)
    scores: list[float] = []
    classes = np.unique(y) if out_of_fold is not None and task == "classification" else None
    predictions = None
    try:
        pipeline = zoo.build_pipeline(task, config, x, seed)
        for i, (train, valid) in enumerate(folds_of(task, folds, seed).split(x, y)):
            model = clone(pipeline).fit(x.iloc[train], y.iloc[train])
            scores.append(float(scorer(model, x.iloc[valid], y.iloc[valid])))
            if out_of_fold is not None:
                answer = response(model, x.iloc[valid], classes)
                if predictions is None:
                    predictions = np.zeros((len(x), *answer.shape[1:]), dtype=np.float32)
                predictions[valid] = answer
            value = float(np.mean(scores))
            last = i + 1 == folds
            if last and out_of_fold is not None:
                ray.get(out_of_fold.add.remote(session.trial_id(), value, predictions))
            session.report(TrialResult(
                kind=FINAL if last else FOLD, objective=value, outcome=Outcome.COMPLETED if last else None,
                metrics={metric: value, f"{metric}_std": float(np.std(scores))},
                reports=[{"step": i + 1, "metrics": {f"fold_{metric}": scores[-1]}, "at": time.time()}],
                duration_s=time.time() - started, **base))
    except Exception as exc:  # a configuration that cannot fit is a failed trial, not a failed search
        session.report(TrialResult(kind=FINAL, outcome=Outcome.FAILED, reason=f"{type(exc).__name__}: {exc}"[:2000],
                                   duration_s=time.time() - started, **base))
