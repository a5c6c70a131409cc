"""The candidate pool: one fixed, seeded set of zoo configurations that the dense history evaluates everywhere.

A history in which every dataset saw the same configurations is a matrix
(datasets x configurations), and a matrix is what portfolios and a trained
meta-model learn well from (TabRepo, auto-sklearn 2.0): a search's own
trials are few, chosen by its searcher, and differ from one dataset to the
next. The pool holds each family's defaults and seeded random draws from
its space (a log scale where the parameter has one), rounded so the
configurations read well. Its :data:`POOL_VERSION` names it: a change in
what the pool holds is a new version, and the matrix of an older one is
never mixed in.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelake.metalearn import zoo

POOL_VERSION = "pool-1"
SEED = 20241205
DRAWS = {"hgb": 13, "lgbm": 20, "xgb": 20, "rf": 8, "et": 8, "linear": 5, "svm": 11, "knn": 5, "mlp": 14}
"""Random configurations per family, besides its default: more where the space is larger and the family
stronger on tabular data."""
CURATED = [
    # what practitioners reach for first: many small steps with row and column sampling
    {"family": "lgbm", "learning_rate": 0.05, "n_estimators": 400, "num_leaves": 31, "min_child_samples": 10,
     "colsample_bytree": 0.8, "subsample": 0.8, "reg_lambda": 1.0},
    {"family": "lgbm", "learning_rate": 0.03, "n_estimators": 800, "num_leaves": 15, "min_child_samples": 20,
     "colsample_bytree": 0.5, "subsample": 0.7, "reg_lambda": 3.0},
    {"family": "xgb", "learning_rate": 0.05, "n_estimators": 400, "max_depth": 6, "min_child_weight": 1.0,
     "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0},
    {"family": "hgb", "learning_rate": 0.05, "max_iter": 400, "max_leaf_nodes": 31, "min_samples_leaf": 10,
     "l2_regularization": 0.1, "max_features": 0.8},
    {"family": "rf", "n_estimators": 300, "max_features": 0.3, "min_samples_leaf": 1},
    {"family": "et", "n_estimators": 300, "max_features": 0.7, "min_samples_leaf": 1},
]
"""Hand-picked configurations beside the draws (each family's default is in the pool anyway)."""


@dataclass(frozen=True)
class Candidate:
    config_id: str  # c000, c001, ...: stable within a pool version
    config: dict[str, Any]  # active form: family + that family's hyperparameters


def canonical(config: dict[str, Any]) -> str:
    """One text per configuration (active form, sorted keys): how a trial's params find their candidate."""
    return json.dumps(config, sort_keys=True, default=str)


def _draw(param: zoo.Param, rng: np.random.Generator) -> Any:
    if param.kind == "choice":
        return param.values[int(rng.integers(len(param.values)))]
    if param.kind in ("loguniform", "logint"):
        value = math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
    else:
        value = rng.uniform(param.low, param.high + (1 if param.kind == "int" else 0))
    if param.kind in ("int", "logint"):
        return int(min(param.high, max(param.low, math.floor(value) if param.kind == "int" else round(value))))
    return float(f"{value:.3g}")


def candidates() -> list[Candidate]:
    """The pool, in a fixed order: each family's default and its draws, then the curated ones."""
    rng = np.random.default_rng(SEED)
    configs: list[dict[str, Any]] = []
    for name, draws in DRAWS.items():  # pool-1's families: one added to the zoo later needs a new version
        family = zoo.FAMILIES[name]
        configs.append(zoo.active(zoo.default_config(name)))
        for _ in range(draws):
            configs.append({"family": name, **{p: _draw(param, rng) for p, param in family.params.items()}})
    configs += CURATED
    unique = list({canonical(c): c for c in configs}.values())
    return [Candidate(f"c{i:03d}", c) for i, c in enumerate(unique)]


def by_key() -> dict[str, Candidate]:
    return {canonical(c.config): c for c in candidates()}
