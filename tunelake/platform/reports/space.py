"""How to draw each parameter of an experiment: a log, linear or category axis, read from its spec.

Charts in the page, the API and ``tunelake plot`` all take their axes from here, so a ``loguniform`` ``C`` is on a
log axis everywhere and a ``choice`` keeps the order its spec lists. A parameter the spec does not describe (an
AutoML family's own parameters) gets its axis from the values the trials hold.
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from tunelake.platform.spec.params import expand_shorthand


class Scale(str, Enum):
    LINEAR = "linear"
    LOG = "log"
    CATEGORY = "category"


@dataclass(frozen=True)
class Axis:
    """One parameter's axis: its scale, its range (numbers) or its categories in order (as text)."""

    name: str
    scale: Scale
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] = ()
    integer: bool = False

    def public(self) -> dict[str, Any]:
        return {**asdict(self), "scale": self.scale.value, "categories": list(self.categories)}

    @classmethod
    def from_public(cls, public: dict[str, Any]) -> "Axis":
        return cls(**{**public, "scale": Scale(public["scale"]), "categories": tuple(public["categories"])})

    def position(self, value: Any) -> float | str | None:
        """Where ``value`` sits on this axis: a number, a category's label, or ``None`` (it cannot be drawn)."""
        if self.scale is Scale.CATEGORY:
            return label(value)
        if not _number(value) or (self.scale is Scale.LOG and value <= 0):
            return None
        return float(value)


    def bins(self, count: int, positions: list[Any]) -> list[float | str]:
        """Cell boundaries along this axis for a heat map: ``count`` equal cells between its bounds (in log10
        space on a log axis, so each cell spans the same factor), or its categories (those the spec lists, then
        those only the trials hold)."""
        if self.scale is Scale.CATEGORY:
            return list(dict.fromkeys([*self.categories, *(p for p in positions if isinstance(p, str))]))
        numbers = [p for p in positions if isinstance(p, float)]
        low = self.low if self.low is not None else min(numbers, default=0.0)
        high = self.high if self.high is not None else max(numbers, default=1.0)
        log = self.scale is Scale.LOG and low > 0
        a, b = (math.log10(low), math.log10(high)) if log else (low, high)
        if a == b:
            a, b = a - 0.5, b + 0.5
        edges = [a + (b - a) * i / count for i in range(count + 1)]
        return [10 ** e for e in edges] if log else edges

    def cell(self, bins: list[float | str], position: float | str) -> int:
        """The cell ``position`` falls in, of those ``bins`` bounds (the last cell holds its upper bound)."""
        if self.scale is Scale.CATEGORY:
            return bins.index(position)
        return max(0, min(len(bins) - 2, bisect.bisect_right(bins, position) - 1))


def label(value: Any) -> str:
    """A category as text, the same way everywhere (JSON for lists and booleans, so ``true`` is not ``True``)."""
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _declared(name: str, raw: Any) -> Axis | None:
    param = expand_shorthand(raw)
    kind = param.get("type") if isinstance(param, dict) else None
    if kind in ("uniform", "loguniform", "int"):
        log = kind == "loguniform" or bool(param.get("log"))
        return Axis(name, Scale.LOG if log else Scale.LINEAR, float(param["low"]), float(param["high"]),
                    integer=kind == "int")
    if kind in ("choice", "grid"):
        values = param.get("values") or []
        if all(_number(v) for v in values) and len(values) > 1:  # numbers stay on a number line
            low, high = min(values), max(values)
            log = low > 0 and high / low >= 100
            return Axis(name, Scale.LOG if log else Scale.LINEAR, float(low), float(high),
                        integer=all(isinstance(v, int) for v in values))
        return Axis(name, Scale.CATEGORY, categories=tuple(dict.fromkeys(label(v) for v in values)))
    return None  # a constant, or something this version does not draw


def _observed(name: str, values: list[Any]) -> Axis | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(_number(v) for v in present):
        low, high = float(min(present)), float(max(present))
        log = low > 0 and high / low >= 100
        return Axis(name, Scale.LOG if log else Scale.LINEAR, low, high,
                    integer=all(isinstance(v, int) for v in present))
    return Axis(name, Scale.CATEGORY, categories=tuple(sorted({label(v) for v in present})))


def axes(spec_json: str | None, trial_params: list[dict[str, Any]]) -> list[Axis]:
    """An axis for each parameter: the spec's search in its order, then parameters only the trials show."""
    search = (json.loads(spec_json) if spec_json else {}).get("search") or {}
    found: dict[str, Axis] = {}
    for name, raw in search.items():
        axis = _declared(name, raw)
        if axis is not None:
            found[name] = axis
    extra = dict.fromkeys(k for p in trial_params for k in p if k not in found)  # e.g. AutoML's per-family ones
    for name in extra:
        axis = _observed(name, [p.get(name) for p in trial_params])
        if axis is not None:
            found[name] = axis
    return list(found.values())
