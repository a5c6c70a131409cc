"""Warm-start proposals for a new dataset, from every earlier AutoML trial in the lake.

Offline, nothing is fitted: the lake is the model. Online, for a dataset's
meta-features, the recommender finds the nearest earlier datasets of the
same task (standardized meta-feature distance), scores each configuration
tried there by its normalized score on its own dataset (1 = the best seen
there, 0 = the worst) weighted by how near that dataset is, and proposes the
best predicted first, at most two of a family, so the proposals are diverse
without filling up with a weak family's best. A robust default
(histogram gradient boosting with its defaults) is always among them, since a
proposal learned from other data can lose to a plain default.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from tunelake.metalearn.dataset import describe, where
from tunelake.metalearn.features import FEATURE_SET
from tunelake.metalearn.prior import load_prior
from tunelake.metalearn.zoo import DEFAULT_FAMILY, FAMILIES, active, default_config
from tunelake.store import catalog
from tunelake.store.lake import Lake

DISTANCE_FEATURES = ("log_rows", "log_features", "ratio_categorical", "missing_ratio", "n_classes",
                     "class_entropy", "skew_mean", "corr_mean", "mi_mean", "lm_stump", "lm_1nn", "lm_linear",
                     "lm_naive_bayes")
NEIGHBOURS = 5
MAX_PER_FAMILY = 2


@dataclass(frozen=True)
class Proposal:
    config: dict[str, Any]  # family + that family's hyperparameters
    predicted: float | None  # normalized score expected (1 = best seen on similar data)
    evidence: list[dict[str, Any]] = field(default_factory=list)  # nearest datasets behind it


def _history(lake: Lake, task: str, use_prior: bool = True) -> list[dict[str, Any]]:
    """Earlier completed AutoML trials of ``task``: the lake's, then the shipped prior's."""
    rows = catalog.automl_history(lake, task, FEATURE_SET)
    prior = load_prior() if use_prior else None
    if prior is not None:
        seen = {r["dataset_id"] for r in rows}
        rows += [{"dataset_id": d.dataset_id, "name": d.name, "meta_features": json.dumps(d.meta_features),
                  "params": json.dumps(config), "value": value}
                 for d in prior.datasets if d.task == task and d.dataset_id not in seen for config, value in d.trials]
    return rows


def _vector(meta: dict[str, float]) -> list[float]:
    return [float(meta.get(f, 0.0)) for f in DISTANCE_FEATURES]


def distances(meta: dict[str, float], others: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each earlier dataset's distance to ``meta``: Euclidean over meta-features standardized
    across the datasets compared (so no feature wins by its units)."""
    vectors = {d: _vector(m) for d, m in others.items()}
    columns = list(zip(*vectors.values(), _vector(meta)))
    stats = [(sum(c) / len(c), (sum((x - sum(c) / len(c)) ** 2 for x in c) / len(c)) ** 0.5 or 1.0) for c in columns]

    def z(v: list[float]) -> list[float]:
        return [(x - m) / s for x, (m, s) in zip(v, stats)]

    target = z(_vector(meta))
    return {d: math.dist(z(v), target) for d, v in vectors.items()}


def recommend(lake: Lake, meta: dict[str, float], task: str, k: int = 5,
              exclude: frozenset[str] = frozenset(), use_prior: bool = True) -> list[Proposal]:
    """Up to ``k`` proposals (the default among them), best first; ``exclude`` leaves datasets out."""
    rows = [r for r in _history(lake, task, use_prior) if r["dataset_id"] not in exclude]
    hedge = Proposal(active(default_config(DEFAULT_FAMILY)), None, [{"why": "robust default"}])
    if not rows:
        return [hedge]
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_dataset.setdefault(r["dataset_id"], []).append(r)
    distance = distances(meta, {d: json.loads(rs[0]["meta_features"] or "{}") for d, rs in by_dataset.items()})
    nearest = sorted(distance, key=distance.get)[:NEIGHBOURS]
    candidates: list[Proposal] = []
    for d in nearest:
        values = [r["value"] for r in by_dataset[d]]
        lo, hi = min(values), max(values)
        weight = 1.0 / (1.0 + distance[d])
        for r in by_dataset[d]:
            config = json.loads(r["params"])
            if config.get("family") not in FAMILIES:
                continue
            normalized = 1.0 if hi == lo else (r["value"] - lo) / (hi - lo)
            candidates.append(Proposal(config, round(normalized * weight, 4), [{
                "dataset": by_dataset[d][0]["name"], "distance": round(distance[d], 3), "score": r["value"]}]))
    candidates.sort(key=lambda p: -(p.predicted or 0))
    chosen: list[Proposal] = []
    per_family: dict[str, int] = {}
    for p in candidates:  # the best predicted first, at most MAX_PER_FAMILY of a family: diverse, not weak
        family = p.config["family"]
        if len(chosen) < k - 1 and per_family.get(family, 0) < MAX_PER_FAMILY and p.config not in \
                [c.config for c in chosen]:
            chosen.append(p)
            per_family[family] = per_family.get(family, 0) + 1
    return [*chosen, hedge] if all(c.config != hedge.config for c in chosen) else chosen[:k]


def proposals_for(lake: Lake, data: str, target: str, k: int) -> tuple[list[Proposal], str, dict[str, float]]:
    """What the meta-model proposes for a dataset: the same meta-features the lake keeps for it."""
    info = describe(where(data), target, fields=("data", "--target"))
    assert info.task is not None and info.meta_features is not None
    return recommend(lake, info.meta_features, info.task, k), info.task, info.meta_features
