"""The meta-model: (meta-features of a dataset, features of a configuration) -> expected normalized score.

Fitted, not looked up: a LightGBM regressor learns from every (dataset,
configuration) pair of the history how well a configuration does on data
like this, relative to the best known there (1 = as good as the best,
0 = no better than the median). It ranks configurations it has seen and
ones it has not (a user's own trials), and generalizes across datasets
instead of copying the nearest one. Kept as LightGBM's own text format in
the artifact, which loads in milliseconds and does not depend on pickle.

A second model, the guard, learns from the same pairs whether a
configuration beats or ties the untuned default on that dataset. A
normalized score says how good a pick is expected to be; the guard says how
sure that it is no worse than doing nothing clever, which the score alone
calibrates badly (a pick expected to be good on average can still lose to
the default on one dataset in three). It is the mean of several fits with
different seeds: one fit's row and column sampling alone moved the share of
held-out datasets where the first proposal beats or ties the default by up
to nine points.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tunelake.metalearn import zoo

META_FEATURES = ("log_rows", "log_features", "dimensionality", "ratio_categorical", "missing_ratio",
                 "rows_with_missing_ratio", "max_levels", "n_classes", "class_imbalance", "skew_mean", "skew_max",
                 "kurtosis_mean", "corr_mean", "corr_max", "target_corr_max", "class_entropy", "mi_mean", "mi_max",
                 "lm_stump", "lm_naive_bayes", "lm_linear", "lm_1nn")
PARAMS = tuple((family, name) for family, f in zoo.FAMILIES.items() for name in f.params)
FEATURE_NAMES = (*META_FEATURES, *(f"is_{f}" for f in zoo.FAMILIES), *(f"{f}__{n}" for f, n in PARAMS))
SETTINGS = {"n_estimators": 400, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 10,
            "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "random_state": 0, "n_jobs": 2,
            "verbose": -1}
GUARD_SEEDS = 5
"""The guard is the mean of this many fits (seeds 0, 1, ...). Leave-one-group-out on the shipped matrix: with
one fit, the first proposal beat or tied the default on 74-83% of held-out regression datasets depending on
the seed; the mean of five fits, on 79-81% (seeds 0-4 or 5-9)."""


def _param_value(param: zoo.Param, value: Any) -> float:
    if value is None:
        return math.nan
    if param.kind == "choice":
        return float(param.values.index(value)) if value in param.values else math.nan
    return math.log10(max(float(value), 1e-12)) if param.kind in ("loguniform", "logint") else float(value)


def config_vector(config: dict[str, Any]) -> list[float]:
    """A configuration (active form) as numbers: its family one-hot, then every family's parameters (log10 on
    a log scale), NaN for the parameters of other families."""
    family = config.get("family")
    onehot = [1.0 if family == f else 0.0 for f in zoo.FAMILIES]
    params = [_param_value(zoo.FAMILIES[f].params[n], config.get(n)) if f == family else math.nan for f, n in PARAMS]
    return onehot + params


def meta_vector(meta: dict[str, float]) -> list[float]:
    return [float(meta.get(f, math.nan)) for f in META_FEATURES]


def design(meta: dict[str, float], configs: list[dict[str, Any]]) -> np.ndarray:
    """One row per configuration, all on the dataset ``meta`` describes."""
    left = meta_vector(meta)
    return np.array([left + config_vector(c) for c in configs], dtype=float).reshape(len(configs),
                                                                                    len(FEATURE_NAMES))


@dataclass
class MetaModel:
    """A fitted meta-model; ``text`` is LightGBM's model text (a JSON list of them for the mean of several
    fits), zlib-compressed and base64-encoded (what the artifact keeps: the plain text is five times larger)."""

    text: str

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, guard: bool = False) -> MetaModel:
        """A regressor of the normalized score; with ``guard``, :data:`GUARD_SEEDS` classifiers whose mean
        prediction is the chance of beating or tying the default (``y`` then 1 or 0)."""
        import lightgbm

        estimator = lightgbm.LGBMClassifier if guard else lightgbm.LGBMRegressor
        texts = [estimator(**(SETTINGS | {"random_state": seed})).fit(x, y).booster_.model_to_string()
                 for seed in range(GUARD_SEEDS if guard else 1)]
        packed = zlib.compress((texts[0] if len(texts) == 1 else json.dumps(texts)).encode(), 9)
        return cls(base64.b64encode(packed).decode("ascii"))

    def predict(self, meta: dict[str, float], configs: list[dict[str, Any]]) -> np.ndarray:
        """Expected normalized score (1 = the best known on such data) of each configuration on ``meta``'s data;
        for a guard, each one's chance of beating or tying the default there."""
        if not configs:
            return np.zeros(0)
        return self.predict_rows(design(meta, configs))

    def predict_rows(self, x: np.ndarray) -> np.ndarray:
        return np.mean([np.asarray(b.predict(x), dtype=float) for b in _boosters(self.text)], axis=0)


_BOOSTERS: dict[str, list[Any]] = {}
"""Models already parsed, by their text: each proposal asks for the artifact's meta-model and guard again, and
parsing the guard's five models costs more than predicting with them."""


def _boosters(text: str) -> list[Any]:
    if text not in _BOOSTERS:
        import lightgbm

        if len(_BOOSTERS) >= 8:
            _BOOSTERS.pop(next(iter(_BOOSTERS)))
        plain = zlib.decompress(base64.b64decode(text)).decode()
        texts = json.loads(plain) if plain.startswith("[") else [plain]  # LightGBM's own text starts "tree"
        _BOOSTERS[text] = [lightgbm.Booster(model_str=t) for t in texts]
    return _BOOSTERS[text]


def examples(metas: list[dict[str, float]], configs_per_dataset: list[list[dict[str, Any]]],
             errors_per_dataset: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Training rows from each dataset's configurations and their normalized errors (target: 1 - error)."""
    xs = [design(m, cs) for m, cs in zip(metas, configs_per_dataset) if cs]
    ys = [1.0 - np.asarray(e, dtype=float) for e, cs in zip(errors_per_dataset, configs_per_dataset) if cs]
    if not xs:
        return np.zeros((0, len(FEATURE_NAMES))), np.zeros(0)
    return np.vstack(xs), np.concatenate(ys)


TIE = 1e-4
"""Scores closer than this are a tie (accuracy on a few hundred rows moves in steps of 1e-3 or more)."""


def guard_examples(metas: list[dict[str, float]], configs: list[dict[str, Any]], scores: np.ndarray,
                   default: int) -> tuple[np.ndarray, np.ndarray]:
    """The guard's training rows from a matrix: 1 where a configuration scored at least the default's score
    (column ``default``) on that dataset, else 0; a failed configuration loses to a default that ran."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    y = (s >= s[:, [default]] - TIE).astype(int)
    x = np.vstack([design(m, configs) for m in metas]) if metas else np.zeros((0, len(FEATURE_NAMES)))
    return x, y.ravel()
