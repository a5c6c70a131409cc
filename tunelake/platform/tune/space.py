"""The one place where spec search spaces become Ray Tune sampling objects.

Bounds mean the same everywhere in tunelake: ``low`` and ``high`` are both
inclusive for ``int``; Tune's ``randint`` excludes ``high``, so it gets
``high + 1`` here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from ray import tune

from tunelake.platform.spec import Algorithm, Choice, Constant, Grid, Int, LogUniform, Param, Uniform


def to_tune(param: Param, algorithm: Algorithm) -> Any:
    """One spec parameter as a Tune domain (or a plain constant)."""
    if isinstance(param, Uniform):
        return tune.uniform(float(param.low), float(param.high))
    if isinstance(param, LogUniform):
        return tune.loguniform(float(param.low), float(param.high))
    if isinstance(param, Int):
        sampler = tune.lograndint if param.log else tune.randint
        return sampler(param.low, param.high + 1)
    if isinstance(param, Grid):
        return tune.grid_search(list(param.values))
    if isinstance(param, Choice):
        if algorithm is Algorithm.GRID:
            return tune.grid_search(list(param.values))
        return tune.choice(list(param.values))
    if isinstance(param, Constant):
        return param.value
    raise TypeError(f"unhandled search parameter {param!r}")


def param_space(search: dict[str, Param], algorithm: Algorithm) -> dict[str, Any]:
    """The whole ``search`` block as a Tune ``param_space``."""
    return {name: to_tune(param, algorithm) for name, param in search.items()}
