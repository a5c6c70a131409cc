"""The one retry loop: exponential backoff with jitter, for storage calls that
can fail for a while (an S3 endpoint restarting, a throttled bucket)."""

from __future__ import annotations

import logging
import random
import time
from typing import Callable, TypeVar

T = TypeVar("T")
logger = logging.getLogger(__name__)


def retry(
    action: Callable[[], T],
    what: str,
    retry_on: tuple[type[BaseException], ...],
    attempts: int = 8,
    first_delay_s: float = 0.2,
    max_delay_s: float = 10.0,
) -> T:
    """Call ``action`` until it succeeds, at most ``attempts`` times; re-raise the last error.

    With the defaults the waits add up to about 40 s, enough to ride out an
    S3 endpoint that restarts.
    """
    delay = first_delay_s
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except retry_on as exc:
            if attempt == attempts:
                raise
            logger.warning("%s failed (attempt %d of %d): %s; retrying in %.1fs", what, attempt, attempts, exc, delay)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, max_delay_s)
    raise AssertionError("unreachable")
