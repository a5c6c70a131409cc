"""Online: the warm-start proposals for a new dataset, from the artifact and the lake.

The candidates are the pool's configurations and the best ones the lake's
own AutoML searches found; the meta-model predicts each one's normalized
score on the new data, and the ordering the artifact ships (one of
``loo.SHIPPABLE``: the meta-model's, alone, interleaved with the portfolio or
followed by the greedy portfolio that covers what its first pick misses; the
portfolio's; the nearest datasets') picks the first ``k``. The untuned
default is always among them: a proposal learnt elsewhere can lose to it,
so the guard (how sure a pick beats or ties the default here) decides
whether the default or a learnt pick goes first.
Each proposal carries its evidence: the predicted normalized score, the
metric value it reached on the nearest known datasets, and its rank in the
portfolio.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunelake.metalearn.artifact import Artifact, TaskHistory
from tunelake.metalearn.build import PORTFOLIO_SIZE, matrix_of, task_history
from tunelake.metalearn.loo import DEFAULT_CONFIG, nearest
from tunelake.metalearn.metamodel import MetaModel, meta_vector
from tunelake.metalearn.pool import canonical
from tunelake.metalearn.portfolio import SURE, greedy, interleave, safe_first, sure_first
from tunelake.metalearn.zoo import FAMILIES


@dataclass(frozen=True)
class Proposal:
    config: dict[str, Any]  # family + that family's hyperparameters
    predicted: float | None  # normalized score expected (1 = as good as the best known on similar data)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # why: nearest datasets, portfolio rank


NEAREST = 3
LAKE_BEST = 5
"""The best configurations of each dataset in the lake that join the candidates."""


_REFITS: dict[tuple[str, int, frozenset[str]], TaskHistory | None] = {}
"""Held-out refits already made in this process: an evaluation asks for the same one once per contender
(and a benchmark makes it before its clock starts), and a refit (the meta-model and the guard's fits) takes
tens of seconds on 2 cores."""


def _without(history: TaskHistory, task: str, artifact: Artifact, exclude: frozenset[str]) -> TaskHistory | None:
    """The task's history refitted without the ``exclude`` datasets (so an evaluation never learns from the
    dataset it holds out); ``None`` when nothing is left."""
    if not exclude or not any(d.dataset_id in exclude for d in history.datasets):
        return history
    key = (task, hash(history.meta_model), exclude)
    if key not in _REFITS:
        if len(_REFITS) >= 16:
            _REFITS.pop(next(iter(_REFITS)))
        _REFITS[key] = _refit_without(history, task, artifact, exclude)
    refit = _REFITS[key]  # the ordering is the caller's (a benchmark compares orderings on one refit)
    return None if refit is None else refit.model_copy(update={"strategy": history.strategy})


def _refit_without(history: TaskHistory, task: str, artifact: Artifact,
                   exclude: frozenset[str]) -> TaskHistory | None:
    matrix = matrix_of(history, task, artifact.configs)
    kept = [i for i, d in enumerate(matrix.dataset_ids) if d not in exclude]
    if not kept:
        return None
    return task_history(matrix.take(kept), evaluate=False)


def _lake_candidates(rows: list[dict[str, Any]], exclude: frozenset[str]) -> list[dict[str, Any]]:
    """The best configurations of each earlier dataset in the lake (a family of the zoo's only)."""
    best: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for r in rows:
        config = json.loads(r["params"])
        if r["dataset_id"] not in exclude and config.get("family") in FAMILIES:
            best.setdefault(r["dataset_id"], []).append((r["value"], config))
    return [c for trials in best.values() for _, c in sorted(trials, key=lambda t: -t[0])[:LAKE_BEST]]


def _nearest(history: TaskHistory, meta: dict[str, float]) -> list[tuple[int, float]]:
    """The artifact's datasets nearest to ``meta`` (standardized meta-feature distance), with the distance."""
    vectors = np.nan_to_num(np.array([meta_vector(d.meta_features) for d in history.datasets]))
    target = np.nan_to_num(np.array(meta_vector(meta)))
    distance = np.linalg.norm((vectors - target) / (vectors.std(axis=0) + 1e-9), axis=1)
    return [(int(i), float(distance[i])) for i in np.argsort(distance)[:NEAREST]]


def _evidence(history: TaskHistory, config: dict[str, Any], config_id: str | None, predicted: float,
              chance: float | None, near: list[tuple[int, float]]) -> list[dict[str, Any]]:
    column = history.config_ids.index(config_id) if config_id in history.config_ids else None
    seen = [{"dataset": history.datasets[i].name, "distance": round(d, 3),
             history.metric: history.datasets[i].scores[column] if column is not None else None} for i, d in near]
    values = [s[history.metric] for s in seen if s[history.metric] is not None]
    rank = history.portfolio.index(config_id) + 1 if config_id in history.portfolio else None
    return [{"predicted_normalized_score": round(predicted, 4),
             "meaning": "1 = as good as the best known configuration on such data, 0 = no better than the median",
             f"expected_{history.metric}": round(float(np.mean(values)), 4) if values else None,
             "chance_beats_or_ties_default": None if chance is None else round(chance, 3),
             "portfolio_rank": rank, "nearest_datasets": seen}]


def _order(artifact: Artifact, history: TaskHistory, task: str, configs: list[dict[str, Any]],
           predicted: np.ndarray, chance: np.ndarray | None, meta: dict[str, float]) -> list[int]:
    """``configs`` in the order of the strategy the artifact ships (the one leave-one-group-out chose)."""
    index = {canonical(c): i for i, c in enumerate(configs)}

    def of(config_ids: list[str]) -> list[int]:
        return [index[key] for key in (canonical(artifact.configs[c]) for c in config_ids) if key in index]

    by_model = [int(i) for i in np.argsort(-predicted, kind="stable")]
    base, _, hedge = history.strategy.partition(", ")
    if base == "metamodel+portfolio":
        order = interleave(by_model, of(history.portfolio))
    elif base in ("portfolio", "nearest", "metamodel+greedy"):
        in_matrix = set(of(history.config_ids))
        top = next((i for i in by_model if i in in_matrix), None)  # the cover starts from a pick it has scores of
        order = by_model[:1] if base == "metamodel+greedy" else []
        order += of(_ranked(base, history, task, artifact, meta, None if top is None else configs[top]))
        order = list(dict.fromkeys(order + by_model))
    else:
        order = by_model
    default = index.get(canonical(DEFAULT_CONFIG))
    if default is None:
        return order
    hedge, _, level = hedge.partition(" ")
    if hedge == "sure" and chance is not None:
        return sure_first(order, chance, default, threshold=float(level) if level else SURE)
    return safe_first(order, predicted, default) if hedge in ("safe", "sure") else order


def _ranked(base: str, history: TaskHistory, task: str, artifact: Artifact, meta: dict[str, float],
            top: dict[str, Any] | None) -> list[str]:
    """The config ids a matrix-based ordering puts first: the portfolio; the nearest datasets' best; or the
    greedy portfolio that covers what ``top`` (the meta-model's best pick among the matrix's configurations)
    misses. A lake's own configuration may rank above ``top`` and then leads, but the matrix has no scores
    to cover it with."""
    if base == "portfolio":
        return history.portfolio
    matrix = matrix_of(history, task, artifact.configs)
    if base == "nearest":
        return [history.config_ids[i] for i in nearest(matrix, meta)]
    start = [i for i, c in enumerate(matrix.configs) if top is not None and canonical(c) == canonical(top)]
    return [history.config_ids[i] for i in greedy(matrix.errors(), PORTFOLIO_SIZE, start=start)]


def propose(artifact: Artifact, task: str, meta: dict[str, float], k: int, lake_rows: list[dict[str, Any]],
            exclude: frozenset[str] = frozenset()) -> list[Proposal] | None:
    """Up to ``k`` proposals, the default among them when ``k`` > 1 (``k`` = 1 is the top pick alone);
    ``None`` when the artifact knows nothing of ``task``."""
    history = artifact.tasks.get(task)
    if history is None or artifact.model(task) is None:
        return None
    history = _without(history, task, artifact, exclude)
    if history is None:
        return None
    ids = {canonical(artifact.configs[c]): c for c in history.config_ids}
    configs = list({canonical(c): c for c in
                    [*(artifact.configs[c] for c in history.config_ids), *_lake_candidates(lake_rows, exclude)]
                    if FAMILIES[c["family"]].available()}.values())
    predicted = MetaModel(history.meta_model).predict(meta, configs)
    chance = MetaModel(history.guard_model).predict(meta, configs) if history.guard_model else None
    order = _order(artifact, history, task, configs, predicted, chance, meta)
    picked = order[:k]
    if k > 1 and all(canonical(configs[i]) != canonical(DEFAULT_CONFIG) for i in picked):  # k = 1: the top pick
        picked = picked[:k - 1] + [configs.index(DEFAULT_CONFIG)] if DEFAULT_CONFIG in configs else picked
    near = _nearest(history, meta)
    return [Proposal(configs[i], round(float(predicted[i]), 4),
                     _evidence(history, configs[i], ids.get(canonical(configs[i])), float(predicted[i]),
                               None if chance is None else float(chance[i]), near))
            for i in picked]
