"""Ensemble selection over a search's out-of-fold predictions (Caruana et al., 2004).

Picking the single best of a hundred configurations by cross-validation on a
few hundred rows rewards the luckiest as much as the best. A weighted
average of several good pipelines, chosen greedily on the same out-of-fold
predictions every trial already made, varies less from one split to the
next. Every trial of a search uses the same folds, so their out-of-fold
predictions line up row by row and can be blended before anything is refit.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

Score = tuple[float, float]  # the scorer's value, then minus the squared error: compared in that order


def response(model: Any, x: Any, classes: np.ndarray | None) -> np.ndarray:
    """What a fitted model says about ``x``, in a form that averages.

    Classification: probabilities in the columns of ``classes`` (a model
    without probabilities, such as an SVM, votes one-hot; a class a fold never
    saw gets zero). Regression (``classes`` is ``None``): the predictions.
    """
    if classes is None:
        return np.asarray(model.predict(x), dtype=float)
    out = np.zeros((len(x), len(classes)))
    if hasattr(model, "predict_proba"):
        out[:, np.searchsorted(classes, model.classes_)] = model.predict_proba(x)
    else:
        out[np.arange(len(x)), np.searchsorted(classes, model.predict(x))] = 1.0
    return out


class _Given(BaseEstimator):
    """An estimator whose answers are given, so any scikit-learn scorer can judge a blend."""

    def __init__(self, values: np.ndarray, classes: np.ndarray | None) -> None:
        self.values = values
        self.classes = classes

    def predict(self, x: Any) -> np.ndarray:
        return self.values if self.classes is None else self.classes[np.argmax(self.values, axis=1)]


class _GivenClassifier(ClassifierMixin, _Given):
    @property
    def classes_(self) -> np.ndarray:
        assert self.classes is not None
        return self.classes

    def predict_proba(self, x: Any) -> np.ndarray:
        return self.values


class _GivenRegressor(RegressorMixin, _Given):
    pass


def judge(scorer: Callable[..., float], y: Any, classes: np.ndarray | None) -> Callable[[np.ndarray], Score]:
    """How good a blend of out-of-fold responses is against ``y``: the scorer's value, then a tie-breaker.

    Scorers return higher-is-better values. Accuracy-like ones are coarse, so
    many blends tie; the squared error of the blend's probabilities (or
    predictions) breaks the tie toward the blend that is surer where it is
    right, which is what a new, different member adds and a repeat does not.
    """
    rows = np.zeros((len(y), 1))
    truth = np.asarray(y, dtype=float) if classes is None else \
        (np.asarray(y)[:, None] == classes[None, :]).astype(float)

    def score(values: np.ndarray) -> Score:
        given = _GivenRegressor(values, None) if classes is None else _GivenClassifier(values, classes)
        return float(scorer(given, rows, y)), -float(np.mean((values - truth) ** 2))
    return score


def select(predictions: dict[str, np.ndarray], score: Callable[[np.ndarray], Score],
           rounds: int = 20) -> tuple[dict[str, float], float]:
    """Greedy forward selection with replacement; the weights of the best-scoring prefix and its score.

    Each round adds the member (repeats allowed, which is how weights arise)
    whose addition scores best; the first round picks the best single
    model, so the result is never worse than it on these predictions. Of
    equally good prefixes the shortest wins, so a blend must earn its size.
    """
    ids = list(predictions)
    if not ids:
        return {}, -math.inf
    chosen: list[str] = []
    total = np.zeros_like(predictions[ids[0]], dtype=float)
    best_size, best = 0, (-math.inf, -math.inf)
    for size in range(1, rounds + 1):
        scores = {i: score((total + predictions[i]) / size) for i in ids}
        pick = max(ids, key=lambda i: scores[i])
        chosen.append(pick)
        total = total + predictions[pick]
        if scores[pick] > best:
            best_size, best = size, scores[pick]
    counts: dict[str, float] = {}
    for i in chosen[:best_size]:
        counts[i] = counts.get(i, 0.0) + 1.0 / best_size
    return counts, best[0]


class Ensemble:
    """Fitted pipelines and their weights: averaged probabilities (classification) or predictions (regression).

    ``predict`` takes the same frame as each member pipeline; unpickling it
    needs tunelake installed, where a single pipeline needs only scikit-learn.
    """

    def __init__(self, members: list[tuple[float, Any]], classes: np.ndarray | None) -> None:
        total = sum(w for w, _ in members)
        self.members = [(w / total, m) for w, m in members]
        self.classes_ = classes

    def _blend(self, x: Any) -> np.ndarray:
        return sum(w * response(m, x, self.classes_) for w, m in self.members)  # type: ignore[return-value]

    def predict_proba(self, x: Any) -> np.ndarray:
        if self.classes_ is None:
            raise AttributeError("a regression ensemble has no predict_proba")
        return self._blend(x)

    def predict(self, x: Any) -> np.ndarray:
        blend = self._blend(x)
        return blend if self.classes_ is None else self.classes_[np.argmax(blend, axis=1)]
