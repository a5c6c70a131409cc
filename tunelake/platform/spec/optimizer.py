"""The spec's ``optimizer`` block: which Ray Tune searcher and scheduler, and the budgets.

Every algorithm and scheduler named here is one of Ray Tune's own; the
heavy ones need an optional extra (:data:`EXTRAS`), which the searcher
adapter names when it is missing.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import Field, StrictInt, StrictStr, model_validator

from tunelake.platform.spec.params import Number, Scalar, _Model

MAX_TRIALS = 1_000_000
"""More trials than one search runs (the lake and Ray count them in 64 bits; a bigger count is a typo)."""

MAX_SECONDS = 10 * 365 * 24 * 3600
"""Ten years: any duration beyond is a typo, and Python's timers refuse the largest floats."""

Seconds = Annotated[Number, Field(gt=0, le=MAX_SECONDS)]


class Algorithm(str, Enum):
    RANDOM = "random"
    GRID = "grid"
    TPE = "tpe"  # Optuna's samplers, through Ray Tune's OptunaSearch
    NSGA2 = "nsga2"
    CMAES = "cmaes"
    GP = "gp"
    QMC = "qmc"
    HYPEROPT = "hyperopt"  # Ray Tune's HyperOptSearch, HEBOSearch, AxSearch, BayesOptSearch, TuneBOHB
    HEBO = "hebo"
    AX = "ax"
    BAYESOPT = "bayesopt"
    BOHB = "bohb"


class SchedulerKind(str, Enum):
    FIFO = "fifo"
    ASHA = "asha"
    MEDIAN = "median"
    HYPERBAND = "hyperband"
    BOHB = "bohb"
    PBT = "pbt"
    PB2 = "pb2"


ALGORITHM_ALIASES = {"bayesian": "tpe", "bayes": "tpe", "optuna": "tpe", "random_search": "random",
                     "cma-es": "cmaes", "cma": "cmaes", "nsga-ii": "nsga2", "nsgaii": "nsga2",
                     "bayesian_optimization": "bayesopt"}

POPULATION = frozenset({SchedulerKind.PBT, SchedulerKind.PB2})
"""Schedulers that clone one trial's checkpoint into another and change its parameters as it runs."""

OPTUNA_SAMPLERS = frozenset({Algorithm.TPE, Algorithm.NSGA2, Algorithm.CMAES, Algorithm.GP, Algorithm.QMC})
"""Algorithms that are Optuna samplers (through Ray Tune's OptunaSearch): they can learn from earlier results."""

MULTI_OBJECTIVE = frozenset({Algorithm.TPE, Algorithm.NSGA2, Algorithm.RANDOM, Algorithm.GRID})
"""The algorithms that search several metrics at once (Optuna's multi-objective samplers; random and grid)."""

FREE_SEARCH = frozenset({Algorithm.RANDOM, Algorithm.GRID})
"""The algorithms that run ``grid`` parameters (the others model the space and cannot)."""

EXTRAS = {Algorithm.CMAES: "cmaes", Algorithm.GP: "torch", Algorithm.HYPEROPT: "hyperopt",
          Algorithm.HEBO: "hebo", Algorithm.AX: "ax", Algorithm.BAYESOPT: "bayesopt", Algorithm.BOHB: "bohb"}
"""The optional extra (``pip install "tunelake[NAME]"``) each heavy algorithm needs."""


class Optimizer(_Model):
    """The search: a Ray Tune searcher, a Ray Tune scheduler, and the budgets."""

    algorithm: Algorithm = Algorithm.TPE
    scheduler: SchedulerKind = SchedulerKind.FIFO
    num_samples: Annotated[StrictInt, Field(ge=1, le=MAX_TRIALS)] | None = None
    max_concurrent_trials: Annotated[StrictInt, Field(ge=1, le=MAX_TRIALS)] | None = None
    time_budget_s: Seconds | None = None
    trial_timeout_s: Seconds | None = None
    seed: Annotated[StrictInt, Field(ge=0, le=2**32 - 1)] | None = None  # numpy's and Optuna's seeds are 32-bit
    grace_period: Annotated[StrictInt, Field(ge=1, le=MAX_TRIALS)] = 1
    max_t: Annotated[StrictInt, Field(ge=1, le=MAX_TRIALS)] = 100
    reduction_factor: Annotated[Number, Field(gt=1)] = 3
    points_to_evaluate: list[dict[str, Scalar]] = Field(default_factory=list)
    max_failures: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    """How often a trial whose worker or node died is started again from its last checkpoint."""
    perturbation_interval: Annotated[StrictInt, Field(ge=1, le=MAX_TRIALS)] = 4
    """PBT and PB2: reports between two exploit/explore decisions of a trial."""
    mutate: list[StrictStr] | None = None
    """PBT and PB2: the search parameters a trial may change as it runs (default: every non-constant one)."""

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        """Accept ``type`` for ``algorithm`` and a few common algorithm names."""
        if isinstance(data, dict):
            data = dict(data)
            if "type" in data and "algorithm" not in data:
                data["algorithm"] = data.pop("type")
            algo = data.get("algorithm")
            if isinstance(algo, str):
                data["algorithm"] = ALGORITHM_ALIASES.get(algo.lower(), algo.lower())
            sched = data.get("scheduler")
            if isinstance(sched, str):
                data["scheduler"] = sched.lower()
        return data

    def samples(self) -> int:
        """Trials to start: ``num_samples``, else 1 pass over a grid or 10 draws."""
        if self.num_samples is not None:
            return self.num_samples
        return 1 if self.algorithm is Algorithm.GRID else 10

    def problems(self) -> list[str]:
        """Combinations of algorithm and scheduler that Ray Tune refuses, each with the fix."""
        problems = []
        if (self.algorithm is Algorithm.BOHB) != (self.scheduler is SchedulerKind.BOHB):
            problems.append("optimizer: BOHB is a searcher and a scheduler that work only together: set both "
                            "\"algorithm\": \"bohb\" and \"scheduler\": \"bohb\"")
        if self.scheduler in POPULATION and self.algorithm not in FREE_SEARCH:
            problems.append(f"optimizer.scheduler: {self.scheduler.value!r} chooses new parameters itself; use "
                            "algorithm 'random' (the first population is drawn at random)")
        return problems
