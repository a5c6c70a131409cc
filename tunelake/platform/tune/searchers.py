"""Ray Tune searchers for the spec's ``optimizer.algorithm`` (schedulers: :mod:`.schedulers`).

Nothing here searches by itself: each algorithm is one of Ray Tune's own,
configured from the spec. Optuna's samplers (TPE, CMA-ES, GP, QMC) come with
tunelake; HyperOpt, HEBO, Ax, BayesOpt and BOHB are optional extras, checked
before anything runs.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import optuna
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import BasicVariantGenerator, Searcher
from ray.tune.search.optuna import OptunaSearch

from tunelake.errors import UserInputError
from tunelake.platform.spec import EXTRAS, OPTUNA_SAMPLERS, Algorithm, Optimizer
from tunelake.platform.trial.result import OBJECTIVE, is_final, objective_key


class PruningOptunaSearch(OptunaSearch):
    """Ray Tune's Optuna searcher, told that a trial stopped before its end was pruned.

    Tune hands a stopped trial's last result to ``on_trial_complete`` and
    Optuna would file its partial score (one fold, a few epochs) as a
    finished one, so a lucky start would rank among the best configurations.
    Pruned, TPE ranks it below every finished trial by how far it got.
    """

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        if result is not None and (not is_final(result) or any(m not in result for m in metrics)):
            result = {k: v for k, v in result.items() if k not in metrics}  # pruned (or failed: no objective)
        super().on_trial_complete(trial_id, result, error)


class WarmOptunaSearch(PruningOptunaSearch):
    """Ray Tune's Optuna searcher, told earlier results once its study exists.

    Tune's own ``evaluated_rewards`` turns every ``points_to_evaluate`` into
    an already-evaluated point; here the user's points still run, and earlier
    experiments' results are added beside them.
    """

    def __init__(self, evaluated: list[tuple[dict[str, Any], float]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluated = list(evaluated)

    def _setup_study(self, mode: Any) -> None:
        super()._setup_study(mode)
        for point, value in self.evaluated:
            self.add_evaluated_point(point, value)


_NEEDS = {Algorithm.CMAES: ("cmaes",), Algorithm.GP: ("torch",), Algorithm.HYPEROPT: ("hyperopt",),
          Algorithm.HEBO: ("hebo",), Algorithm.AX: ("ax",), Algorithm.BAYESOPT: ("bayes_opt",),
          Algorithm.BOHB: ("hpbandster", "ConfigSpace")}
"""The modules each heavy algorithm imports (installed by the extra :data:`~tunelake.platform.spec.EXTRAS` names)."""


def check_installed(algorithm: Algorithm) -> None:
    """Raise :class:`UserInputError` naming the extra to install when ``algorithm``'s library is missing."""
    missing = [m for m in _NEEDS.get(algorithm, ()) if importlib.util.find_spec(m) is None]
    if missing:
        raise UserInputError(
            f"optimizer.algorithm {algorithm.value!r} needs {', '.join(missing)}, which is not installed: "
            f"pip install \"tunelake[{EXTRAS[algorithm]}]\" (on every node that runs the driver)"
        )


class PicklableNSGAII(optuna.samplers.NSGAIISampler):
    """Optuna's NSGA-II sampler, picklable: Tune pickles its searcher into the experiment's state (what
    ``tunelake resume`` restores), and the sampler holds a lock, made anew here when it is loaded."""

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_thread_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._thread_lock = threading.Lock()


def _sampler(algorithm: Algorithm, seed: int | None) -> optuna.samplers.BaseSampler:
    samplers = optuna.samplers
    if algorithm is Algorithm.CMAES:
        return samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if algorithm is Algorithm.GP:
        return samplers.GPSampler(seed=seed)
    if algorithm is Algorithm.NSGA2:
        return PicklableNSGAII(seed=seed)
    if algorithm is Algorithm.QMC:
        return samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
    return samplers.TPESampler(seed=seed)


def _library_searcher(algorithm: Algorithm, points: list[dict[str, Any]] | None, seed: int | None) -> Searcher:
    """The searchers Ray Tune wraps around other libraries (imported here: they are optional extras)."""
    if algorithm is Algorithm.HYPEROPT:
        from ray.tune.search.hyperopt import HyperOptSearch
        return HyperOptSearch(points_to_evaluate=points, random_state_seed=seed)
    if algorithm is Algorithm.HEBO:
        from ray.tune.search.hebo import HEBOSearch
        return HEBOSearch(points_to_evaluate=points, random_state_seed=seed)
    if algorithm is Algorithm.AX:
        from ray.tune.search.ax import AxSearch
        return AxSearch(points_to_evaluate=points)
    if algorithm is Algorithm.BAYESOPT:
        from ray.tune.search.bayesopt import BayesOptSearch
        return BayesOptSearch(points_to_evaluate=points, random_state=seed if seed is not None else 42)
    from ray.tune.search.bohb import TuneBOHB
    return TuneBOHB(points_to_evaluate=points, seed=seed)


def make_searcher(
    optimizer: Optimizer,
    points: list[dict[str, Any]],
    evaluated: list[tuple[dict[str, Any], float]] | None = None,
    modes: list[str] | None = None,
) -> Searcher | BasicVariantGenerator:
    """The searcher for ``optimizer.algorithm``, started from ``points`` (run first).

    ``evaluated`` (Optuna's samplers only) are earlier trials' configurations
    and results, told to the searcher without running them again. Metric and
    mode are left to ``TuneConfig``, which hands them to the searcher and scheduler, unless ``modes`` has
    several (a multi-objective search): then the searcher is told each objective's key and mode here.
    """
    algorithm = optimizer.algorithm
    check_installed(algorithm)
    if algorithm in OPTUNA_SAMPLERS:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        several = {"metric": [objective_key(i) for i in range(len(modes))], "mode": modes} \
            if modes and len(modes) > 1 else {}
        return WarmOptunaSearch(evaluated or [], points_to_evaluate=points or None,
                                sampler=_sampler(algorithm, optimizer.seed), **several)
    if algorithm not in (Algorithm.RANDOM, Algorithm.GRID):
        return _library_searcher(algorithm, points or None, optimizer.seed)
    # Tune ignores TuneConfig's max_concurrent_trials for a generator it did not make itself.
    return BasicVariantGenerator(points_to_evaluate=points or None, random_state=optimizer.seed,
                                 max_concurrent=optimizer.max_concurrent_trials or 0)


def conditional_tpe(space: Any, points: list[dict[str, Any]], mode: str, seed: int) -> PruningOptunaSearch:
    """TPE over a define-by-run Optuna space (a function of the Optuna trial), from ``points``.

    Tune tells a searcher its metric only along with a search space it then
    converts; this one has its space already, so it is told here.
    """
    from optuna.samplers import TPESampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return PruningOptunaSearch(space, metric=OBJECTIVE, mode=mode, points_to_evaluate=points or None,
                               sampler=TPESampler(seed=seed))


def fold_scheduler(folds: int) -> ASHAScheduler:
    """ASHA over cross-validation folds: after the first fold, the better half goes on."""
    return ASHAScheduler(time_attr="training_iteration", grace_period=1, max_t=folds, reduction_factor=2,
                         stop_last_trials=False)
