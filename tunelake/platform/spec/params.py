"""The search parameters a spec may hold: one pydantic model per type.

Bounds mean the same everywhere: ``low`` and ``high`` are both inclusive for
``int``; ``uniform`` and ``loguniform`` draw from ``[low, high]``. Their
conversion to Ray Tune's domains lives in one place, ``platform/tune/space.py``
(this room knows nothing of Ray).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
Number = Union[StrictInt, StrictFloat]


INT64 = 2**63 - 1
"""Ray, numpy and the lake hold integers in 64 bits: a bound beyond cannot be drawn."""


class _Range(_Model):
    @model_validator(mode="after")
    def _ordered(self) -> "_Range":
        low, high = self.low, self.high  # type: ignore[attr-defined]
        if any(isinstance(v, int) and abs(v) > INT64 for v in (low, high)):
            raise ValueError(f"low and high must lie within +-{INT64} (64-bit integers); got low={low}, high={high}")
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


def expand_shorthand(value: Any) -> Any:
    if isinstance(value, list):
        return {"type": "choice", "values": value}
    if isinstance(value, (bool, int, float, str)):
        return {"type": "constant", "value": value}
    return value
