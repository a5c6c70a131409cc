"""Reading metrics from a trial's stdout, in the forms users already write.

A line is a report when it is
- a JSON object: its numeric members are the metrics (``{"acc": 0.9}``);
- made only of ``key=value`` pairs with numeric values, separated by spaces,
  commas or semicolons (``epoch=3 loss=0.21``), as Katib users write;
- matched by one of the spec's ``metrics`` regexes (SageMaker's
  ``MetricDefinitions``): the first group is the value.
Other lines are ignored, so ordinary logging never turns into metrics.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MAX_LINE_CHARS = 1_000_000
"""Longer lines are not parsed (a metric line is short); the trial goes on."""

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|NaN|inf|Inf|infinity|Infinity)"
_PAIR = re.compile(rf"([A-Za-z_][A-Za-z0-9_.\-/]*)\s*=\s*({_NUMBER})")
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class Report:
    """One report: metric name to value, in the order the trial printed them."""

    metrics: dict[str, float]


class MetricParser:
    """Turns stdout lines into reports; one instance per trial (it is stateless)."""

    def __init__(self, regexes: dict[str, str] | None = None) -> None:
        self._regexes = {name: re.compile(p) for name, p in (regexes or {}).items()}

    def parse(self, line: str) -> Report | None:
        if len(line) > MAX_LINE_CHARS:
            return None
        text = line.strip()
        if not text:
            return None
        metrics: dict[str, float] = {}
        if text.startswith("{") and text.endswith("}"):
            metrics.update(_json_metrics(text))
        elif "=" in text:
            metrics.update(_pair_metrics(text))
        for name, regex in self._regexes.items():
            match = regex.search(text)
            if match:
                value = _to_float(match.group(1))
                if value is not None:
                    metrics[name] = value
        return Report(metrics) if metrics else None


def _json_metrics(text: str) -> dict[str, float]:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(obj, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in obj.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _pair_metrics(text: str) -> dict[str, float]:
    """Metrics only if every token of the line is a ``key=value`` pair."""
    metrics: dict[str, float] = {}
    pos = 0
    for match in _PAIR.finditer(text):
        if _SEPARATORS.sub("", text[pos:match.start()]):
            return {}
        value = _to_float(match.group(2))
        if value is None:
            return {}
        metrics[match.group(1)] = value
        pos = match.end()
    if _SEPARATORS.sub("", text[pos:]):
        return {}
    return metrics


def _to_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
