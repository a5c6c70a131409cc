"""Admission for work the service runs on threads of its own: at most ``size`` at once, the rest refused
at once (503) rather than queued, so a burst of slow requests never holds the threads that ``/health``
and the other routes need, and what they use in total stays ``size`` times what one may use."""

from __future__ import annotations

from typing import Callable, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import HTTPException, status

T = TypeVar("T")


class Gate:
    def __init__(self, size: int, what: str) -> None:
        self.size = size
        self.what = what
        self.running = 0
        self._threads: CapacityLimiter | None = None  # made on the event loop, at first use

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` on one of the gate's threads; a 503 naming the limit when all are busy. The slot is
        held until ``work`` returns, even when the client has gone (the thread cannot be abandoned)."""
        if self.running >= self.size:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"{self.size} {self.what} are running, the most this service runs at once; "
                                "try again in a few seconds", headers={"Retry-After": "2"})
        self.running += 1  # no await between the check and this: the event loop runs one request at a time here
        try:
            if self._threads is None:
                self._threads = CapacityLimiter(self.size)
            return await anyio.to_thread.run_sync(work, limiter=self._threads)
        finally:
            self.running -= 1
