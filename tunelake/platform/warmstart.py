"""Warm starts from named earlier experiments: their results, told to the searcher.

Earlier trials are mapped onto this spec's search space by parameter name;
a trial whose values do not fit (a name missing, a value outside a range or
not among the choices) is left out rather than guessed at.
"""

from __future__ import annotations

import json
from typing import Any

from tunelake.errors import UserInputError
from tunelake.platform.spec import Algorithm, Choice, Constant, Grid, Int, LogUniform, Param, Spec, Uniform
from tunelake.store.lake import Lake
from tunelake.store.query import query


def _fits(param: Param, value: Any) -> bool:
    if isinstance(param, (Uniform, LogUniform)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and param.low <= value <= param.high
    if isinstance(param, Int):
        return isinstance(value, int) and not isinstance(value, bool) and param.low <= value <= param.high
    if isinstance(param, (Choice, Grid)):
        return value in param.values
    return True


def earlier_results(lake: Lake, spec: Spec) -> list[tuple[dict[str, Any], float]]:
    """Completed trials of ``spec.warm_start.experiments`` that fit this search space."""
    ids = spec.warm_start.experiments
    if not ids:
        return []
    if spec.optimizer.algorithm is not Algorithm.TPE:
        raise UserInputError("warm_start.experiments: earlier results can only inform a learning searcher; "
                             "use optimizer.algorithm 'tpe'")
    known = query(lake, "SELECT experiment_id, primary_metric FROM experiments WHERE list_contains(?, experiment_id)",
                  [ids]).to_pylist()
    missing = sorted(set(ids) - {k["experiment_id"] for k in known})
    if missing:
        raise UserInputError(f"warm_start.experiments: {', '.join(missing)} not in the lake {lake.uri}")
    other = [k["experiment_id"] for k in known if k["primary_metric"] != spec.primary_result_key]
    if other:
        raise UserInputError(f"warm_start.experiments: {', '.join(other)} optimized another metric than "
                             f"{spec.primary_result_key!r}; their results cannot be compared")
    sampled = {n: p for n, p in spec.search.items() if not isinstance(p, Constant)}
    rows = query(lake, "SELECT params, value FROM trials WHERE list_contains(?, experiment_id) "
                 "AND status = 'completed' AND isfinite(value)", [ids]).to_pylist()
    results = []
    for row in rows:
        params = json.loads(row["params"])
        if all(name in params and _fits(param, params[name]) for name, param in sampled.items()):
            results.append(({name: params[name] for name in sampled}, float(row["value"])))
    return results
