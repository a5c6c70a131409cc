"""How much of the cluster a search uses, what TPE is told of stopped trials, and when AutoML stops."""

from __future__ import annotations

import time

import pytest
from optuna.trial import TrialState
from ray import tune

from tunelake.platform.automl.budget import RefitReserve
from tunelake.platform.trial.result import FINAL, OBJECTIVE
from tunelake.platform.tune.runner import Deadline
from tunelake.platform.tune.searchers import PruningOptunaSearch
from tunelake.platform.tune.slots import concurrency


def test_concurrency_fills_the_cluster_unless_the_spec_says(ray_cluster):
    # the session's cluster: 2 CPUs, 2 GPUs
    assert concurrency(None) == 2
    assert concurrency(None, cpus_per_trial=0.5) == 4
    assert concurrency(None, cpus_per_trial=4) == 1  # a trial bigger than the cluster still runs, alone
    assert concurrency(None, cpus_per_trial=1, gpus_per_trial=2) == 1
    assert concurrency(3) == 3


def test_a_deadline_without_a_reserve_stops_only_for_the_teardown():
    assert not Deadline(time.time() + 60).stop_all()
    assert Deadline(time.time() + 1).stop_all()


def test_the_deadline_leaves_time_to_refit_the_best_pipeline():
    now = time.time()
    far = Deadline(now + 1000, RefitReserve(folds=3))
    assert not far.stop_all()
    assert far("a", {"tl_duration_s": 40.0}) is False  # a failed trial has no objective: nothing to refit
    assert far.reserve.seconds == 0
    far("b", {OBJECTIVE: 0.8, "tl_duration_s": 40.0, "tl_kind": FINAL})
    far("c", {OBJECTIVE: 0.7, "tl_duration_s": 4000.0, "tl_kind": FINAL})  # worse: not the one that will be refit
    far("d", {OBJECTIVE: 0.99, "tl_duration_s": 4000.0, "tl_kind": "fold"})  # one fold is not a finished trial
    # one fold's fit (40/3 s) on 3/2 of its rows, assuming fit time grows with the rows squared
    assert far.reserve.seconds == pytest.approx(40.0 / 3 * 2.25)
    assert not far.stop_all()
    two = Deadline(now + 1000, RefitReserve(folds=3, refits=2))  # an ensemble reserves its best two refits
    for trial_id, value, seconds in (("b", 0.8, 40.0), ("c", 0.7, 400.0), ("g", 0.1, 4000.0)):
        two(trial_id, {OBJECTIVE: value, "tl_duration_s": seconds, "tl_kind": FINAL})
    assert two.reserve.seconds == pytest.approx(440.0 / 3 * 2.25)
    near = Deadline(now + 60, RefitReserve(folds=3))
    assert not near.stop_all()
    near("e", {OBJECTIVE: 0.9, "tl_duration_s": 200.0, "tl_kind": FINAL})
    assert near.stop_all()  # 150 s of refit does not fit in what is left


def test_a_trial_stopped_after_one_fold_is_pruned_for_tpe_not_finished():
    searcher = PruningOptunaSearch({"x": tune.uniform(0, 1)}, metric=OBJECTIVE, mode="max", seed=0)
    for trial_id, kind in (("stopped", "fold"), ("finished", FINAL)):
        searcher.suggest(trial_id)
        result = {OBJECTIVE: 0.9, "training_iteration": 1, "tl_kind": kind}
        searcher.on_trial_result(trial_id, result)
        searcher.on_trial_complete(trial_id, result)
    stopped, finished = searcher._ot_study.trials
    assert stopped.state == TrialState.PRUNED and stopped.intermediate_values == {1: 0.9}
    assert finished.state == TrialState.COMPLETE and finished.value == 0.9


def test_every_optuna_sampler_survives_the_pickling_tune_saves_its_state_with():
    import pickle

    from tunelake.platform.spec import OPTUNA_SAMPLERS, Optimizer
    from tunelake.platform.tune.searchers import check_installed, make_searcher

    for algorithm in sorted(OPTUNA_SAMPLERS, key=lambda a: a.value):
        try:
            check_installed(algorithm)
        except Exception:
            continue  # an extra that is not installed here
        searcher = make_searcher(Optimizer(algorithm=algorithm, seed=1), [], modes=["max", "min"])
        copy = pickle.loads(pickle.dumps(searcher))
        assert type(copy._sampler) is type(searcher._sampler), algorithm
