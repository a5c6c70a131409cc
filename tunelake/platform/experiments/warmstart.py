"""Warm starts from the lake, for any program's search space.

Named earlier experiments (``warm_start.experiments``): their results are
told to the searcher without running them again. The meta-model
(``warm_start.meta``, with a dataset): the best configuration found on each
of the earlier datasets nearest this one (by meta-features) runs first.

Earlier trials are mapped onto this spec's search space by parameter name;
a trial whose values do not fit (a name missing, a value outside a range or
not among the choices) is left out rather than guessed at.
"""

from __future__ import annotations

import json
from typing import Any

from tunelake.errors import UserInputError
from tunelake.metalearn.dataset import DatasetInfo
from tunelake.metalearn.features import FEATURE_SET
from tunelake.metalearn.recommend import distances
from tunelake.platform.spec import OPTUNA_SAMPLERS, Choice, Constant, Grid, Int, LogUniform, Param, Spec, Uniform
from tunelake.store import catalog
from tunelake.store.lake import Lake


def _fits(param: Param, value: Any) -> bool:
    if isinstance(param, (Uniform, LogUniform)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and param.low <= value <= param.high
    if isinstance(param, Int):
        return isinstance(value, int) and not isinstance(value, bool) and param.low <= value <= param.high
    if isinstance(param, (Choice, Grid)):
        return value in param.values
    return True


def earlier_results(lake: Lake, spec: Spec) -> list[tuple[dict[str, Any], float]]:
    """Completed trials of ``spec.warm_start.experiments`` that fit this search space."""
    ids = spec.warm_start.experiments
    if not ids:
        return []
    if spec.optimizer.algorithm not in OPTUNA_SAMPLERS:
        raise UserInputError("warm_start.experiments: earlier results can only inform one of Optuna's samplers; "
                             "use optimizer.algorithm 'tpe', 'cmaes', 'gp' or 'qmc'")
    known = catalog.metrics_of(lake, ids)
    missing = sorted(set(ids) - set(known))
    if missing:
        raise UserInputError(f"warm_start.experiments: {', '.join(missing)} not in the lake {lake.uri}")
    other = [e for e, metric in known.items() if metric != spec.primary_metric]
    if other:
        raise UserInputError(f"warm_start.experiments: {', '.join(other)} optimized another metric than "
                             f"{spec.primary_metric!r}; their results cannot be compared")
    rows = catalog.completed_points(lake, ids)
    results = []
    for row in rows:
        point = _fitting(spec, json.loads(row["params"]))
        if point is not None:
            results.append((point, float(row["value"])))
    return results


def _fitting(spec: Spec, params: dict[str, Any]) -> dict[str, Any] | None:
    """``params`` narrowed to this spec's sampled parameters, or ``None`` if they do not fit."""
    sampled = {n: p for n, p in spec.search.items() if not isinstance(p, Constant)}
    if all(name in params and _fits(param, params[name]) for name, param in sampled.items()):
        return {name: params[name] for name in sampled}
    return None


def meta_points(lake: Lake, spec: Spec, dataset: DatasetInfo) -> list[dict[str, Any]]:
    """The best fitting configuration of each of the ``warm_start.k`` earlier datasets nearest
    ``dataset`` (same task and primary metric), nearest first."""
    assert dataset.meta_features is not None
    rows = catalog.history_by_dataset(lake, spec.primary_metric, dataset.task, FEATURE_SET, dataset.dataset_id)
    best: dict[str, tuple[dict[str, Any], float, dict[str, float]]] = {}
    for row in rows:
        point = _fitting(spec, json.loads(row["params"]))
        if point is None:
            continue
        score = catalog.score(row["value"], row["mode"])
        if row["dataset_id"] not in best or score > best[row["dataset_id"]][1]:
            best[row["dataset_id"]] = (point, score, json.loads(row["meta_features"] or "{}"))
    if not best:
        return []
    distance = distances(dataset.meta_features, {d: meta for d, (_, _, meta) in best.items()})
    points: list[dict[str, Any]] = []
    for d in sorted(distance, key=distance.get)[:spec.warm_start.k]:
        if best[d][0] not in points:
            points.append(best[d][0])
    return points
