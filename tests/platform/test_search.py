"""How much of the cluster a search uses, and when an AutoML search stops."""

from __future__ import annotations

import time

import pytest

from tunelake.platform.automl import Deadline
from tunelake.platform.search import concurrency
from tunelake.platform.trainable import FINAL, OBJECTIVE


def test_concurrency_fills_the_cluster_unless_the_spec_says(ray_cluster):
    # the session's cluster: 2 CPUs, 2 GPUs
    assert concurrency(None) == 2
    assert concurrency(None, cpus_per_trial=0.5) == 4
    assert concurrency(None, cpus_per_trial=4) == 1  # a trial bigger than the cluster still runs, alone
    assert concurrency(None, cpus_per_trial=1, gpus_per_trial=2) == 1
    assert concurrency(3) == 3


def test_the_deadline_leaves_time_to_refit_the_best_pipeline():
    now = time.time()
    far = Deadline(now + 1000, folds=3)
    assert not far.stop_all()
    assert far("a", {"tl_duration_s": 40.0}) is False  # a failed trial has no objective: nothing to refit
    assert far.refit_s == 0
    far("b", {OBJECTIVE: 0.8, "tl_duration_s": 40.0, "tl_kind": FINAL})
    far("c", {OBJECTIVE: 0.7, "tl_duration_s": 4000.0, "tl_kind": FINAL})  # worse: not the one that will be refit
    far("d", {OBJECTIVE: 0.99, "tl_duration_s": 4000.0, "tl_kind": "fold"})  # one fold is not a finished trial
    assert far.refit_s == pytest.approx(20.0)  # 3 folds on 2/3 of the rows: about 2 fits on all of them
    assert not far.stop_all()
    near = Deadline(now + 60, folds=3)
    assert not near.stop_all()
    near("e", {OBJECTIVE: 0.9, "tl_duration_s": 200.0, "tl_kind": FINAL})
    assert near.stop_all()  # 100 s of refit does not fit in what is left
