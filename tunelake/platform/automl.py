"""``tunelake automl``: point at data, get a tuned model, warm-started from the lake.

Trials run in-process on Ray Tune (the data goes to the object store once),
score by k-fold cross-validation, and land in the lake like any experiment,
with the dataset's id, so later searches learn from them. The best pipeline
is refit on all the data and stored through the lake's model store.
"""

from __future__ import annotations

import json
import pickle
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from ray import tune

from tunelake.cluster.connect import ray_session
from tunelake.errors import UserInputError
from tunelake.metalearn import zoo
from tunelake.metalearn.dataset import DatasetInfo, describe, record
from tunelake.metalearn.recommend import Proposal, recommend
from tunelake.platform.experiment import Result, new_experiment_id, use_tune_env
from tunelake.platform.modelstore import model_store
from tunelake.platform.progress import ProgressDisplay
from tunelake.platform.recorder import LakeRecorder, Tally
from tunelake.platform.spec import Dataset, ModelStorage
from tunelake.platform.trainable import FINAL, OBJECTIVE, Outcome, node_name
from tunelake.store import query
from tunelake.store.lake import Lake, utcnow
from tunelake.store.schema import EXPERIMENTS, TRIALS, ExperimentStatus

DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2"}


def zoo_space(families: list[str]) -> dict[str, Any]:
    """The zoo as one flat Tune space (``family`` + every family's namespaced hyperparameters)."""
    samplers = {
        "uniform": lambda p: tune.uniform(p.low, p.high),
        "loguniform": lambda p: tune.loguniform(p.low, p.high),
        "int": lambda p: tune.randint(int(p.low), int(p.high) + 1),
        "logint": lambda p: tune.lograndint(int(p.low), int(p.high) + 1),
        "choice": lambda p: tune.choice(list(p.values)),
    }
    space: dict[str, Any] = {"family": tune.choice(families)}
    for family in zoo.FAMILIES.values():
        for name, param in family.params.items():
            space[zoo.key(family.name, name)] = samplers[param.kind](param)
    return space


def _folds(task: str, folds: int, seed: int) -> Any:
    from sklearn.model_selection import KFold, StratifiedKFold

    return (StratifiedKFold if task == "classification" else KFold)(folds, shuffle=True, random_state=seed)


def automl_trial(config: dict[str, Any], data: tuple[Any, Any], task: str, metric: str, folds: int,
                 seed: int) -> None:
    """One configuration, scored by k-fold cross-validation; failures are results too."""
    from sklearn.model_selection import cross_val_score

    x, y = data
    started = time.time()
    base = {"tl_kind": FINAL, "tl_node": node_name(), "tl_started_at": started, "tl_steps": folds}
    try:
        pipeline = zoo.build_pipeline(task, config, x, seed)
        scores = cross_val_score(pipeline, x, y, cv=_folds(task, folds, seed), scoring=metric, error_score="raise")
    except Exception as exc:  # a configuration that cannot fit is a failed trial, not a failed search
        tune.report({**base, "tl_outcome": Outcome.FAILED, "tl_reason": f"{type(exc).__name__}: {exc}"[:2000],
                     "tl_metrics": {}, "tl_reports": "[]", "tl_duration_s": time.time() - started})
        return
    value = float(scores.mean())
    reports = [{"step": i + 1, "metrics": {f"fold_{metric}": float(s)}, "at": time.time()} for i, s in enumerate(scores)]
    tune.report({**base, OBJECTIVE: value, "tl_outcome": Outcome.COMPLETED,
                 "tl_metrics": {metric: value, f"{metric}_std": float(scores.std())},
                 "tl_reports": json.dumps(reports), "tl_duration_s": time.time() - started})


def _where(data: str) -> str:
    """``data`` as recorded: an ``s3://`` URI as given, a local path made absolute."""
    return data if data.startswith("s3://") else str(Path(data).expanduser().resolve())


def _describe(data: str, target: str) -> DatasetInfo:
    return describe(Dataset(uri=_where(data), target=target), fields=("data", "--target"))


def _xy(info: DatasetInfo) -> tuple[Any, Any]:
    """Features and target, ready for the zoo's pipelines (rows without a target dropped)."""
    target = info.target
    frame = info.table.to_pandas()
    frame = frame[frame[target].notna()]
    x = zoo.prepare_frame(frame.drop(columns=[target]))
    y = frame[target].astype(str) if info.task == "classification" else frame[target].astype(float)
    return x, y


def proposals_for(lake: Lake, data: str, target: str, k: int) -> tuple[list[Proposal], str, dict[str, float]]:
    """What the meta-model proposes for a dataset: the same meta-features the lake keeps for it."""
    info = _describe(data, target)
    assert info.task is not None and info.meta_features is not None
    return recommend(lake, info.meta_features, info.task, k), info.task, info.meta_features


def automl(data: str, target: str, lake: str | None = None, trials: int = 20, time_budget_s: float | None = None,
           metric: str | None = None, folds: int = 3, warm_start: bool = True, k: int = 5, seed: int = 0,
           address: str | None = None, progress: bool = False, experiment_id: str | None = None,
           exclude: frozenset[str] = frozenset()) -> Result:
    """Search the zoo on ``data``; ``exclude`` keeps those datasets' history out of the warm start."""
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
    points = [c for c in (zoo.complete(p.config) for p in proposals) if c and c["family"] in families]
    experiment_id = experiment_id or new_experiment_id(f"automl-{Path(data).stem}")
    store = model_store(ModelStorage(), the_lake.uri, the_lake.fs.local_path())
    search = {"family": families, **{k: None for f in zoo.FAMILIES.values() for k in f.params}}
    experiment_row = {
        "experiment_id": experiment_id, "name": f"automl-{Path(data).stem}", "primary_metric": metric, "mode": "max",
        "algorithm": "tpe", "scheduler": "fifo", "num_samples": trials, "dataset_id": dataset_id,
        "spec": json.dumps({"automl": {"data": _where(data), "target": target, "task": task,
                                       "metric": metric, "folds": folds, "warm_start": warm_start,
                                       "proposals": [p.config for p in proposals]}, "search": search}, default=str),
        "command": "tunelake automl", "code_source": "tunelake.metalearn.zoo", "created_at": utcnow(),
        "host": socket.gethostname(), "model_storage": store.uri_for(experiment_id, ""),
    }
    the_lake.append(EXPERIMENTS, [{**experiment_row, "status": ExperimentStatus.RUNNING.value}])
    use_tune_env()
    tally = Tally(mode="max", metric=metric)
    recorder = LakeRecorder(the_lake, experiment_id, tally, "stopped by Tune (time budget or interrupt)",
                            dataset_id=dataset_id, params_view=zoo.active)
    callbacks: list[tune.Callback] = [recorder]
    if progress:
        callbacks.append(ProgressDisplay(tally, experiment_id, trials))
    import optuna
    from optuna.samplers import TPESampler
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    with ray_session(address):
        trainable = tune.with_parameters(automl_trial, data=(x, y), task=task, metric=metric, folds=folds, seed=seed)
        tuner = tune.Tuner(
            trainable, param_space=zoo_space(families),
            tune_config=tune.TuneConfig(
                metric=OBJECTIVE, mode="max", num_samples=trials, time_budget_s=time_budget_s, reuse_actors=True,
                search_alg=OptunaSearch(points_to_evaluate=points or None, sampler=TPESampler(seed=seed))),
            run_config=tune.RunConfig(name=experiment_id, storage_path=tempfile.mkdtemp(prefix="tunelake-tune-"),
                                      verbose=0, callbacks=callbacks),
        )
        try:
            tuner.fit()
        finally:
            recorder.close()
    best = query.best_trial(the_lake, experiment_id)
    model_uri = None
    if best is not None:
        config = zoo.complete(json.loads(best["params"]))
        assert config is not None
        pipeline = zoo.build_pipeline(task, config, x, seed).fit(x, y)
        with tempfile.TemporaryDirectory() as tmp:
            with open(Path(tmp, "model.pkl"), "wb") as f:
                pickle.dump(pipeline, f)
            model_uri = store.save(Path(tmp), experiment_id, best["trial_id"])
        row = query.query(the_lake, "SELECT * FROM trials WHERE experiment_id = ? AND trial_id = ?",
                          [experiment_id, best["trial_id"]], experiment_id).to_pylist()[0]
        row = {k: v for k, v in row.items() if k not in ("version", "updated_at", "schema_version")}
        the_lake.append(TRIALS, [{**row, "model_uri": model_uri}])
    counts = query.status_counts(the_lake, experiment_id)
    status = ExperimentStatus.COMPLETED if best else ExperimentStatus.FAILED
    the_lake.append(EXPERIMENTS, [{
        **experiment_row, "status": status.value, "finished_at": utcnow(),
        "best_trial_id": best["trial_id"] if best else None, "best_value": best["value"] if best else None,
        "best_params": best["params"] if best else None, "error": None if best else "no trial completed",
    }])
    return Result(experiment_id=experiment_id, status=status.value, mode="max", lake=the_lake.uri,
                  models=store.uri_for(experiment_id, ""), best_trial_id=best["trial_id"] if best else None,
                  best_value=best["value"] if best else None,
                  best_params=json.loads(best["params"]) if best else None, counts=counts,
                  error=None if best else "no trial completed",
                  trials=query.trials_frame(the_lake, experiment_id))
