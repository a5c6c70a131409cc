"""Connecting to Ray: an existing cluster when given an address, else a local instance."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

import ray

logger = logging.getLogger(__name__)


@contextmanager
def ray_session(address: str | None = None) -> Iterator[str]:
    """Ray for the duration of the block; yields the cluster's address.

    Reuses a Ray already initialized in this process (a notebook, a test) and
    leaves it running; otherwise connects to ``address`` / ``$RAY_ADDRESS``,
    or starts a local instance without the dashboard, and shuts it down after.
    """
    if ray.is_initialized():
        yield ray.get_runtime_context().gcs_address
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    kwargs = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(include_dashboard=False, **kwargs)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
