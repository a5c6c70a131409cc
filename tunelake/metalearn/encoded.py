"""A classifier for estimators that take integer labels only (XGBoost), answering in the original labels."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone


class LabelEncoded(ClassifierMixin, BaseEstimator):
    """``estimator`` fitted on the label codes; ``classes_``, ``predict`` and ``predict_proba`` speak the labels,
    so pipelines, scorers and the ensemble treat it like any scikit-learn classifier."""

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, x: Any, y: Any) -> LabelEncoded:
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.fitted_ = clone(self.estimator).fit(x, codes)
        return self

    def predict(self, x: Any) -> np.ndarray:
        return self.classes_[np.asarray(self.fitted_.predict(x)).astype(int)]

    def predict_proba(self, x: Any) -> np.ndarray:
        return self.fitted_.predict_proba(x)
