"""The one contract between a trial (on a worker) and the driver: what a Tune result carries.

Tune sees one objective, :data:`OBJECTIVE` (the spec's primary metric), so
user metric names never collide with Tune's own result keys; all metrics
travel in ``tl_metrics``. ``tl_kind`` says what a result is: a report
printed mid-run, one cross-validation fold of an AutoML trial, or the final
result. A trial's end (completed, failed, stopped) is always a final result
with ``tl_outcome``, never an exception, so it reaches the driver like any
result and the experiment goes on. Outcomes are the lake's own trial
statuses (:class:`~tunelake.store.schema.TrialStatus`).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any

from tunelake.store.schema import TrialStatus

OBJECTIVE = "tl_objective"
"""The key of the value Tune's searcher and scheduler optimize."""


def objective_key(index: int) -> str:
    """The key of the ``index``-th metric of a multi-objective search (the first is :data:`OBJECTIVE`)."""
    return OBJECTIVE if index == 0 else f"{OBJECTIVE}_{index}"

REPORT = "report"
FOLD = "fold"
FINAL = "final"
"""The values of ``tl_kind``."""


class Outcome:
    """The values of ``tl_outcome`` on a final result: the lake's statuses of an ended trial."""

    COMPLETED = TrialStatus.COMPLETED.value
    FAILED = TrialStatus.FAILED.value
    STOPPED = TrialStatus.STOPPED.value


def node_name() -> str:
    """This Ray node as trial rows name it: host, then the start of the Ray node id."""
    import ray

    return f"{socket.gethostname()}:{ray.get_runtime_context().get_node_id()[:8]}"


@dataclass(frozen=True)
class TrialResult:
    """One result a trial sends to the driver, in tunelake's terms; :meth:`to_tune` is what Tune carries.

    ``reports`` are the reports printed since the previous result, each
    ``{"step", "metrics", "at"}``; they travel as JSON text so Tune does not
    flatten them into columns. ``objective`` is left out when there is none
    (a failed trial reports none, so no searcher learns from it).
    """

    kind: str
    metrics: dict[str, float] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)
    objective: float | None = None
    node: str | None = None
    outcome: str | None = None
    reason: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    stderr_tail: str | None = None
    model_uri: str | None = None
    started_at: float | None = None
    steps: int | None = None
    duration_s: float | None = None
    instance_type: str | None = None

    @property
    def final(self) -> bool:
        return self.kind == FINAL

    def to_tune(self) -> dict[str, Any]:
        result: dict[str, Any] = {"tl_kind": self.kind, "tl_metrics": dict(self.metrics),
                                  "tl_reports": json.dumps(self.reports, allow_nan=True)}
        if self.objective is not None:
            result[OBJECTIVE] = self.objective
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                result[f"tl_{name}"] = value
        return result

    @classmethod
    def from_tune(cls, result: dict[str, Any]) -> "TrialResult":
        """The result Tune passed on (``kind`` is ``""`` for one no trial of tunelake's sent)."""
        return cls(kind=result.get("tl_kind", ""), metrics=dict(result.get("tl_metrics") or {}),
                   reports=json.loads(result.get("tl_reports") or "[]"), objective=result.get(OBJECTIVE),
                   **{name: result.get(f"tl_{name}") for name in _OPTIONAL})


_OPTIONAL = ("node", "outcome", "reason", "exit_code", "signal", "stderr_tail", "model_uri", "started_at", "steps",
             "duration_s", "instance_type")


def is_final(result: dict[str, Any]) -> bool:
    """Whether a Tune result is a trial's final one (cheap: for searchers and stoppers)."""
    return result.get("tl_kind") == FINAL
