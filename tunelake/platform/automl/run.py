"""``tunelake automl``: point at data, get a tuned model, warm-started from the lake.

Trials score zoo configurations by k-fold cross-validation
(:mod:`~tunelake.platform.automl.trial`) and land in the lake like any
experiment, with the dataset's id, so later searches learn from them. The
best pipeline (or an ensemble) is refit on all the data and stored through
the lake's model store (:mod:`~tunelake.platform.automl.final`).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import ray

from tunelake.cluster.connect import ray_session
from tunelake.ids import new_experiment_id
from tunelake.metalearn import zoo
from tunelake.metalearn.dataset import DatasetInfo, describe, record, where
from tunelake.metalearn.learnable import DEFAULT_METRIC, check_learnable
from tunelake.metalearn.recommend import Proposal, recommend
from tunelake.platform.automl.budget import RefitReserve, refit_estimate
from tunelake.platform.automl.fallback import TRIAL_ID as FALLBACK_ID
from tunelake.platform.automl.fallback import Fallback
from tunelake.platform.automl.final import blend_weights, save_model, store_final, trial_rows
from tunelake.platform.automl.trial import OutOfFold, automl_trial, zoo_space
from tunelake.platform.experiments.lifecycle import ExperimentRecord, Result
from tunelake.platform.models.store import model_store
from tunelake.platform.spec import AutoMLSpec, ModelStorage
from tunelake.platform.tune.runner import Deadline, SearchPlan, TuneStorage, run_search
from tunelake.platform.tune.searchers import conditional_tpe, fold_scheduler
from tunelake.platform.tune.slots import check_a_node_fits
from tunelake.platform.tune.trainable import function_trainable
from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.schema import ExperimentStatus

STOPPED = "stopped early: behind after its first folds (ASHA), or the time budget ran out"
BLEND_CANDIDATES = 20  # the best finished trials whose out-of-fold predictions the ensemble may draw on
BLEND_BYTES = 1 << 30  # at most this much of them held at once (fewer candidates on very large data)
BLEND_REFITS = 3  # refits the time budget reserves when the final model is an ensemble
ZOO_CODE = Path(zoo.__file__)


@dataclass(frozen=True)
class AutoMLResult(Result):
    """A finished AutoML search; ``members`` are the final model's pipelines (trial, weight, configuration)."""

    members: list[dict[str, Any]] = field(default_factory=list)
    ensemble_score: float | None = None  # the chosen blend's score on the out-of-fold predictions


@dataclass(frozen=True)
class Data:
    """The dataset read once: what the lake records, and the features and target the trials fit."""

    info: DatasetInfo
    x: Any
    y: Any

    @property
    def task(self) -> str:
        assert self.info.task is not None
        return self.info.task


def read_data(spec: AutoMLSpec) -> Data:
    """Features and target, ready for the zoo's pipelines (rows without a target dropped), once the data,
    its target and the metric are known to make a problem a search can learn."""
    def learnable(table: Any, task: str) -> None:
        check_learnable(table, spec.target, task, metric_of(spec, task), spec.folds)

    info = describe(where(spec.data), spec.target, fields=("data", "--target"), check=learnable)
    frame = info.table.to_pandas()
    frame = frame[frame[spec.target].notna()]
    x = zoo.prepare_frame(frame.drop(columns=[spec.target]))
    y = frame[spec.target].astype(str) if info.task == "classification" else frame[spec.target].astype(float)
    return Data(info, x, y)


def metric_of(spec: AutoMLSpec, task: str) -> str:
    return spec.metric or DEFAULT_METRIC[task]


def _unique(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points in order, each once (the hedge may also be among the proposals)."""
    return list({json.dumps(p, sort_keys=True, default=str): p for p in points}.values())


def _record(lake: Lake, experiment_id: str, spec: AutoMLSpec, data: Data, metric: str,
            proposals: list[Proposal]) -> ExperimentRecord:
    search = {"family": zoo.families_for(len(data.x), spec.families),
              **{k: None for f in zoo.FAMILIES.values() for k in f.params}}
    options = {**spec.model_dump(mode="json"), "data": where(spec.data), "task": data.task, "metric": metric,
               "proposals": [p.config for p in proposals]}
    description = {
        "name": f"automl-{Path(spec.data).stem}", "primary_metric": metric, "mode": "max", "algorithm": "tpe",
        "scheduler": "asha" if spec.early_stop else "fifo", "num_samples": spec.trials,
        "dataset_id": data.info.dataset_id, "spec": json.dumps({"automl": options, "search": search}, default=str),
        "command": "tunelake automl", "code_source": "tunelake.metalearn.zoo",
        "code_commit": "sha256:" + hashlib.sha256(ZOO_CODE.read_bytes()).hexdigest()[:24],
    }
    store = model_store(ModelStorage(), lake.uri, lake.fs.local_path())
    return ExperimentRecord(lake, experiment_id, description, store.uri_for(experiment_id, ""))


def automl(spec: AutoMLSpec, lake: str | None = None, address: str | None = None, progress: bool = False,
           experiment_id: str | None = None, exclude: frozenset[str] = frozenset()) -> AutoMLResult:
    """Search the zoo on ``spec.data``; ``exclude`` keeps those datasets' history out of the warm start.

    ``spec.early_stop`` lets ASHA stop a configuration whose first fold is in
    the worse half, so more configurations fit in a budget; searches that are
    judged per trial (the evaluation, the prior's bootstrap) turn it off.
    ``spec.ensemble`` makes the final model a weighted ensemble selected on
    the trials' out-of-fold predictions (the best pipeline alone when no
    blend beats it there). Off by default: on the FLAML benchmark's 24
    splits it did not raise test scores (docs/benchmarks.md).
    """
    started = time.time()
    the_lake = Lake(lake)
    data = read_data(spec)
    metric = metric_of(spec, data.task)
    fallback = Fallback(data.task, data.x, data.y, metric, spec.folds, spec.seed) if spec.time_budget_s else None
    record(the_lake, data.info)
    assert data.info.meta_features is not None
    proposals = recommend(the_lake, data.info.meta_features, data.task, min(spec.k, spec.trials), exclude=exclude) \
        if spec.warm_start else [Proposal(zoo.active(zoo.default_config()), None)]
    experiment_id = experiment_id or new_experiment_id(f"automl-{Path(spec.data).stem}")
    experiment = _record(the_lake, experiment_id, spec, data, metric, proposals)
    deadline = started + spec.time_budget_s if spec.time_budget_s else None
    with experiment.running():
        with ray_session(address):
            members, blend_score = _search_and_fit(experiment, spec, data, metric, proposals, deadline, progress,
                                                   fallback)
        result = experiment.finish() if members else experiment.end(ExperimentStatus.FAILED, "no trial completed")
    return AutoMLResult(**{f.name: getattr(result, f.name) for f in fields(Result)}, members=members,
                        ensemble_score=blend_score)


def _search_and_fit(experiment: ExperimentRecord, spec: AutoMLSpec, data: Data, metric: str,
                    proposals: list[Proposal], deadline: float | None, progress: bool,
                    fallback: Fallback | None) -> tuple[list[dict[str, Any]], float | None]:
    """Run the search, then fit and store the final model; its members (none if no trial completed)."""
    lake, experiment_id = experiment.lake, experiment.experiment_id
    check_a_node_fits(1, spec.gpus_per_trial)
    families = zoo.families_for(len(data.x), spec.families)
    points = _unique([c for c in (zoo.complete(p.config) for p in proposals) if c and c["family"] in families
                      and not (fallback and c == fallback.config)])  # the driver already scores the default
    width = 4 * len(data.x) * (data.y.nunique() if data.task == "classification" else 1)  # bytes per trial
    out_of_fold = OutOfFold.remote(max(2, min(BLEND_CANDIDATES, BLEND_BYTES // width))) if spec.ensemble else None
    reserve = RefitReserve(spec.folds, refits=BLEND_REFITS if spec.ensemble else 1)
    try:
        run_search(SearchPlan(
            experiment_id=experiment_id, lake=lake, metric=metric, mode="max",
            trainable=function_trainable(automl_trial, data=(data.x, data.y), task=data.task, metric=metric,
                                         folds=spec.folds, seed=spec.seed, out_of_fold=out_of_fold),
            searcher=conditional_tpe(zoo_space(families), points, "max", spec.seed), num_samples=spec.trials,
            trial_count=spec.trials, storage=TuneStorage(tempfile.mkdtemp(prefix="tunelake-tune-")), stop_reason=STOPPED,
            scheduler=fold_scheduler(spec.folds) if spec.early_stop else None,
            stop=Deadline(deadline, reserve) if deadline else None, dataset_id=data.info.dataset_id,
            params_view=zoo.active, progress=progress, gpus_per_trial=spec.gpus_per_trial))
        if fallback is not None:
            fallback.settle(deadline, need_score=catalog.best_trial(lake, experiment_id) is None)
            fallback.record(lake, experiment_id, data.info.dataset_id, experiment.description.get("code_commit"))
        best = catalog.best_trial(lake, experiment_id)
        weights, blend_score = ({best["trial_id"]: 1.0} if best else {}), None
        if best and out_of_fold is not None:
            picked, score = blend_weights(ray.get(out_of_fold.take.remote()), data.y, metric, data.task)
            if picked:  # empty only if no finished trial's predictions arrived; then the best alone
                weights, blend_score = picked, score
    finally:
        if out_of_fold is not None:
            ray.kill(out_of_fold)
    store = model_store(ModelStorage(), lake.uri, lake.fs.local_path())
    if fallback is not None and (not best or best["trial_id"] == FALLBACK_ID or not _refit_fits(best, spec, deadline)):
        model = fallback.take_model()  # the one wait past the deadline: for the model a budget must deliver
        if model is not None:
            member = {"trial_id": FALLBACK_ID, "weight": 1.0, "params": zoo.active(fallback.config)}
            save_model(lake, store, trial_rows(lake, experiment_id)[FALLBACK_ID], model, [member])
            return [member], None
    if not best:
        return [], None
    members = store_final(lake, store, experiment_id, best["trial_id"], weights, data.task, data.x, data.y,
                          spec.seed, spec.folds, deadline)
    return members, blend_score if len(members) == len(weights) > 1 else None


def _refit_fits(best: dict[str, Any], spec: AutoMLSpec, deadline: float | None) -> bool:
    """Whether refitting ``best`` on all rows should end within the budget and its 10% grace."""
    if deadline is None or spec.time_budget_s is None:
        return True
    return time.time() + refit_estimate(best["duration_s"] or 0.0, spec.folds) <= deadline + 0.1 * spec.time_budget_s
