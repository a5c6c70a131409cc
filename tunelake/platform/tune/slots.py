"""How many trials run at once, and a gate that makes it so from the first trial on.

:func:`concurrency` is the number of slots. The start gate holds each trial
actor's first trial until every actor the experiment can run at once has
started.

Tune hands a finished trial's actor to the next trial rather than wait for a
new actor to start, and drops the one that was starting. A trial shorter than
an actor's start (about a second: a new worker process importing Ray Tune)
therefore always frees its actor first, the second actor never starts, and
"2 at a time" runs one at a time while a worker is started and killed again
per trial. Held here, the first actors are still busy when the others come
up; from then on Tune reuses every one of them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import ray

from tunelake.cluster.capacity import AUTOSCALING_VARIABLE, fits
from tunelake.errors import UserInputError

logger = logging.getLogger(__name__)

WAIT_S = 10.0
"""How long a first trial waits for the other actors: a few actor starts on a
busy node. A cluster that cannot fit them all (another job holds its CPUs)
costs this once per experiment; then the gate stays open."""

SETTLE_S = 3.0
"""How long a new search waits for resources a just-ended search's actors are still giving back."""

_passed = False  # per worker process, i.e. per trial actor


def concurrency(optimizer_limit: int | None, cpus_per_trial: float = 1, gpus_per_trial: float = 0) -> int:
    """How many trials may run at once: the spec's limit, else as many as the cluster holds now.

    Tune lets a searcher other than its random/grid generator keep only one
    trial pending at a time unless a limit is set, which on a small cluster
    runs TPE's trials almost one after another; random and grid search
    queue every trial and need no limit. An autoscaling cluster that grows
    later should set ``optimizer.max_concurrent_trials`` itself.
    """
    if optimizer_limit is not None:
        return optimizer_limit
    return max(1, fits(ray.cluster_resources(), cpus_per_trial, gpus_per_trial))


def autoscaling() -> bool:
    """Whether nodes may join the cluster on demand: the driver's ``TUNELAKE_AUTOSCALING=1`` says so, or Ray's
    autoscaler (v2, as KubeRay runs it) has published the cluster's node groups.

    Ray's v1 autoscaler (``ray up``) leaves no mark a driver can tell from a cluster of ``ray start`` nodes,
    hence the variable. ``ray._private.state`` is a private API: ``tests/platform/experiments/test_run.py``
    (``test_a_trial_no_node_can_hold_fails_at_once_on_a_fixed_cluster``) runs it on a real cluster.
    """
    if os.environ.get(AUTOSCALING_VARIABLE, "").strip().lower() in ("1", "true", "yes"):
        return True
    from ray._private.state import state

    return state.get_cluster_config() is not None


def check_a_node_fits(cpus_per_trial: float, gpus_per_trial: float) -> None:
    """Refuse at once a trial that no node of a fixed cluster can hold (Ray Tune would wait for it forever,
    at 0 of N trials, saying nothing); on an autoscaling cluster, warn and leave the node to the autoscaler."""
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    if any(fits(resources, cpus_per_trial, gpus_per_trial) >= 1 for resources in nodes):
        return
    biggest = max(nodes, key=lambda r: (r.get("CPU", 0.0), r.get("GPU", 0.0)), default={})
    wanted = f"{cpus_per_trial:g} CPUs" + (f" and {gpus_per_trial:g} GPUs" if gpus_per_trial else "")
    message = (f"resources: a trial needs {wanted}, but no node of the Ray cluster has that much (its {len(nodes)} "
               f"node(s): the biggest has {biggest.get('CPU', 0.0):g} CPUs and {biggest.get('GPU', 0.0):g} GPUs)")
    if autoscaling():
        logger.warning("%s; waiting for the autoscaler to add a node that does", message)
        return
    raise UserInputError(f"{message}; lower resources.cpus_per_trial / gpus_per_trial, or add a node that holds "
                         f"one (on a cluster that adds nodes itself, set {AUTOSCALING_VARIABLE}=1 to wait for it)")


@ray.remote(num_cpus=0)
class StartGate:
    """Opens once ``expected`` actors have arrived, or ``wait_s`` after the first did."""

    def __init__(self, expected: int, wait_s: float = WAIT_S) -> None:
        self.expected = expected
        self.wait_s = wait_s
        self.arrived = 0
        self.open = asyncio.Event()

    async def arrive(self) -> int:
        """Wait until the gate opens; return which arrival this was."""
        self.arrived += 1
        number = self.arrived
        if number >= self.expected:
            self.open.set()
        try:
            await asyncio.wait_for(self.open.wait(), self.wait_s)
        except asyncio.TimeoutError:
            self.open.set()  # the rest will not come soon; later arrivals go straight through
        return number


def start_gate(slots: int, trials: int, cpus_per_trial: float = 1, gpus_per_trial: float = 0) -> Any:
    """A gate for the trial actors that will start together: at most ``slots`` (the experiment's
    concurrency) and ``trials``, and only as many as the cluster's free resources hold now (another
    experiment may hold the rest); ``None`` when that is one.

    The actors of a search that just ended give their resources back a moment after it returns, so
    a search started right after another (a notebook, a benchmark, a test suite) waits up to
    :data:`SETTLE_S` for them before counting.
    """
    wanted = min(slots, trials)
    settle_until = time.monotonic() + SETTLE_S
    while True:
        expected = min(wanted, fits(ray.available_resources(), cpus_per_trial, gpus_per_trial))
        if expected >= wanted or time.monotonic() > settle_until:
            break
        time.sleep(0.1)
    return StartGate.remote(expected) if expected > 1 else None


def close_gate(gate: Any) -> None:
    """End the gate's actor (a worker process of its own) once the search is over."""
    if gate is not None:
        ray.kill(gate)


def pass_gate(gate: Any) -> None:
    """Wait at ``gate`` on this actor's first trial; later trials on the same actor go straight on."""
    global _passed
    if gate is None or _passed:
        return
    _passed = True
    ray.get(gate.arrive.remote())
