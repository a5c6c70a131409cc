"""A zero-shot portfolio: the configurations that together do best across the training datasets.

Greedy, as TabRepo and auto-sklearn 2.0 build theirs: start empty, and add
the configuration that most lowers the mean over datasets of the best
normalized error the portfolio reaches on each. The first pick is the best
single configuration on average; each next one covers the datasets the
portfolio still does worst on, so the set hedges by construction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def greedy(errors: np.ndarray, size: int, weights: np.ndarray | None = None, start: Sequence[int] = ()) -> list[int]:
    """Column indices of ``errors`` (datasets x configurations, lower better), in the order chosen.

    ``weights`` (one per dataset) make some datasets count more, e.g. those
    nearest to a new one; the mean is then a weighted mean. ``start``: columns
    already chosen (they lead the result), so the rest covers what they miss.
    """
    errors = np.asarray(errors, dtype=float)
    n_datasets, n_configs = errors.shape
    w = np.ones(n_datasets) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    chosen = list(dict.fromkeys(start))[:size]
    # the best error reached so far on each dataset (nothing chosen yet: the worst, 1)
    reached = errors[:, chosen].min(axis=1) if chosen else np.ones(n_datasets)
    while len(chosen) < min(size, n_configs):
        mean = w @ np.minimum(reached[:, None], errors)
        mean[chosen] = np.inf
        pick = int(np.argmin(mean))
        chosen.append(pick)
        reached = np.minimum(reached, errors[:, pick])
    return chosen


def best_of_first(errors: np.ndarray, order: list[int], k: int) -> np.ndarray:
    """Per dataset, the best (lowest) error among the first ``k`` configurations of ``order``."""
    return np.asarray(errors)[:, order[:k]].min(axis=1)


def interleave(first: list[int], second: list[int]) -> list[int]:
    """``first`` and ``second`` taken in turn, each configuration once, then the rest of ``first``: a
    data-specific order hedged by the portfolio's."""
    out: list[int] = []
    for a, b in zip(first, second):
        out += [c for c in (a, b) if c not in out]
    return out + [c for c in first if c not in out]


SAFE_MARGIN = 0.15
"""How much better (in normalized score) than the default the meta-model must expect a configuration to be
before it goes first: a proposal learnt elsewhere can lose to an untuned default, and on small data it
often does."""


def safe_first(order: list[int], predicted: np.ndarray, default: int, margin: float = SAFE_MARGIN) -> list[int]:
    """``order`` with the ``default`` moved to the front unless ``order[0]`` is predicted to beat it by
    ``margin``; otherwise the default goes second."""
    rest = [i for i in order if i != default]
    if rest and predicted[rest[0]] - predicted[default] >= margin:
        return [rest[0], default, *rest[1:]]
    return [default, *rest]


SURE = 0.9
"""How sure the guard must be that a pick beats or ties the default before it goes first, where an artifact
names no level (``sure`` alone). Each task's level is chosen by leave-one-group-out among
:data:`~tunelake.metalearn.loo.SURE_LEVELS`: lower levels win more often and lose more often too."""
AMONG = 10
"""How many of an order's first picks the guard may choose from (the surest of them goes first)."""


def sure_first(order: list[int], chance: np.ndarray, default: int, threshold: float = SURE,
               among: int = AMONG) -> list[int]:
    """``order`` with, first, the one of its first ``among`` picks the guard is surest beats or ties the
    ``default`` (``chance``, per configuration), then the default; when none reaches ``threshold``, the default
    first and ``order`` after it."""
    rest = [i for i in order if i != default]
    surest = max(rest[:among], key=lambda i: chance[i], default=None)
    if surest is not None and chance[surest] >= threshold:
        return [surest, default, *(i for i in rest if i != surest)]
    return [default, *rest]
