from __future__ import annotations

import random

from ray import tune
from ray.tune.search.sample import Categorical, Float, Integer

from tunelake.platform.spec import Algorithm, Choice, Constant, Grid, Int, LogUniform, Uniform
from tunelake.platform.tune.space import param_space, to_tune


def test_int_high_is_inclusive():
    domain = to_tune(Int(type="int", low=1, high=3), Algorithm.RANDOM)
    assert isinstance(domain, Integer)
    random.seed(0)
    draws = {domain.sample() for _ in range(300)}
    assert draws == {1, 2, 3}


def test_log_int_and_floats():
    assert isinstance(to_tune(Int(type="int", low=1, high=1000, log=True), Algorithm.TPE), Integer)
    u = to_tune(Uniform(type="uniform", low=0, high=0.5), Algorithm.TPE)
    lu = to_tune(LogUniform(type="loguniform", low=1e-3, high=1e3), Algorithm.TPE)
    assert isinstance(u, Float) and (u.lower, u.upper) == (0.0, 0.5)
    assert isinstance(lu, Float) and (lu.lower, lu.upper) == (1e-3, 1e3)
    assert all(1e-3 <= lu.sample() <= 1e3 for _ in range(100))


def test_choice_is_a_grid_axis_only_for_grid_search():
    choice = Choice(type="choice", values=["a", "b"])
    assert isinstance(to_tune(choice, Algorithm.TPE), Categorical)
    assert to_tune(choice, Algorithm.GRID) == tune.grid_search(["a", "b"])


def test_grid_and_constant():
    space = param_space({"b": Grid(type="grid", values=[32, 64]), "e": Constant(type="constant", value=3)},
                        Algorithm.RANDOM)
    assert space == {"b": {"grid_search": [32, 64]}, "e": 3}
