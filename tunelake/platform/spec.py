"""The experiment spec: the one schema behind the CLI, the API and every error.

The source document's JSON (``code_github``, ``command``, ``dir``,
``install_script``, ``primary_result_key``, ``backend``, ``resources``,
``optimizer``, ``search``, ``model_storage``) validates as it stands; every
field tunelake adds has a default. Unknown fields are rejected so that a typo
is an error, not a silently ignored setting.
"""

from __future__ import annotations

import json
import math
import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from tunelake.errors import SpecError

MAX_SPEC_BYTES = 1_000_000
"""Specs are short documents; a bigger file is a mistake, not a spec."""

PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
"""``{name}`` in a command; ``{{`` and ``}}`` stay literal braces."""

BUILTIN_PLACEHOLDERS = frozenset({"trial_id", "trial_dir", "model_dir", "experiment_id"})


class Mode(str, Enum):
    MAX = "max"
    MIN = "min"


class Backend(str, Enum):
    LOCAL = "local"
    RAY = "ray"
    AWS = "aws"


class Algorithm(str, Enum):
    RANDOM = "random"
    GRID = "grid"
    TPE = "tpe"


class SchedulerKind(str, Enum):
    FIFO = "fifo"
    ASHA = "asha"
    MEDIAN = "median"


ALGORITHM_ALIASES = {"bayesian": "tpe", "bayes": "tpe", "optuna": "tpe", "random_search": "random"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
Number = Union[StrictInt, StrictFloat]


class _Range(_Model):
    @model_validator(mode="after")
    def _ordered(self) -> "_Range":
        low, high = self.low, self.high  # type: ignore[attr-defined]
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"low and high must be finite numbers (got low={low}, high={high})")
        if low >= high:
            raise ValueError(f"low must be below high ({low} >= {high}); swap them or widen the range")
        return self


class Uniform(_Range):
    """A float drawn uniformly from ``[low, high]``."""

    type: Literal["uniform"]
    low: Number
    high: Number


class LogUniform(_Range):
    """A positive float drawn uniformly in log space from ``[low, high]``."""

    type: Literal["loguniform"]
    low: Number
    high: Number

    @model_validator(mode="after")
    def _positive(self) -> "LogUniform":
        if self.low <= 0:
            raise ValueError(
                f"loguniform needs low > 0 (got low={self.low}); use a small positive low such as 1e-6, "
                "or type 'uniform'"
            )
        return self


class Int(_Range):
    """An integer from ``low`` to ``high``, both inclusive (``log`` samples in log space)."""

    type: Literal["int"]
    low: StrictInt
    high: StrictInt
    log: StrictBool = False

    @model_validator(mode="after")
    def _positive_when_log(self) -> "Int":
        if self.log and self.low <= 0:
            raise ValueError(f"int with log=true needs low >= 1 (got low={self.low})")
        return self


class Choice(_Model):
    """One of ``values``, picked by the searcher."""

    type: Literal["choice"]
    values: Annotated[list[Scalar], Field(min_length=1)]


class Constant(_Model):
    """A fixed value, passed to every trial (written as a bare scalar in ``search``)."""

    type: Literal["constant"]
    value: Scalar


class Grid(_Model):
    """Every one of ``values`` is tried (a grid axis); needs algorithm random or grid."""

    type: Literal["grid"]
    values: Annotated[list[Scalar], Field(min_length=1)]


Param = Annotated[Union[Uniform, LogUniform, Int, Choice, Grid, Constant], Field(discriminator="type")]
PARAM_TYPES = ("uniform", "loguniform", "int", "choice", "grid", "constant")


class Resources(_Model):
    """Where trials run and what each one gets; ``instance_*`` sizes an AWS cluster."""

    instance_count: Annotated[StrictInt, Field(ge=1)] = 1
    instance_type: StrictStr | None = None
    cpus_per_trial: Annotated[Number, Field(gt=0)] = 1
    gpus_per_trial: Annotated[Number, Field(ge=0)] = 0


class Optimizer(_Model):
    """The search: a Ray Tune searcher, a Ray Tune scheduler, and the budgets."""

    algorithm: Algorithm = Algorithm.TPE
    scheduler: SchedulerKind = SchedulerKind.FIFO
    num_samples: Annotated[StrictInt, Field(ge=1)] | None = None
    max_concurrent_trials: Annotated[StrictInt, Field(ge=1)] | None = None
    time_budget_s: Annotated[Number, Field(gt=0)] | None = None
    trial_timeout_s: Annotated[Number, Field(gt=0)] | None = None
    seed: StrictInt | None = None
    grace_period: Annotated[StrictInt, Field(ge=1)] = 1
    max_t: Annotated[StrictInt, Field(ge=1)] = 100
    reduction_factor: Annotated[Number, Field(gt=1)] = 3
    points_to_evaluate: list[dict[str, Scalar]] = Field(default_factory=list)

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
    primary_result_key: Annotated[StrictStr, Field(min_length=1)]
    mode: Mode = Mode.MAX
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
            return {k: _expand_shorthand(v) for k, v in value.items()}
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
        if grids and self.optimizer.algorithm is Algorithm.TPE:
            problems.append(
                f"optimizer.algorithm: 'tpe' cannot search grid parameters ({', '.join(grids)}): "
                "use type 'choice', or algorithm 'grid' or 'random'"
            )
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


def _expand_shorthand(value: Any) -> Any:
    if isinstance(value, list):
        return {"type": "choice", "values": value}
    if isinstance(value, (bool, int, float, str)):
        return {"type": "constant", "value": value}
    return value


def _format_errors(exc: ValidationError) -> list[str]:
    """One line per problem: the field's dotted path, then what is wrong and how to fix it."""
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        # Drop the union member tags pydantic inserts (search.C.uniform.low -> search.C.low).
        loc = [p for p in loc if p not in PARAM_TYPES and not p.startswith(("tagged-union[", "function-"))]
        path = ".".join(loc) or "spec"
        kind = err["type"]
        msg = err["msg"].removeprefix("Value error, ")
        if kind == "missing":
            msg = "is required"
        elif kind == "extra_forbidden":
            parent = _model_at(loc[:-1])
            known = ", ".join(sorted(parent.model_fields)) if parent else ""
            msg = f"unknown field; known fields here: {known}" if known else "unknown field"
        elif kind == "union_tag_invalid":
            msg = f"unknown type {err['input'].get('type')!r}; use one of: {', '.join(PARAM_TYPES)}"
        elif kind == "union_tag_not_found":
            msg = f"needs a \"type\": one of {', '.join(PARAM_TYPES)}"
        elif kind == "enum":
            msg = f"{err['input']!r} is not known; use one of: {err['ctx']['expected']}"
        elif kind in ("model_type", "dict_type"):
            msg = f"must be an object, got {type(err['input']).__name__}"
        if kind.endswith("_type") and "input" in err and kind not in ("model_type", "dict_type"):
            msg = f"{msg} (got {_short(err['input'])})"
        lines.append(f"{path}: {msg}")
    return lines


def _model_at(loc: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Spec
    for part in loc:
        if model is None:
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return model


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_spec(data: Any, source: str = "spec") -> Spec:
    """Validate a parsed document; raise :class:`SpecError` listing every problem."""
    if data is None:
        raise SpecError(["spec: is empty; write a JSON/YAML object with command, primary_result_key, "
                         "code_github and search"], source)
    if not isinstance(data, dict):
        raise SpecError([f"spec: must be a JSON/YAML object, got {type(data).__name__}"], source)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_format_errors(exc), source) from None
    except RecursionError:
        raise SpecError(["spec: nested too deeply to be an experiment spec"], source) from None
    problems = spec.problems()
    if problems:
        raise SpecError(problems, source)
    return spec


def load_document(text: str, source: str = "spec") -> Any:
    """Parse JSON, or YAML when it is not JSON; errors name the line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError([f"spec: larger than {MAX_SPEC_BYTES} bytes; a spec is a short JSON or YAML file"], source)
    if "\x00" in text:
        raise SpecError(["spec: contains NUL bytes; it must be a JSON or YAML text file"], source)
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError([f"spec: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"], source) \
                from None
        except RecursionError:
            raise SpecError(["spec: nested too deeply to be an experiment spec"], source) from None
    try:
        return yaml.load(text, Loader=_SafeNoAliasLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError([f"spec: invalid YAML{where}: {problem}"], source) from None
    except RecursionError:
        raise SpecError(["spec: nested too deeply to be an experiment spec"], source) from None


class _SafeNoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a spec never needs them, and they allow 'billion laughs' bombs."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in a spec", event.start_mark
            )
        return super().compose_node(parent, index)


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file (JSON or YAML)."""
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise SpecError([f"spec: file {source!r} not found; pass the path of an experiment JSON or YAML file"],
                        source)
    raw = p.read_bytes()
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([f"spec: larger than {MAX_SPEC_BYTES} bytes; a spec is a short JSON or YAML file"], source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(["spec: not UTF-8 text; a spec is a JSON or YAML file"], source) from None
    return parse_spec(load_document(text, source), source)
