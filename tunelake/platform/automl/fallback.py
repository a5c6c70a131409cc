"""The robust default, fitted on the driver from the first second: the model a short budget always delivers.

On a busy machine Ray's start-up alone can take most of a 10-20 s budget,
and the first trial's folds may not all finish before the deadline; the
search then ended with no model. So while Ray starts, the driver fits the
zoo's default configuration (scikit-learn's HistGradientBoosting, the hedge
every warm start includes) on all rows, then cross-validates it. It lands in
the lake as a trial like any other (trial id ``default``), and the final
model is its already fitted pipeline whenever no search trial beats it, none
completed, or the best one's refit would overrun the budget.

The fit comes first and the folds after it because on a starved machine
the four fits can take several times the budget: the search waits for the
folds only until the deadline (the row then says how many were scored), or
past it for one fold when no search trial completed (a model with no score
at all could not be ranked), and for the fitted model only when it is the
one to deliver.
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
    """The default configuration's full fit, then its cross-validation, in a thread started at once."""

    def __init__(self, task: str, x: Any, y: Any, metric: str, folds: int, seed: int) -> None:
        self.task, self.x, self.y, self.metric, self.folds, self.seed = task, x, y, metric, folds, seed
        self.config = zoo.default_config()
        self.model: Any = None
        self.scores: list[float] = []
        self.error: str | None = None
        self.started = time.time()
        self.finished: float | None = None
        self._fitted = threading.Event()  # the full fit ended (or failed)
        self._scored = threading.Event()  # a first fold was scored (or the thread ended)
        self._enough = threading.Event()  # no more folds: the budget is spent
        self._thread = threading.Thread(target=self._fit, name="tunelake-automl-default", daemon=True)
        self._thread.start()

    def _fit(self) -> None:
        from sklearn.base import clone
        from sklearn.metrics import get_scorer

        try:
            pipeline = zoo.build_pipeline(self.task, self.config, self.x, self.seed)
            self.model = clone(pipeline).fit(self.x, self.y)
            self._fitted.set()
            scorer = get_scorer(self.metric)
            for train, valid in folds_of(self.task, self.folds, self.seed).split(self.x, self.y):
                if self._enough.is_set():
                    break
                fold = clone(pipeline).fit(self.x.iloc[train], self.y.iloc[train])
                self.scores.append(float(scorer(fold, self.x.iloc[valid], self.y.iloc[valid])))
                self._scored.set()
        except Exception as exc:  # the default cannot fit this data: the search's trials are all there is
            self.error = f"{type(exc).__name__}: {exc}"[:2000]
            self.model = None
        finally:
            self.finished = time.time()
            self._fitted.set()
            self._scored.set()

    def settle(self, until: float | None, need_score: bool) -> None:
        """Let the folds go on until ``until`` (a time; ``None``: until they end), and, when ``need_score``, at
        least until one is scored; then no further."""
        self._thread.join(None if until is None else max(0.0, until - time.time()))
        if need_score:
            self._scored.wait()
        self._enough.set()

    def take_model(self) -> Any:
        """The fitted pipeline, waiting for the fit however long it takes (a budget must end with a model);
        ``None`` when the default could not be fitted."""
        self._fitted.wait()
        return self.model

    def record(self, lake: Lake, experiment_id: str, dataset_id: str | None, code_commit: str | None) -> None:
        """Its row in ``trials``, as a search trial's would be: completed with the mean of the folds it scored
        (the reason says when the budget cut them short), failed, or stopped before its first fold."""
        scores, error = list(self.scores), self.error
        status = TrialStatus.FAILED if error else TrialStatus.COMPLETED if scores else TrialStatus.STOPPED
        score = float(np.mean(scores)) if scores else None
        finished = self.finished or time.time()
        instance = this_instance_type()  # the driver's machine: the default is fitted in its thread, on 1 CPU
        lake.append(TRIALS, [{
            "experiment_id": experiment_id, "trial_id": TRIAL_ID,
            "status": status.value, "params": json.dumps(zoo.active(self.config)), "value": score,
            "metrics": json.dumps({self.metric: score, f"{self.metric}_std": float(np.std(scores))}) if scores else None,
            "iterations": len(scores), "started_at": _at(self.started), "finished_at": _at(finished),
            "duration_s": finished - self.started, "node": f"{socket.gethostname()}:driver",
            "instance_type": instance, "cpus": 1.0, "gpus": 0.0,
            **trial_cost(finished - self.started, 1.0, 0.0, instance).columns(),
            "reason": error or (None if len(scores) == self.folds else
                                f"the time budget ran out with {len(scores)} of {self.folds} folds scored"),
            "dataset_id": dataset_id, "code_commit": code_commit,
        }])


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)
