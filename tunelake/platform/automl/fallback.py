"""The robust default, fitted on the driver from the first second: the model a short budget always delivers.

On a busy machine Ray's start-up alone can take most of a 10-20 s budget,
and the first trial's folds may not all finish before the deadline; the
search then ended with no model. So while Ray starts, the driver
cross-validates the zoo's default configuration (scikit-learn's
HistGradientBoosting, the hedge every warm start includes) and fits it on
all rows. It lands in the lake as a trial like any other (trial id
``default``), and the final model is its already fitted pipeline whenever no
search trial beats it, none completed, or the best one's refit would
overrun the budget.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any

import numpy as np

from tunelake.cluster.aws import this_instance_type
from tunelake.cluster.cost import trial_cost
from tunelake.metalearn import zoo
from tunelake.platform.automl.trial import folds_of
from tunelake.store.lake import Lake
from tunelake.store.schema import TRIALS, TrialStatus

TRIAL_ID = "default"


class Fallback:
    """The default configuration's cross-validation and full fit, in a thread started at once."""

    def __init__(self, task: str, x: Any, y: Any, metric: str, folds: int, seed: int) -> None:
        self.task, self.x, self.y, self.metric, self.folds, self.seed = task, x, y, metric, folds, seed
        self.config = zoo.default_config()
        self.model: Any = None
        self.scores: list[float] = []
        self.error: str | None = None
        self.started = time.time()
        self.finished = self.started
        self._thread = threading.Thread(target=self._fit, name="tunelake-automl-default", daemon=True)
        self._thread.start()

    def _fit(self) -> None:
        from sklearn.base import clone
        from sklearn.metrics import get_scorer

        try:
            pipeline = zoo.build_pipeline(self.task, self.config, self.x, self.seed)
            scorer = get_scorer(self.metric)
            for train, valid in folds_of(self.task, self.folds, self.seed).split(self.x, self.y):
                fold = clone(pipeline).fit(self.x.iloc[train], self.y.iloc[train])
                self.scores.append(float(scorer(fold, self.x.iloc[valid], self.y.iloc[valid])))
            self.model = clone(pipeline).fit(self.x, self.y)
        except Exception as exc:  # the default cannot fit this data: the search's trials are all there is
            self.error = f"{type(exc).__name__}: {exc}"[:2000]
        self.finished = time.time()

    def wait(self) -> bool:
        """Wait for the fit; whether a fitted model is there."""
        self._thread.join()
        return self.model is not None

    @property
    def score(self) -> float | None:
        return float(np.mean(self.scores)) if self.model is not None else None

    def record(self, lake: Lake, experiment_id: str, dataset_id: str | None, code_commit: str | None) -> None:
        """Its row in ``trials``, as a search trial's would be (completed with its score, or failed)."""
        done = self.model is not None
        instance = this_instance_type()  # the driver's machine: the default is fitted in its thread, on 1 CPU
        lake.append(TRIALS, [{
            "experiment_id": experiment_id, "trial_id": TRIAL_ID,
            "status": (TrialStatus.COMPLETED if done else TrialStatus.FAILED).value,
            "params": json.dumps(zoo.active(self.config)), "value": self.score,
            "metrics": json.dumps({self.metric: self.score, f"{self.metric}_std": float(np.std(self.scores))})
            if done else None,
            "iterations": len(self.scores), "started_at": _at(self.started), "finished_at": _at(self.finished),
            "duration_s": self.finished - self.started, "node": f"{socket.gethostname()}:driver",
            "instance_type": instance, "cpus": 1.0, "gpus": 0.0,
            **trial_cost(self.finished - self.started, 1.0, 0.0, instance).columns(),
            "reason": None if done else self.error, "dataset_id": dataset_id, "code_commit": code_commit,
        }])


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)
