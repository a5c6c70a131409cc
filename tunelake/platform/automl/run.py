"""``tunelake automl``: point at data, get a tuned model, warm-started from the lake.

Trials run in-process on Ray Tune (the data goes to the object store once),
score by k-fold cross-validation, and land in the lake like any experiment,
with the dataset's id, so later searches learn from them. The best pipeline
is refit on all the data and stored through the lake's model store.
"""

from __future__ import annotations

import functools
import json
import pickle
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler

from tunelake.cluster.connect import ray_session
from tunelake.errors import UserInputError
from tunelake.ids import new_experiment_id
from tunelake.metalearn import zoo
from tunelake.metalearn.dataset import DatasetInfo, describe, record, where
from tunelake.metalearn.ensemble import Ensemble, judge, response, select
from tunelake.metalearn.recommend import Proposal, recommend
from tunelake.platform.experiments.run import Result, use_tune_env
from tunelake.platform.models.store import model_store
from tunelake.platform.spec import ModelStorage
from tunelake.platform.trial.result import FINAL, FOLD, OBJECTIVE, Outcome, node_name
from tunelake.platform.tune.progress import ProgressDisplay
from tunelake.platform.tune.recorder import LakeRecorder, Tally
from tunelake.platform.tune.searchers import PruningOptunaSearch
from tunelake.platform.tune.slots import close_gate, concurrency, pass_gate, start_gate
from tunelake.store import query
from tunelake.store.lake import Lake, utcnow
from tunelake.store.schema import EXPERIMENTS, TRIALS, ExperimentStatus

DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2"}
STOPPED = "stopped early: behind after its first folds (ASHA), or the time budget ran out"
TEARDOWN_S = 2.0  # Tune's time to stop in-flight trials and shut the search down (about 1.8 s on 2 cores)
BLEND_CANDIDATES = 20  # the best finished trials whose out-of-fold predictions the ensemble may draw on
BLEND_BYTES = 1 << 30  # at most this much of them held at once (fewer candidates on very large data)
BLEND_REFITS = 3  # refits the time budget reserves when the final model is an ensemble


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


def refit_estimate(cv_seconds: float, folds: int) -> float:
    """Seconds to refit on all rows a pipeline whose k-fold cross-validation took ``cv_seconds``.

    Each of the k fits saw (k-1)/k of the rows. Fit time grows faster than
    the rows for some families (an SVM's kernel matrix, roughly squared), so
    the estimate assumes quadratic growth: one fit's time times (k/(k-1))².
    Linear-time families are over-estimated a little, which only ends the
    search a moment earlier; under-estimates overran the budget.
    """
    k = max(2, folds)
    return cv_seconds / k * (k / (k - 1)) ** 2


class Deadline(tune.Stopper):
    """Ends the search in time to refit the final model before the budget runs out.

    The budget is the user's whole wall clock (meta-features, search, refit),
    so the search stops when what is left would only cover the refit, which
    is estimated from the best trials' cross-validation times
    (:func:`refit_estimate`). An ensemble refits several pipelines, so
    ``refits`` of the best are reserved.
    """

    def __init__(self, deadline: float, folds: int, refits: int = 1) -> None:
        self.deadline = deadline
        self.folds = folds
        self.refits = refits
        self.best: list[tuple[float, float]] = []  # (score, refit seconds) of the best finished trials

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        value = result.get(OBJECTIVE)
        if result.get("tl_kind") == FINAL and value is not None:
            refit_s = refit_estimate(float(result.get("tl_duration_s", 0.0)), self.folds)
            self.best = sorted([*self.best, (value, refit_s)], reverse=True)[:self.refits]
        return False

    @property
    def refit_s(self) -> float:
        return sum(s for _, s in self.best)

    def stop_all(self) -> bool:
        return time.time() + self.refit_s + TEARDOWN_S >= self.deadline


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


def _folds(task: str, folds: int, seed: int) -> Any:
    from sklearn.model_selection import KFold, StratifiedKFold

    return (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)


def automl_trial(config: dict[str, Any], data: tuple[Any, Any], task: str, metric: str, folds: int,
                 seed: int, out_of_fold: Any = None, gate: Any = None) -> None:
    """One configuration, scored by k-fold cross-validation; failures are results too.

    Each fold is reported as it ends (the mean so far is the objective), so
    a scheduler can stop a configuration that is already behind after one
    fold; only a trial that ran every fold completes, and only its
    out-of-fold predictions go to ``out_of_fold`` for the ensemble.
    """
    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    pass_gate(gate)
    x, y = data
    started = time.time()
    base = {"tl_node": node_name(), "tl_started_at": started, "tl_steps": folds}
    scorer = get_scorer(metric)
    scores: list[float] = []
    classes = np.unique(y) if out_of_fold is not None and task == "classification" else None
    predictions = None
    try:
        pipeline = zoo.build_pipeline(task, config, x, seed)
        for i, (train, valid) in enumerate(_folds(task, folds, seed).split(x, y)):
            model = clone(pipeline).fit(x.iloc[train], y.iloc[train])
            scores.append(float(scorer(model, x.iloc[valid], y.iloc[valid])))
            if out_of_fold is not None:
                answer = response(model, x.iloc[valid], classes)
                if predictions is None:
                    predictions = np.zeros((len(x), *answer.shape[1:]), dtype=np.float32)
                predictions[valid] = answer
            value = float(np.mean(scores))
            fold = {"step": i + 1, "metrics": {f"fold_{metric}": scores[-1]}, "at": time.time()}
            last = i + 1 == folds
            if last and out_of_fold is not None:
                ray.get(out_of_fold.add.remote(tune.get_context().get_trial_id(), value, predictions))
            tune.report({**base, OBJECTIVE: value, "tl_kind": FINAL if last else FOLD,
                         "tl_metrics": {metric: value, f"{metric}_std": float(np.std(scores))},
                         "tl_reports": json.dumps([fold]), "tl_duration_s": time.time() - started,
                         **({"tl_outcome": Outcome.COMPLETED} if last else {})})
    except Exception as exc:  # a configuration that cannot fit is a failed trial, not a failed search
        tune.report({**base, "tl_kind": FINAL, "tl_outcome": Outcome.FAILED,
                     "tl_reason": f"{type(exc).__name__}: {exc}"[:2000],
                     "tl_metrics": {}, "tl_reports": "[]", "tl_duration_s": time.time() - started})


def fold_scheduler(folds: int) -> ASHAScheduler:
    """ASHA over cross-validation folds: after the first fold, the better half goes on."""
    return ASHAScheduler(metric=OBJECTIVE, mode="max", time_attr="training_iteration", grace_period=1,
                         max_t=folds, reduction_factor=2, stop_last_trials=False)


def _unique(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points in order, each once (the hedge may also be among the proposals)."""
    return list({json.dumps(p, sort_keys=True, default=str): p for p in points}.values())


def _describe(data: str, target: str) -> DatasetInfo:
    return describe(where(data), target, fields=("data", "--target"))


def _xy(info: DatasetInfo) -> tuple[Any, Any]:
    """Features and target, ready for the zoo's pipelines (rows without a target dropped)."""
    target = info.target
    frame = info.table.to_pandas()
    frame = frame[frame[target].notna()]
    x = zoo.prepare_frame(frame.drop(columns=[target]))
    y = frame[target].astype(str) if info.task == "classification" else frame[target].astype(float)
    return x, y


@dataclass(frozen=True)
class AutoMLResult(Result):
    """A finished AutoML search; ``members`` are the final model's pipelines (trial, weight, configuration)."""

    members: list[dict[str, Any]] = field(default_factory=list)
    ensemble_score: float | None = None  # the chosen blend's score on the out-of-fold predictions


def _blend_weights(predictions: dict[str, np.ndarray], y: Any, metric: str,
                   task: str) -> tuple[dict[str, float], float]:
    """Ensemble weights chosen on the finished trials' out-of-fold predictions, and the blend's score there."""
    from sklearn.metrics import get_scorer

    classes = np.unique(y) if task == "classification" else None
    return select(predictions, judge(get_scorer(metric), y, classes))


def _refit(members: list[dict[str, Any]], task: str, x: Any, y: Any, seed: int,
           deadline: float | None) -> tuple[Any, list[dict[str, Any]]]:
    """The final model fitted on all rows: the heaviest member first, the others whose refit fits the budget.

    A member's refit is estimated from its cross-validation time, as the
    search's deadline does. A lone member is stored as its plain
    scikit-learn pipeline. Members left out are dropped and the others'
    weights renormalised, so the model on disk is exactly what ``members``
    describes.
    """
    fitted: list[tuple[float, Any]] = []
    kept: list[dict[str, Any]] = []
    for member in members:
        if fitted and deadline is not None and time.time() + member["refit_s"] >= deadline:
            continue
        config = zoo.complete(member["params"])
        assert config is not None
        fitted.append((member["weight"], zoo.build_pipeline(task, config, x, seed).fit(x, y)))
        kept.append(member)
    total = sum(w for w, _ in fitted)
    kept = [{k: v for k, v in m.items() if k != "refit_s"} | {"weight": round(w / total, 4)}
            for m, (w, _) in zip(kept, fitted)]
    if len(fitted) == 1:
        return fitted[0][1], kept
    return Ensemble(fitted, np.unique(y) if task == "classification" else None), kept


def _store_final(the_lake: Lake, store: Any, experiment_id: str, best_trial_id: str, weights: dict[str, float],
                 task: str, x: Any, y: Any, seed: int, folds: int, deadline: float | None) -> list[dict[str, Any]]:
    """Refit the final model, store it (``model.pkl``, ``members.json``) and point the best trial's row at it."""
    rows = {r["trial_id"]: r for r in query.query(the_lake, "SELECT * FROM trials WHERE experiment_id = ?",
                                                   [experiment_id], experiment_id).to_pylist()}
    members = [{"trial_id": t, "weight": w, "params": json.loads(rows[t]["params"]),
                "refit_s": refit_estimate(rows[t]["duration_s"] or 0.0, folds)}
               for t, w in sorted(weights.items(), key=lambda kv: -kv[1])]
    model, members = _refit(members, task, x, y, seed, deadline)
    with tempfile.TemporaryDirectory() as tmp:
        with open(Path(tmp, "model.pkl"), "wb") as f:
            pickle.dump(model, f)
        Path(tmp, "members.json").write_text(json.dumps(members, indent=2, default=str))
        model_uri = store.save(Path(tmp), experiment_id, best_trial_id)
    row = {k: v for k, v in rows[best_trial_id].items() if k not in ("version", "updated_at", "schema_version")}
    the_lake.append(TRIALS, [{**row, "model_uri": model_uri}])
    return members


def automl(data: str, target: str, lake: str | None = None, trials: int = 20, time_budget_s: float | None = None,
           metric: str | None = None, folds: int = 3, warm_start: bool = True, k: int = 5, seed: int = 0,
           address: str | None = None, progress: bool = False, experiment_id: str | None = None,
           exclude: frozenset[str] = frozenset(), early_stop: bool = True,
           ensemble: bool = False) -> AutoMLResult:
    """Search the zoo on ``data``; ``exclude`` keeps those datasets' history out of the warm start.

    ``early_stop`` lets ASHA stop a configuration whose first fold is in the
    worse half, so more configurations fit in a budget; searches that are
    judged per trial (the evaluation, the prior's bootstrap) turn it off.
    ``ensemble`` makes the final model a weighted ensemble selected on the
    trials' out-of-fold predictions (the best pipeline alone when no blend
    beats it there). Off by default: on the FLAML benchmark's 24 splits it
    did not raise test scores (docs/benchmarks.md).
    """
    started = time.time()
    from sklearn.metrics import get_scorer

    the_lake = Lake(lake)
    info = _describe(data, target)
    task = info.task
    assert task is not None and info.meta_features is not None
    x, y = _xy(info)
    metric = metric or DEFAULT_METRIC[task]
    try:
        get_scorer(metric)
    except ValueError:
        raise UserInputError(f"--metric: {metric!r} is not a scikit-learn scorer (e.g. accuracy, "
                             "balanced_accuracy, f1_macro, roc_auc, r2, neg_root_mean_squared_error)") from None
    record(the_lake, info)
    dataset_id, meta = info.dataset_id, info.meta_features
    families = zoo.families_for(len(x))
    proposals = recommend(the_lake, meta, task, k, exclude=exclude) if warm_start \
        else [Proposal(zoo.active(zoo.default_config()), None)]
    points = _unique([c for c in (zoo.complete(p.config) for p in proposals) if c and c["family"] in families])
    deadline = started + time_budget_s if time_budget_s else None
    stop = Deadline(deadline, folds, refits=BLEND_REFITS if ensemble else 1) if deadline else None
    experiment_id = experiment_id or new_experiment_id(f"automl-{Path(data).stem}")
    store = model_store(ModelStorage(), the_lake.uri, the_lake.fs.local_path())
    search = {"family": families, **{k: None for f in zoo.FAMILIES.values() for k in f.params}}
    experiment_row = {
        "experiment_id": experiment_id, "name": f"automl-{Path(data).stem}", "primary_metric": metric, "mode": "max",
        "algorithm": "tpe", "scheduler": "asha" if early_stop else "fifo", "num_samples": trials,
        "dataset_id": dataset_id,
        "spec": json.dumps({"automl": {"data": where(data), "target": target, "task": task,
                                       "metric": metric, "folds": folds, "warm_start": warm_start,
                                       "ensemble": ensemble,
                                       "proposals": [p.config for p in proposals]}, "search": search}, default=str),
        "command": "tunelake automl", "code_source": "tunelake.metalearn.zoo", "created_at": utcnow(),
        "host": socket.gethostname(), "model_storage": store.uri_for(experiment_id, ""),
    }
    the_lake.append(EXPERIMENTS, [{**experiment_row, "status": ExperimentStatus.RUNNING.value}])
    use_tune_env()
    tally = Tally(mode="max", metric=metric)
    recorder = LakeRecorder(the_lake, experiment_id, tally, STOPPED,
                            dataset_id=dataset_id, params_view=zoo.active)
    callbacks: list[tune.Callback] = [recorder]
    if progress:
        callbacks.append(ProgressDisplay(tally, experiment_id, trials))
    import optuna
    from optuna.samplers import TPESampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    with ray_session(address):
        width = 4 * len(x) * (y.nunique() if task == "classification" else 1)  # bytes of one trial's predictions
        out_of_fold = OutOfFold.remote(max(2, min(BLEND_CANDIDATES, BLEND_BYTES // width))) if ensemble else None
        slots = concurrency(None)
        gate = start_gate(slots, trials)
        trainable = tune.with_parameters(automl_trial, data=(x, y), task=task, metric=metric, folds=folds, seed=seed,
                                         out_of_fold=out_of_fold, gate=gate)
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                num_samples=trials, reuse_actors=True, max_concurrent_trials=slots,
                scheduler=fold_scheduler(folds) if early_stop else None,
                search_alg=PruningOptunaSearch(zoo_space(families), metric=OBJECTIVE, mode="max",
                                               points_to_evaluate=points or None, sampler=TPESampler(seed=seed))),
            run_config=tune.RunConfig(name=experiment_id, storage_path=tempfile.mkdtemp(prefix="tunelake-tune-"),
                                      verbose=0, callbacks=callbacks, stop=stop),
        )
        try:
            tuner.fit()
        finally:
            recorder.close()
            close_gate(gate)
        best = query.best_trial(the_lake, experiment_id)
        weights, blend_score = ({best["trial_id"]: 1.0} if best else {}), None
        if best and out_of_fold is not None:
            picked, score = _blend_weights(ray.get(out_of_fold.take.remote()), y, metric, task)
            if picked:  # empty only if no finished trial's predictions arrived; then the best alone
                weights, blend_score = picked, score
        if out_of_fold is not None:
            ray.kill(out_of_fold)
    members = _store_final(the_lake, store, experiment_id, best["trial_id"], weights, task, x, y, seed, folds,
                           deadline) \
        if best else []
    counts = query.status_counts(the_lake, experiment_id)
    status = ExperimentStatus.COMPLETED if best else ExperimentStatus.FAILED
    the_lake.append(EXPERIMENTS, [{
        **experiment_row, "status": status.value, "finished_at": utcnow(),
        "best_trial_id": best["trial_id"] if best else None, "best_value": best["value"] if best else None,
        "best_params": best["params"] if best else None, "error": None if best else "no trial completed",
    }])
    return AutoMLResult(experiment_id=experiment_id, status=status.value, mode="max", lake=the_lake.uri,
                        models=store.uri_for(experiment_id, ""), best_trial_id=best["trial_id"] if best else None,
                        best_value=best["value"] if best else None,
                        best_params=json.loads(best["params"]) if best else None, counts=counts,
                        error=None if best else "no trial completed",
                        trials=query.trials_frame(the_lake, experiment_id), members=members,
                        ensemble_score=blend_score if len(members) == len(weights) > 1 else None)
