"""The one contract between a trial and the driver: what goes in is what comes out."""

from __future__ import annotations

import json

from tunelake.platform.trial.result import FINAL, FOLD, OBJECTIVE, REPORT, Outcome, TrialResult, is_final
from tunelake.store.schema import TrialStatus


def test_a_final_result_round_trips_through_what_tune_carries():
    sent = TrialResult(kind=FINAL, objective=0.9, metrics={"acc": 0.9}, outcome=Outcome.COMPLETED,
                       reports=[{"step": 1, "metrics": {"acc": 0.9}, "at": 1.0}], node="h:1", exit_code=0, steps=1,
                       duration_s=2.5, model_uri="s3://b/m")
    carried = sent.to_tune()
    assert carried[OBJECTIVE] == 0.9 and carried["tl_kind"] == FINAL and is_final(carried)
    assert json.loads(carried["tl_reports"]) == sent.reports  # JSON text, so Tune does not flatten it
    assert TrialResult.from_tune(carried) == sent


def test_absent_values_are_left_out_and_a_failure_carries_no_objective():
    failed = TrialResult(kind=FINAL, outcome=Outcome.FAILED, reason="exited with code 1").to_tune()
    assert OBJECTIVE not in failed and "tl_model_uri" not in failed and failed["tl_reason"] == "exited with code 1"
    for kind in (REPORT, FOLD):
        assert not is_final(TrialResult(kind=kind, objective=0.5).to_tune())
    assert TrialResult.from_tune({"training_iteration": 3}).kind == ""  # a result no trial of ours sent


def test_outcomes_are_the_lakes_statuses():
    assert {Outcome.COMPLETED, Outcome.FAILED, Outcome.STOPPED} == {
        s.value for s in TrialStatus if s is not TrialStatus.RUNNING}
