"""The live counts of a search and its best trial so far: kept by the lake recorder, shown by the progress display."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunelake.store.catalog import better
from tunelake.store.schema import TrialStatus


@dataclass
class Tally:
    """Live counts and the best trial so far, for progress displays."""

    mode: str
    metric: str
    counts: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in TrialStatus})
    best_value: float | None = None
    best_params: dict[str, Any] | None = None
    best_trial_id: str | None = None
    finished: list[dict[str, Any]] = field(default_factory=list)

    def better(self, value: float) -> bool:
        return better(value, self.best_value, self.mode)
