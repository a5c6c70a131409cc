"""Which warm start to ship, decided on the matrix by leave-one-group-out.

Each group of datasets (a dataset and its variants) is held out in turn;
every strategy learns from the rest of the matrix and orders the pool for
the held-out dataset; the order is judged on the held-out row's real scores:
the best normalized error among its first k configurations, and whether its
first pick beats, ties or loses to the untuned default. No search runs here
(that is ``tunelake metalearn evaluate`` and ``benchmarks/automl.py``), so all
strategies are judged on exactly the same scores in seconds.
"""

from __future__ import annotations

import statistics
from typing import Callable

import numpy as np

from tunelake.metalearn.matrix import Matrix, normalized_errors
from tunelake.metalearn.metamodel import TIE, MetaModel, examples, guard_examples, meta_vector
from tunelake.metalearn.portfolio import best_of_first, greedy, interleave, safe_first, sure_first
from tunelake.metalearn.zoo import DEFAULT_FAMILY, active, default_config

KS = (1, 3, 5, 10, 25)
NEIGHBOURS = 5
Strategy = Callable[[Matrix, dict[str, float]], list[int]]


DEFAULT_CONFIG = active(default_config(DEFAULT_FAMILY))


def default_index(matrix: Matrix) -> int:
    return matrix.configs.index(DEFAULT_CONFIG)


def portfolio(train: Matrix, meta: dict[str, float]) -> list[int]:
    return greedy(train.errors(), len(train.config_ids))


def nearest(train: Matrix, meta: dict[str, float]) -> list[int]:
    """The nearest-neighbour baseline: configurations by their mean normalized error on the nearest datasets."""
    vectors = np.nan_to_num(np.array([meta_vector(m) for m in train.meta_features]))
    target = np.nan_to_num(np.array(meta_vector(meta)))
    scale = vectors.std(axis=0) + 1e-9
    distance = np.linalg.norm((vectors - target) / scale, axis=1)
    near = np.argsort(distance)[:NEIGHBOURS]
    return list(np.argsort(train.errors()[near].mean(axis=0), kind="stable"))


_LAST_FIT: dict[tuple[tuple[str, ...], bool], MetaModel] = {}


def fit_on(train: Matrix, guard: bool = False) -> MetaModel:
    """The meta-model (or, with ``guard``, the guard) of ``train``; the last fold's are kept, as several
    strategies ask for the same ones."""
    key = (tuple(train.dataset_ids), guard)
    if key not in _LAST_FIT:
        if guard:
            x, y = guard_examples(train.meta_features, train.configs, train.scores, default_index(train))
        else:
            x, y = examples(train.meta_features, [train.configs] * len(train.dataset_ids), list(train.errors()))
        for old in [k for k in _LAST_FIT if k[0] != key[0]]:
            del _LAST_FIT[old]
        _LAST_FIT[key] = MetaModel.fit(x, y, guard=guard)
    return _LAST_FIT[key]


def metamodel(train: Matrix, meta: dict[str, float]) -> list[int]:
    predicted = fit_on(train).predict(meta, train.configs)
    return list(np.argsort(-predicted, kind="stable"))


def metamodel_greedy(train: Matrix, meta: dict[str, float]) -> list[int]:
    """The meta-model's first pick, then the greedy portfolio that best covers the datasets it does badly on:
    picks that differ from the first, where the meta-model's own next picks tend to resemble it."""
    return greedy(train.errors(), len(train.config_ids), start=metamodel(train, meta)[:1])


def safe(strategy: Strategy) -> Strategy:
    """``strategy``'s order, but the default first unless the meta-model expects its own first pick to beat
    the default by :data:`~tunelake.metalearn.portfolio.SAFE_MARGIN` (the default is then second)."""
    def ordered(train: Matrix, meta: dict[str, float]) -> list[int]:
        predicted = fit_on(train).predict(meta, train.configs)
        return safe_first(strategy(train, meta), predicted, default_index(train))
    return ordered


def sure(strategy: Strategy, level: float) -> Strategy:
    """``strategy``'s order, but the default first unless the guard is at least ``level`` sure that one of the
    order's first picks beats or ties it (:func:`~tunelake.metalearn.portfolio.sure_first`)."""
    def ordered(train: Matrix, meta: dict[str, float]) -> list[int]:
        chance = fit_on(train, guard=True).predict(meta, train.configs)
        return sure_first(strategy(train, meta), chance, default_index(train), threshold=level)
    return ordered


def cold(train: Matrix, meta: dict[str, float]) -> list[int]:
    """What a search without history does: the default, then configurations in a seeded random order (a
    stand-in for a cold search, which also learns from its own trials: the real ones are in ``evaluate``)."""
    rest = [i for i in np.random.default_rng(0).permutation(len(train.config_ids)) if i != default_index(train)]
    return [default_index(train), *map(int, rest)]


SURE_LEVELS = (0.95, 0.9, 0.85)
"""The guard's levels leave-one-group-out chooses among, per task (``sure 0.9`` and so on); the surer first,
so that on a tie the ordering that loses to the default less often ships."""
BASES: dict[str, Strategy] = {
    "metamodel+portfolio": lambda train, meta: interleave(metamodel(train, meta), portfolio(train, meta)),
    "metamodel+greedy": metamodel_greedy,
    "metamodel": metamodel,
    "nearest": nearest,
}
HEDGES: dict[str, Callable[[Strategy], Strategy]] = {
    **{f"sure {level}": lambda strategy, level=level: sure(strategy, level) for level in SURE_LEVELS},
    "safe": safe,
}
STRATEGIES: dict[str, Strategy] = {
    "cold": cold,
    "default": lambda train, meta: [default_index(train)] + portfolio(train, meta),
    "portfolio": portfolio,
    **BASES,
    **{f"{name}, {label}": hedge(base) for name, base in BASES.items() for label, hedge in HEDGES.items()},
}
SHIPPABLE = (*(f"{name}, {hedge}" for name in BASES for hedge in HEDGES), *BASES, "portfolio")
"""The orderings an artifact may ship (earlier ones win a tie); ``propose`` reads each of them."""
LEGACY = tuple(f"{name}, sure" for name in BASES)
"""Orderings artifacts named before the guard's level was chosen per task (read at ``portfolio.SURE``)."""


def leave_one_group_out(matrix: Matrix, strategies: dict[str, Strategy] | None = None) -> dict[str, object]:
    """Per strategy: mean and median best normalized error after k configurations, and the first pick against
    the default (wins, ties, losses) over every held-out dataset."""
    strategies = strategies or STRATEGIES
    groups = matrix.groups or matrix.names
    errors = normalized_errors(matrix.scores)
    default = default_index(matrix)
    results: dict[str, dict[str, list[float]]] = {s: {f"k{k}": [] for k in KS} | {"first": []} for s in strategies}
    for group in sorted(set(groups)):
        held = [i for i, g in enumerate(groups) if g == group]
        train = matrix.take([i for i, g in enumerate(groups) if g != group])
        if not train.dataset_ids:
            continue
        for i in held:
            for name, strategy in strategies.items():
                order = strategy(train, matrix.meta_features[i])
                for k in KS:
                    results[name][f"k{k}"].append(float(best_of_first(errors[i:i + 1], order, k)[0]))
                results[name]["first"].append(_versus(matrix.scores[i, order[0]], matrix.scores[i, default]))
    return {name: _summary(r) for name, r in results.items()} | {"datasets": len(matrix.dataset_ids)}


def _versus(first: float, default: float) -> float:
    """1 a win over the default, 0 a tie, -1 a loss (a failed configuration loses to a default that ran)."""
    first = -np.inf if np.isnan(first) else first
    default = -np.inf if np.isnan(default) else default
    return 0.0 if abs(first - default) <= TIE or first == default else (1.0 if first > default else -1.0)


def _summary(r: dict[str, list[float]]) -> dict[str, object]:
    out: dict[str, object] = {f"mean_error_{k}": round(statistics.mean(v), 4) for k, v in r.items() if k != "first"}
    out |= {f"median_error_{k}": round(statistics.median(v), 4) for k, v in r.items() if k != "first"}
    first = r["first"]
    out |= {"first_wins": first.count(1.0), "first_ties": first.count(0.0), "first_losses": first.count(-1.0),
            "first_beats_or_ties_default": round(sum(v >= 0 for v in first) / max(1, len(first)), 3)}
    return out
