"""The experiment spec: the one schema behind the CLI, the API and every error.

The source document's JSON (``code_github``, ``command``, ``dir``,
``install_script``, ``primary_result_key``, ``backend``, ``resources``,
``optimizer``, ``search``, ``model_storage``) validates as it stands; every
field tunelake adds has a default. Unknown fields are rejected so that a typo
is an error, not a silently ignored setting.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import Discriminator, Field, StrictBool, StrictInt, StrictStr, Tag, field_validator, model_validator

from tunelake.platform.spec.environment import BUILTIN_PLACEHOLDERS, PLACEHOLDER, names_problems, size_problems
from tunelake.platform.spec.optimizer import (FREE_SEARCH, MAX_TRIALS, MULTI_OBJECTIVE, POPULATION, Algorithm,
                                              Optimizer, SchedulerKind)
from tunelake.platform.spec.params import (Choice, Constant, Grid, Int, LogUniform, Number, Param, Uniform, _Model,
                                           expand_shorthand)


T = TypeVar("T")

ONE_OR_SEVERAL_TAGS = ("one", "several")
"""The tags of :data:`OneOrSeveral`, which error paths leave out (``mode.several.1`` reads ``mode.1``)."""

OneOrSeveral = Annotated[
    Union[Annotated[T, Tag("one")], Annotated[list[T], Field(min_length=1, max_length=10), Tag("several")]],
    Discriminator(lambda value: "several" if isinstance(value, list) else "one"),
]
"""A value, or a list of them: one error per problem, for the form that was given."""


class Mode(str, Enum):
    MAX = "max"
    MIN = "min"


class Backend(str, Enum):
    LOCAL = "local"
    RAY = "ray"
    AWS = "aws"


class Resources(_Model):
    """Where trials run and what each one gets; ``instance_*`` sizes an AWS cluster."""

    instance_count: Annotated[StrictInt, Field(ge=1, le=10_000)] = 1
    instance_type: StrictStr | None = None
    cpus_per_trial: Annotated[Number, Field(gt=0)] = 1
    gpus_per_trial: Annotated[Number, Field(ge=0)] = 0


class ModelStorage(_Model):
    """Where each trial's ``model_dir`` goes after the trial.

    ``local`` without ``path`` means the lake's ``models/`` folder.
    """

    type: Literal["local", "s3"] = "local"
    path: StrictStr | None = None
    bucket: StrictStr | None = None
    prefix: StrictStr = "models"
    model_dir: StrictStr = "saved_model"
    clean_model_dir_flag: StrictBool = False

    @model_validator(mode="after")
    def _target(self) -> "ModelStorage":
        if self.type == "s3" and not self.bucket:
            raise ValueError("type 's3' needs a bucket: add \"bucket\": \"<your-bucket>\"")
        if Path(self.model_dir).is_absolute() or ".." in Path(self.model_dir).parts:
            raise ValueError(
                f"model_dir must be a relative path inside the trial's working dir (got {self.model_dir!r})"
            )
        return self


class Dataset(_Model):
    """The data a search is about; its fingerprint becomes the lake's ``dataset_id``."""

    uri: StrictStr
    target: StrictStr | None = None
    task: Literal["classification", "regression"] | None = None


class WarmStart(_Model):
    """Where a search starts from: the meta-model, and/or earlier experiments."""

    meta: StrictBool = False
    k: Annotated[StrictInt, Field(ge=1, le=100)] = 5
    experiments: list[StrictStr] = Field(default_factory=list)


class Spec(_Model):
    """One experiment: the code to run, what to optimize, and how to search."""

    name: StrictStr | None = None
    code_github: StrictStr
    code_ref: StrictStr | None = None
    command: Annotated[StrictStr, Field(min_length=1)]
    dir: StrictStr = "."
    install_script: StrictStr | None = None
    primary_result_key: OneOrSeveral[Annotated[StrictStr, Field(min_length=1)]]
    """One metric, or several (multi-objective: searched by Optuna for their Pareto front)."""
    mode: OneOrSeveral[Mode] = Mode.MAX
    backend: Backend = Backend.LOCAL
    resources: Resources = Field(default_factory=Resources)
    optimizer: Optimizer = Field(default_factory=Optimizer)
    search: dict[str, Param]
    metrics: dict[str, StrictStr] = Field(default_factory=dict)
    model_storage: ModelStorage = Field(default_factory=ModelStorage)
    dataset: Dataset | None = None
    warm_start: WarmStart = Field(default_factory=WarmStart)

    @field_validator("search", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """A bare list means ``choice``; a bare scalar is a constant."""
        if isinstance(value, dict):
            return {k: expand_shorthand(v) for k, v in value.items()}
        return value

    @field_validator("search")
    @classmethod
    def _search_not_empty(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError('search is empty: add at least one parameter, e.g. {"C": {"type": "loguniform", '
                             '"low": 0.001, "high": 1000}}')
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"parameter name {name!r} must be an identifier (letters, digits, _)")
        return value

    @field_validator("metrics")
    @classmethod
    def _regexes_compile(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"metrics.{name}: regex {pattern!r} does not compile ({exc})") from None
            if compiled.groups < 1:
                raise ValueError(
                    f"metrics.{name}: regex {pattern!r} needs one capture group around the number, "
                    f"e.g. {name}=([0-9.eE+-]+)"
                )
        return value

    @field_validator("dir")
    @classmethod
    def _relative_dir(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError(f"dir must be a path inside the repository (got {value!r})")
        return value

    def problems(self) -> list[str]:
        """Problems that span several fields, each line led by the field's path."""
        problems: list[str] = []
        unknown = sorted(set(PLACEHOLDER.findall(self.command)) - set(self.search) - BUILTIN_PLACEHOLDERS)
        for name in unknown:
            problems.append(
                f"command: uses {{{name}}} but search has no parameter {name!r}: add it to search, "
                f"or write {{{{{name}}}}} for literal braces"
            )
        grids = [n for n, p in self.search.items() if isinstance(p, Grid)]
        if grids and self.optimizer.algorithm not in FREE_SEARCH:
            problems.append(
                f"optimizer.algorithm: {self.optimizer.algorithm.value!r} cannot search grid parameters "
                f"({', '.join(grids)}): use type 'choice', or algorithm 'grid' or 'random'"
            )
        problems += self.optimizer.problems() + self._mutation_problems() + self._objective_problems()
        problems += names_problems(self.search)
        problems += size_problems(self.search, self.command)
        if self.trial_count() > MAX_TRIALS:
            problems.append(f"optimizer.num_samples: {self.optimizer.samples()} passes over the grid make "
                            f"{self.trial_count()} trials, more than {MAX_TRIALS}; lower num_samples or the grid")
        for i, point in enumerate(self.optimizer.points_to_evaluate):
            extra = sorted(set(point) - set(self.search))
            if extra:
                problems.append(f"optimizer.points_to_evaluate.{i}: {', '.join(extra)} not in search")
        if self.warm_start.meta and self.optimizer.algorithm is Algorithm.GRID:
            problems.append("warm_start.meta: a grid runs every point anyway; use algorithm 'tpe' or 'random'")
        if self.warm_start.meta and (self.dataset is None or self.dataset.target is None):
            problems.append("warm_start.meta: needs dataset.uri and dataset.target, to find the earlier datasets "
                            "nearest this one")
        return problems

    def objectives(self) -> list[tuple[str, Mode]]:
        """Each metric to optimize with its mode; the first is the primary one (the lake's ``value``)."""
        keys = self.primary_result_key if isinstance(self.primary_result_key, list) else [self.primary_result_key]
        modes = self.mode if isinstance(self.mode, list) else [self.mode] * len(keys)
        return list(zip(keys, modes))

    @property
    def primary_metric(self) -> str:
        return self.objectives()[0][0]

    @property
    def primary_mode(self) -> Mode:
        return self.objectives()[0][1]

    def _objective_problems(self) -> list[str]:
        keys = self.primary_result_key if isinstance(self.primary_result_key, list) else [self.primary_result_key]
        if isinstance(self.mode, list) and len(self.mode) != len(keys):
            return [f"mode: {len(self.mode)} modes for {len(keys)} metrics in primary_result_key; give one mode "
                    "per metric, in the same order (or one mode for all)"]
        if len(set(keys)) != len(keys):
            return ["primary_result_key: a metric is named twice"]
        opt = self.optimizer
        if len(keys) > 1 and opt.algorithm not in MULTI_OBJECTIVE:
            return [f"optimizer.algorithm: {opt.algorithm.value!r} optimizes one metric; for several use "
                    "'tpe', 'nsga2', 'random' or 'grid'"]
        if len(keys) > 1 and (self.warm_start.meta or self.warm_start.experiments):
            return ["warm_start: earlier results carry one metric; a search of several starts cold"]
        if len(keys) > 1 and opt.scheduler is not SchedulerKind.FIFO:
            return [f"optimizer.scheduler: {opt.scheduler.value!r} stops or clones trials by one metric; "
                    "several metrics need 'fifo'"]
        return []

    def mutable(self) -> list[str]:
        """The parameters PBT and PB2 may change as a trial runs: ``optimizer.mutate``, else every searched one."""
        if self.optimizer.mutate is not None:
            return list(self.optimizer.mutate)
        return [n for n, p in self.search.items() if not isinstance(p, Constant)]

    def _mutation_problems(self) -> list[str]:
        opt = self.optimizer
        if opt.scheduler not in POPULATION:
            return ["optimizer.mutate: only schedulers 'pbt' and 'pb2' change parameters as trials run"] \
                if opt.mutate is not None else []
        unknown = sorted(set(self.mutable()) - set(self.search))
        if unknown:
            return [f"optimizer.mutate: {', '.join(unknown)} not in search"]
        numbers = [n for n in self.mutable() if isinstance(self.search[n], (Uniform, LogUniform, Int))]
        if not numbers and opt.scheduler is SchedulerKind.PB2:
            return ["optimizer.mutate: 'pb2' changes numeric parameters only (uniform, loguniform, int); "
                    "add one, or use scheduler 'pbt'"]
        if not self.mutable():
            return ["optimizer.mutate: nothing to change: search has only constants"]
        return []

    def trial_count(self) -> int:
        """Trials the search will start: ``num_samples`` passes over the grid axes."""
        count = self.optimizer.samples()
        for param in self.search.values():
            if isinstance(param, Grid) or (isinstance(param, Choice) and self.optimizer.algorithm is Algorithm.GRID):
                count *= len(param.values)
        return count

    def display_name(self) -> str:
        if self.name:
            return self.name
        base = Path(self.code_github.rstrip("/")).name.removesuffix(".git") or "experiment"
        return base if self.dir in (".", "") else f"{base}-{Path(self.dir).name}"
