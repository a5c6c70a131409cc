"""The default the driver fits while Ray starts: its model first, then its folds, never a wait past the budget
for folds it does not need. Its estimator is held at a gate (a unit test of the thread around it)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_iris

from tunelake.metalearn import zoo
from tunelake.platform.automl.fallback import TRIAL_ID, Fallback
from tunelake.store import catalog
from tunelake.store.lake import Lake

GATE = threading.Event()  # module-level: clone() deep-copies an estimator's parameters, and an Event cannot be
AT_GATE = threading.Event()  # a fold is waiting at the gate


class Held(BaseEstimator, ClassifierMixin):
    """Fits at once the first time (the full fit), then waits at the gate (the folds)."""

    fits = 0

    def fit(self, x, y):  # type: ignore[no-untyped-def]
        Held.fits += 1
        if Held.fits > 1:
            AT_GATE.set()
            assert GATE.wait(30), "the test never opened the gate"
        self.classes_ = np.unique(y)
        return self

    def predict(self, x):  # type: ignore[no-untyped-def]
        return np.full(len(x), self.classes_[0])


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Fallback:
    Held.fits = 0
    GATE.clear()
    AT_GATE.clear()
    monkeypatch.setattr(zoo, "build_pipeline", lambda task, config, x, seed: Held())
    x, y = load_iris(return_X_y=True, as_frame=True)
    fallback = Fallback("classification", x, pd.Series(y.astype(str)), "accuracy", 3, 0)
    yield fallback
    GATE.set()


def _row(lake: Lake) -> dict:
    return {r["trial_id"]: r for r in catalog.trials(lake, "exp")}[TRIAL_ID]


def test_the_model_comes_before_the_folds_and_the_deadline_ends_the_wait_for_them(held: Fallback, tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    assert held.take_model() is not None  # fitted on all rows while its first fold is still held
    assert AT_GATE.wait(30)
    held.settle(until=0.0, need_score=False)  # the deadline has passed: no wait for its folds
    held.record(lake, "exp", None, None)
    row = _row(lake)
    assert row["status"] == "stopped" and row["value"] is None and "0 of 3 folds" in row["reason"]

    GATE.set()
    held._thread.join(30)
    assert len(held.scores) == 1  # the fold under way ended; none began after the deadline
    held.record(lake, "exp", None, None)
    row = _row(lake)
    assert row["status"] == "completed" and row["value"] == held.scores[0] and "1 of 3 folds" in row["reason"]


def test_with_no_search_trial_completed_it_waits_for_one_scored_fold(held: Fallback, tmp_path: Path):
    threading.Timer(0.5, GATE.set).start()
    held.settle(until=0.0, need_score=True)
    assert held.scores and held.take_model() is not None
    lake = Lake(str(tmp_path / "lake"))
    held.record(lake, "exp", None, None)
    assert _row(lake)["status"] == "completed"
