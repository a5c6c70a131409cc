"""Each parameter's axis, from the spec where it says, else from the trials' values."""

from __future__ import annotations

import json

import pytest

from tunelake.platform.reports.space import Axis, Scale, axes


def test_the_spec_decides_log_linear_integer_and_category_axes():
    spec = {"search": {"C": {"type": "loguniform", "low": 1e-3, "high": 1e3}, "lr": {"type": "uniform", "low": 0,
                                                                                   "high": 1},
                       "layers": {"type": "int", "low": 1, "high": 4}, "width": {"type": "int", "low": 8, "high": 512,
                                                                                "log": True},
                       "kernel": ["rbf", "linear"], "batch": {"type": "grid", "values": [16, 64, 256, 4096]},
                       "flag": {"type": "choice", "values": [True, False]}, "seed": 7}}
    found = {a.name: a for a in axes(json.dumps(spec), [])}
    assert list(found) == ["C", "lr", "layers", "width", "kernel", "batch", "flag"]  # a constant has no axis
    assert (found["C"].scale, found["C"].low, found["C"].high) == (Scale.LOG, 1e-3, 1e3)
    assert (found["lr"].scale, found["layers"].scale, found["layers"].integer) == (Scale.LINEAR, Scale.LINEAR, True)
    assert found["width"].scale is Scale.LOG and found["width"].integer
    assert found["kernel"].categories == ("rbf", "linear")  # the spec's order
    assert found["batch"].scale is Scale.LOG  # numbers stay on a number line: 16 to 4096
    assert found["flag"].categories == ("true", "false")


def test_params_the_spec_does_not_describe_get_axes_from_their_values():
    trials = [{"family": "rf", "rf.depth": 3, "rf.min": 0.001}, {"family": "knn", "knn.k": 5},
              {"family": "rf", "rf.depth": 9, "rf.min": 0.5}]
    found = {a.name: a for a in axes(json.dumps({"search": {"family": ["rf", "knn"], "rf.depth": None}}), trials)}
    assert found["family"].categories == ("rf", "knn")
    assert (found["rf.depth"].scale, found["rf.depth"].integer, found["rf.depth"].high) == (Scale.LINEAR, True, 9)
    assert found["rf.min"].scale is Scale.LOG and found["knn.k"].low == found["knn.k"].high == 5


@pytest.mark.parametrize("axis,value,position", [
    (Axis("C", Scale.LOG, 1e-3, 1e3), 0.5, 0.5), (Axis("C", Scale.LOG, 1e-3, 1e3), 0, None),
    (Axis("x", Scale.LINEAR, 0, 1), "a", None), (Axis("x", Scale.LINEAR, 0, 1), True, None),
    (Axis("k", Scale.CATEGORY, categories=("1", "2")), 1, "1"), (Axis("k", Scale.CATEGORY), "rbf", "rbf"),
])
def test_a_value_is_placed_on_its_axis_or_left_out(axis: Axis, value, position):
    assert axis.position(value) == position
    assert Axis.from_public(axis.public()) == axis
