"""Warm-start proposals for a new dataset: the meta-model's when an artifact is at hand, else the lake's nearest.

With an artifact (the shipped one, one fitted into the lake by ``tunelake
metalearn fit``, or ``$TUNELAKE_PRIOR``), :func:`tunelake.metalearn.propose.propose`
ranks the pool and the lake's own best configurations with the fitted
meta-model. Without one (``TUNELAKE_PRIOR=none``, or a task it does not
know), the baseline it was judged against answers from the lake alone: the
nearest earlier datasets of the same task (standardized meta-feature
distance), each configuration tried there scored by its normalized score on
its own dataset (1 = the best seen there, 0 = the worst) weighted by how
near that dataset is, best first, at most two of a family. A robust default
(histogram gradient boosting with its defaults) is always among the
proposals, since a proposal learned from other data can lose to it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tunelake.metalearn.artifact import load_artifact
from tunelake.metalearn.dataset import describe, where
from tunelake.metalearn.features import FEATURE_SET
from tunelake.metalearn.propose import Proposal, propose
from tunelake.metalearn.zoo import DEFAULT_FAMILY, FAMILIES, active, default_config
from tunelake.store import catalog
from tunelake.store.lake import Lake

DISTANCE_FEATURES = ("log_rows", "log_features", "ratio_categorical", "missing_ratio", "n_classes",
                     "class_entropy", "skew_mean", "corr_mean", "mi_mean", "lm_stump", "lm_1nn", "lm_linear",
                     "lm_naive_bayes")
NEIGHBOURS = 5
MAX_PER_FAMILY = 2


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
    """Up to ``k`` proposals (the default among them), best first; ``exclude`` leaves datasets out (of the
    lake's rows, and of the artifact's meta-model, refitted without them)."""
    rows = [r for r in catalog.automl_history(lake, task, FEATURE_SET) if r["dataset_id"] not in exclude]
    artifact = load_artifact(lake) if use_prior else None
    proposals = propose(artifact, task, meta, k, rows, exclude) if artifact is not None else None
    return proposals if proposals is not None else nearest(rows, meta, k)


def nearest(rows: list[dict[str, Any]], meta: dict[str, float], k: int) -> list[Proposal]:
    """The nearest-neighbour baseline over ``rows`` (``catalog.automl_history``)."""
    hedge = Proposal(active(default_config(DEFAULT_FAMILY)), None, [{"why": "robust default"}])
    if not rows:
        return [hedge]
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_dataset.setdefault(r["dataset_id"], []).append(r)
    distance = distances(meta, {d: json.loads(rs[0]["meta_features"] or "{}") for d, rs in by_dataset.items()})
    closest = sorted(distance, key=distance.get)[:NEIGHBOURS]
    candidates: list[Proposal] = []
    for d in closest:
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
