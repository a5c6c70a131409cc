"""The dense history as a matrix: datasets x pool configurations, per task.

Scores of different datasets are not comparable (0.99 accuracy may be poor
on one and 0.60 excellent on another), so what portfolios and the meta-model
learn from is each dataset's *normalized error* as TabRepo defines it: 0 for
the best configuration on that dataset, 1 for its median or worse, linear in
between. A configuration that failed (or is missing) on a dataset counts as 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tunelake.metalearn.pool import by_key, canonical


@dataclass(frozen=True)
class Matrix:
    """One task's dense history; ``scores[i, j]`` is configuration ``config_ids[j]`` on dataset ``i``
    (higher is better, NaN where it failed)."""

    task: str
    dataset_ids: list[str]
    names: list[str]
    meta_features: list[dict[str, float]]
    config_ids: list[str]
    configs: list[dict[str, Any]]
    scores: np.ndarray
    groups: list[str] = field(default_factory=list)  # datasets of one group are held out together

    def errors(self) -> np.ndarray:
        """Normalized errors, each row: (best - score) / (best - median), clipped to [0, 1]; NaN is 1."""
        return normalized_errors(self.scores)

    def take(self, rows: list[int] | np.ndarray) -> Matrix:
        """The matrix of these datasets only."""
        rows = list(rows)
        return Matrix(self.task, [self.dataset_ids[i] for i in rows], [self.names[i] for i in rows],
                      [self.meta_features[i] for i in rows], self.config_ids, self.configs, self.scores[rows],
                      [self.groups[i] for i in rows] if self.groups else [])


def normalized_errors(scores: np.ndarray) -> np.ndarray:
    """Per row of ``scores`` (higher better): 0 at the row's best, 1 at its median or below; NaN becomes 1."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    with np.errstate(all="ignore"):
        best = np.nanmax(np.where(np.isnan(scores), -np.inf, scores), axis=1, keepdims=True)
        median = np.nanmedian(scores, axis=1, keepdims=True)
        span = best - median
        errors = np.where(span > 0, (best - scores) / np.where(span > 0, span, 1.0), np.where(scores >= best, 0, 1))
    return np.clip(np.nan_to_num(errors, nan=1.0), 0.0, 1.0)


def from_rows(rows: list[dict[str, Any]], groups: dict[str, str] | None = None) -> dict[str, Matrix]:
    """The matrices (one per task) from the lake's pool trials (``catalog.pool_scores``), in pool order."""
    pool = by_key()
    order = {c.config_id: i for i, c in enumerate(pool.values())}
    by_task: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        candidate = pool.get(canonical(json.loads(r["params"])))
        if candidate is None:  # a configuration of another pool version
            continue
        entry = by_task.setdefault(r["task"], {}).setdefault(r["dataset_id"], {
            "name": r["name"], "meta": json.loads(r["meta_features"] or "{}"), "scores": {}})
        entry["scores"][candidate.config_id] = r["value"]
    matrices = {}
    for task, datasets in by_task.items():
        config_ids = sorted({c for d in datasets.values() for c in d["scores"]}, key=order.__getitem__)
        ids = sorted(datasets, key=lambda d: datasets[d]["name"])
        scores = np.array([[_nan(datasets[d]["scores"].get(c)) for c in config_ids] for d in ids], dtype=float)
        by_id = {c.config_id: c.config for c in pool.values()}
        names = [datasets[d]["name"] for d in ids]
        matrices[task] = Matrix(task, ids, names, [datasets[d]["meta"] for d in ids], config_ids,
                                [by_id[c] for c in config_ids], scores,
                                [(groups or {}).get(n, n) for n in names])
    return matrices


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
