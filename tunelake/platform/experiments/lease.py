"""One driver per experiment, and a heartbeat that shows when it has gone.

Two drivers of one experiment (two ``tunelake resume`` at once, or a ``resume`` while
the first driver still runs) would run trials twice and clobber each other's folders.
Each driver claims the experiment in the lake's ``drivers`` table before it writes
anything else: the live claim with the lowest ``lease`` (a clock read just before
the claim is written) drives, and a later one is refused naming it. A claim stays live
while its heartbeat is fresh, so a driver killed with ``kill -9`` frees the experiment
within a few heartbeats, and readers show its ``running`` row as ``lost``.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

from tunelake.errors import TunelakeError, UserInputError
from tunelake.store import catalog
from tunelake.store.lake import Lake, next_version, utcnow
from tunelake.store.schema import DRIVERS

logger = logging.getLogger(__name__)


def heartbeat_s() -> float:
    """Seconds between heartbeats (``$TUNELAKE_HEARTBEAT_S``, default 30); readers call a driver
    gone after :data:`tunelake.store.catalog.MISSED_BEATS` of them."""
    return float(os.environ.get("TUNELAKE_HEARTBEAT_S", "30"))


class ExperimentBusy(UserInputError):
    """Another live driver holds the experiment."""


class DriverLease:
    """This process's claim on an experiment: :meth:`acquire`, then a heartbeat until :meth:`release`."""

    def __init__(self, lake: Lake, experiment_id: str) -> None:
        self.lake = lake
        self.experiment_id = experiment_id
        self.driver_id = uuid.uuid4().hex[:16]
        self.every = heartbeat_s()
        self.lease = 0
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> None:
        """Claim the experiment or raise :class:`ExperimentBusy` naming the driver that has it.

        The claim is read back after a pause of a few times its own write's cost, so a
        rival claim written at the same moment is seen by at least one of the two.
        """
        self.lease = next_version()
        started = time.monotonic()
        self._write()
        time.sleep(3 * (time.monotonic() - started) + 0.2)
        rivals = [d for d in catalog.live_drivers(self.lake, self.experiment_id)
                  if d["driver_id"] != self.driver_id and (d["lease"], d["driver_id"]) < (self.lease, self.driver_id)]
        if rivals:
            self._write(ended=True)
            raise ExperimentBusy(_busy(self.experiment_id, rivals[0]))
        self._beat = threading.Thread(target=self._beating, name="tunelake-heartbeat", daemon=True)
        self._beat.start()

    def release(self) -> None:
        """End the heartbeat and mark the claim ended, so the next driver need not wait for it to go stale."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=self.every + 5)
        try:
            self._write(ended=True)
        except TunelakeError as exc:  # the experiment's own row says how it ended; the claim goes stale
            logger.warning("could not end the driver's claim on %s: %s", self.experiment_id, exc)

    def _beating(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self._write()
            except Exception as exc:  # a lake away for a while: beat again next time
                logger.warning("heartbeat of %s not written: %s", self.experiment_id, exc)

    def _write(self, ended: bool = False) -> None:
        now = utcnow()
        self.lake.append(DRIVERS, [{
            "experiment_id": self.experiment_id, "driver_id": self.driver_id, "host": socket.gethostname(),
            "pid": os.getpid(), "command": shlex.join(sys.argv)[:500], "lease": self.lease,
            "heartbeat_s": self.every, "heartbeat_at": now, "ended_at": now if ended else None,
        }])


def _busy(experiment_id: str, driver: dict) -> str:
    beat = driver["heartbeat_at"]
    age = (datetime.now(timezone.utc) - beat).total_seconds() if beat else float("nan")
    return (f"experiment {experiment_id} is driven by another process: `{driver['command']}` "
            f"(pid {driver['pid']} on {driver['host']}, last heartbeat {age:.0f} s ago); wait for it to end, "
            f"or stop it (kill {driver['pid']}, or POST /experiments/{experiment_id}/stop), then "
            f"`tunelake resume {experiment_id}`")
