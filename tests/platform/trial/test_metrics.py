from __future__ import annotations

import math

import pytest

from tunelake.platform.trial.metrics import MAX_LINE_CHARS, MetricParser


@pytest.mark.parametrize(
    "line,expected",
    [
        ('{"accuracy": 0.9, "name": "x", "ok": true}', {"accuracy": 0.9}),
        ("epoch=3 loss=0.21, acc=5e-1", {"epoch": 3.0, "loss": 0.21, "acc": 0.5}),
        ("x=1e-3;y=-2", {"x": 0.001, "y": -2.0}),
        ("Running with C=1.0 kernel=rbf", None),
        ("C=1.0 kernel=rbf", None),
        ("plain log line", None),
        ("[1, 2]", None),
        ('{"broken": ', None),
        ('{"a": "text"}', None),
        ("", None),
    ],
)
def test_line_forms(line, expected):
    report = MetricParser().parse(line)
    assert (report.metrics if report else None) == expected


def test_regexes_from_the_spec():
    parser = MetricParser({"acc": r"val_acc=([0-9.]+)", "loss": r"loss: ([0-9.]+)"})
    assert parser.parse("epoch 2 val_acc=0.77 loss: 0.3 done").metrics == {"acc": 0.77, "loss": 0.3}


def test_nan_and_inf_are_kept_for_the_trial_to_judge():
    assert math.isnan(MetricParser().parse('{"a": NaN}').metrics["a"])
    assert MetricParser().parse("loss=inf").metrics["loss"] == math.inf


def test_huge_line_is_ignored():
    assert MetricParser().parse('{"a": 1, "pad": "' + "x" * MAX_LINE_CHARS + '"}') is None
