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

import socket

from tunelake.store.schema import TrialStatus

OBJECTIVE = "tl_objective"
"""The key of the value Tune's searcher and scheduler optimize."""

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
