"""Offline: a matrix (and a lake's other AutoML trials) in, the artifact out.

Per task: the greedy portfolio over the whole matrix, the meta-model fitted
on every (dataset, configuration) pair plus the lake's own trials, and the
leave-one-group-out figures that choose which ordering ships.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any, Callable

import numpy as np

from tunelake.metalearn import loo
from tunelake.metalearn.artifact import Artifact, HistoryDataset, TaskHistory
from tunelake.metalearn.features import FEATURE_SET
from tunelake.metalearn.learnable import DEFAULT_METRIC
from tunelake.metalearn.matrix import Matrix, from_rows, normalized_errors
from tunelake.metalearn.metamodel import MetaModel, examples, guard_examples
from tunelake.metalearn.pool import POOL_VERSION, candidates
from tunelake.metalearn.portfolio import SURE, greedy
from tunelake.metalearn.zoo import FAMILIES
from tunelake.store import catalog
from tunelake.store.lake import Lake

POOL_COMMAND = "tunelake metalearn bootstrap"
"""The command the dense bootstrap's experiments carry (how the lake tells them from other searches)."""
PORTFOLIO_SIZE = 32
FIRST_TARGET = 0.8
"""The share of held-out datasets on which an ordering's first proposal must beat or tie the untuned default
for it to ship: among those that reach it (with :data:`FIRST_MARGIN`), the lowest error ships. A first
proposal worse than doing nothing clever costs a user's trust more than a slightly better average earns."""
FIRST_MARGIN = 0.05
"""How far above :data:`FIRST_TARGET` leave-one-group-out must put an ordering. The guard's seeds move that
share (the mean of five fits by two points between seed sets, one fit by up to nine), one held-out
regression dataset is 2.4 points, and the ordering and level are chosen on the same folds that judge them,
which flatters the winner: an ordering shown at exactly 80% reaches 76% as easily."""
UNJUDGED = f"metamodel+portfolio, sure {SURE}"
"""The ordering of a build that does not judge them (too few groups, or ``evaluate=False``)."""
MIN_TRIALS = 5
"""A dataset of a lake teaches the meta-model once it has this many completed trials (fewer say little about
which configurations are better there)."""


def reaches_target(figures: dict[str, Any]) -> bool:
    """Whether an ordering's first proposal beats or ties the default often enough to ship (the figures are
    rounded to 3 places, so the bar is too: 85.0% reaches it)."""
    return figures["first_beats_or_ties_default"] >= round(FIRST_TARGET + FIRST_MARGIN, 3)


def extra_examples(rows: list[dict[str, Any]], skip: set[str]) -> tuple[list[dict[str, float]], list[list[dict]],
                                                                        list[np.ndarray]]:
    """A lake's AutoML trials (``catalog.automl_history``) as the meta-model's examples, per dataset, each
    dataset's scores normalized among its own trials; datasets in ``skip`` (already in the matrix) left out."""
    by_dataset: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["dataset_id"] not in skip:
            by_dataset[r["dataset_id"]].append(r)
    metas, configs, errors = [], [], []
    for trials in by_dataset.values():
        params = [json.loads(t["params"]) for t in trials]
        kept = [(p, t["value"]) for p, t in zip(params, trials) if p.get("family") in FAMILIES]
        if len(kept) < MIN_TRIALS:
            continue
        metas.append(json.loads(trials[0]["meta_features"] or "{}"))
        configs.append([p for p, _ in kept])
        errors.append(normalized_errors(np.array([[v for _, v in kept]]))[0])
    return metas, configs, errors


def task_history(matrix: Matrix, extra: tuple[list, list, list] | None = None, evaluate: bool = True,
                 say: Callable[[str], None] = lambda _: None) -> TaskHistory:
    """What one task's matrix teaches: portfolio, meta-model, and (``evaluate``) the figures that choose."""
    errors = matrix.errors()
    x, y = examples(matrix.meta_features, [matrix.configs] * len(matrix.dataset_ids), list(errors))
    extra_rows = 0
    if extra and extra[0]:
        ex, ey = examples(*extra)
        x, y, extra_rows = np.vstack([x, ex]), np.concatenate([y, ey]), len(ey)
    evaluation: dict[str, Any] = {}
    strategy = UNJUDGED
    if evaluate and len(set(matrix.groups or matrix.names)) > 1:
        evaluation = loo.leave_one_group_out(matrix)
        ranked = sorted(loo.SHIPPABLE, key=lambda s: (not reaches_target(evaluation[s]), overall_error(evaluation[s]),
                                                      loo.SHIPPABLE.index(s)))
        strategy = ranked[0]
        say(f"{matrix.task}: {len(matrix.dataset_ids)} datasets; ships {strategy} (error, first beats or ties the "
            f"default: {'; '.join(_judged(s, evaluation[s]) for s in ranked)})")
    return TaskHistory(
        metric=DEFAULT_METRIC[matrix.task], config_ids=matrix.config_ids,
        datasets=[HistoryDataset(dataset_id=d, name=n, group=g, meta_features=m,
                                 scores=[None if math.isnan(s) else round(float(s), 6) for s in row])
                  for d, n, g, m, row in zip(matrix.dataset_ids, matrix.names, matrix.groups or matrix.names,
                                             matrix.meta_features, matrix.scores)],
        portfolio=[matrix.config_ids[i] for i in greedy(errors, PORTFOLIO_SIZE)],
        meta_model=MetaModel.fit(x, y).text, guard_model=_guard(matrix), strategy=strategy, evaluation=evaluation,
        extra_trials=extra_rows)


def _guard(matrix: Matrix) -> str | None:
    """The guard, fitted on the matrix alone (a lake's other trials rarely ran the default beside them)."""
    if loo.DEFAULT_CONFIG not in matrix.configs:
        return None
    x, y = guard_examples(matrix.meta_features, matrix.configs, matrix.scores, loo.default_index(matrix))
    return MetaModel.fit(x, y, guard=True).text if 0 < y.sum() < len(y) else None


def _judged(strategy: str, figures: dict[str, Any]) -> str:
    return f"{strategy} {overall_error(figures):.4f}, {figures['first_beats_or_ties_default']:.0%}"


def overall_error(figures: dict[str, Any]) -> float:
    """One number per strategy: the mean best normalized error over the first 1, 3, 5 and 10 proposals."""
    return float(np.mean([figures[f"mean_error_k{k}"] for k in (1, 3, 5, 10)]))


def build_artifact(matrices: dict[str, Matrix], extra: dict[str, tuple[list, list, list]] | None = None,
                   evaluate: bool = True, say: Callable[[str], None] = lambda _: None) -> Artifact:
    tasks = {task: task_history(m, (extra or {}).get(task), evaluate, say) for task, m in sorted(matrices.items())}
    return Artifact(configs={c.config_id: c.config for c in candidates()}, tasks=tasks)


def matrix_of(history: TaskHistory, task: str, configs: dict[str, dict[str, Any]]) -> Matrix:
    """A task's matrix back from an artifact (to refit on it with a lake's trials)."""
    scores = np.array([[math.nan if s is None else s for s in d.scores] for d in history.datasets], dtype=float)
    return Matrix(task, [d.dataset_id for d in history.datasets], [d.name for d in history.datasets],
                  [d.meta_features for d in history.datasets], history.config_ids,
                  [configs[c] for c in history.config_ids], scores.reshape(len(history.datasets), -1),
                  [d.group for d in history.datasets])


def merge(first: Matrix, second: Matrix) -> Matrix:
    """Both matrices' datasets over the union of their configurations (``second`` wins on a shared dataset)."""
    config_ids = list(dict.fromkeys([*first.config_ids, *second.config_ids]))
    configs = {**dict(zip(first.config_ids, first.configs)), **dict(zip(second.config_ids, second.configs))}
    rows: dict[str, tuple[str, str, dict[str, float], dict[str, float]]] = {}
    for m in (first, second):
        for i, d in enumerate(m.dataset_ids):
            rows[d] = (m.names[i], (m.groups or m.names)[i], m.meta_features[i], dict(zip(m.config_ids, m.scores[i])))
    ids = sorted(rows, key=lambda d: rows[d][0])
    scores = np.array([[rows[d][3].get(c, math.nan) for c in config_ids] for d in ids], dtype=float)
    return Matrix(first.task, ids, [rows[d][0] for d in ids], [rows[d][2] for d in ids], config_ids,
                  [configs[c] for c in config_ids], scores, [rows[d][1] for d in ids])


def lake_matrices(lake: Lake, groups: dict[str, str] | None = None) -> dict[str, Matrix]:
    """The matrices the dense bootstrap left in ``lake`` (``groups``: dataset name -> group, from a corpus'
    ``index.csv``)."""
    return from_rows(catalog.pool_scores(lake, POOL_COMMAND, POOL_VERSION, FEATURE_SET), groups)


def matrices_of(base: Artifact | None, lake: Lake | None, groups: dict[str, str] | None = None) -> dict[str, Matrix]:
    """``base``'s matrices (the history an artifact keeps) with the dense matrices ``lake`` holds merged in."""
    matrices = {task: matrix_of(h, task, base.configs) for task, h in base.tasks.items()} if base else {}
    for task, own in (lake_matrices(lake, groups) if lake is not None else {}).items():
        matrices[task] = merge(matrices[task], own) if task in matrices else own
    return matrices


def refit(lake: Lake, base: Artifact | None, evaluate: bool = False,
          say: Callable[[str], None] = lambda _: None) -> Artifact:
    """``base``'s history (the shipped one) plus everything ``lake`` holds: its own dense matrices, and every
    other AutoML trial as the meta-model's examples. Without ``evaluate`` each task keeps ``base``'s ordering."""
    matrices = matrices_of(base, lake)
    extra = {}
    for task, matrix in matrices.items():
        rows = catalog.automl_history(lake, task, FEATURE_SET)
        extra[task] = extra_examples(rows, skip=set(matrix.dataset_ids))
    return keep_orderings(build_artifact(matrices, extra, evaluate, say), base if not evaluate else None)


def keep_orderings(artifact: Artifact, base: Artifact | None) -> Artifact:
    """``artifact`` with each task's ordering and its figures taken from ``base`` (a build that did not judge
    the orderings again must not replace the one leave-one-group-out chose)."""
    for task, history in artifact.tasks.items():
        if base and task in base.tasks:
            history.strategy, history.evaluation = base.tasks[task].strategy, base.tasks[task].evaluation
    return artifact
