"""Connecting to Ray: the cluster the user names, else a private local instance.

Ray's own default (``ray.init()`` with no address) joins whatever cluster the newest
``ray start`` on the machine left in ``/tmp/ray/ray_current_cluster``: another user's, or
a dead one, where it waits for minutes. tunelake never discovers: without an address it
starts a Ray of its own (``address="local"``, its own temp dir, so its sockets, session files
and ports never meet another instance's), and an address the user gives is probed first, so
a cluster that is down fails in seconds with its address in the message.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import Any, Iterator

import ray

from tunelake.errors import UserInputError

logger = logging.getLogger(__name__)

PROBE_S = 15.0
"""How long an address may take to answer before tunelake gives up on it."""

QUIET: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}


class ClusterUnreachable(UserInputError):
    """The Ray cluster the user named does not answer."""


@contextmanager
def ray_session(address: str | None = None) -> Iterator[str]:
    """Ray for the duration of the block; yields the cluster's GCS address.

    Reuses a Ray already initialized in this process (a notebook, a test) and leaves it
    running; otherwise connects to ``address`` / ``$RAY_ADDRESS`` (probed first), or starts
    a private local instance, and shuts it down after.
    """
    if ray.is_initialized():
        yield ray.get_runtime_context().gcs_address
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address and address != "local":
        probe(address)
        ray.init(address=address, **QUIET)
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()
        return
    with private_ray(include_dashboard=False):
        yield ray.get_runtime_context().gcs_address


@contextmanager
def private_ray(**init: Any) -> Iterator[Any]:
    """A new local Ray in a temp dir of its own, shut down and removed after the block.

    Yields the context ``ray.init`` returns (its ``dashboard_url``, its addresses).
    """
    # Ray's socket paths must stay under the OS limit (107 bytes), so keep the root short.
    temp = tempfile.mkdtemp(prefix="tunelake-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        context = ray.init(address="local", _temp_dir=temp, **{**QUIET, **init})
        try:
            yield context
        finally:
            ray.shutdown()
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def probe(address: str, within_s: float = PROBE_S) -> None:
    """Raise :class:`ClusterUnreachable` naming ``address`` unless a Ray cluster answers there.

    ``ray.init`` itself retries an unreachable GCS for minutes and ignores SIGTERM meanwhile;
    this check answers in ``within_s`` at most. ``auto`` (Ray's own discovery, asked for by
    name) is left to Ray.
    """
    if address == "auto":
        return
    if address.startswith(("http://", "https://")):
        _probe_dashboard(address, within_s)
    elif address.startswith("ray://"):
        _probe_tcp(address, address.removeprefix("ray://"), within_s)
    else:
        _probe_gcs(address, within_s)


def _probe_gcs(address: str, within_s: float) -> None:
    import grpc
    from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc

    deadline = time.monotonic() + within_s
    with grpc.insecure_channel(address) as channel:
        stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
        while True:
            left = deadline - time.monotonic()
            try:
                stub.GetClusterId(gcs_service_pb2.GetClusterIdRequest(), timeout=max(left, 0.1))
                return
            except grpc.RpcError as e:
                code = e.code()
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    return  # it answered (an auth-token cluster may refuse the call): a GCS is there
                if time.monotonic() + 1 >= deadline:
                    raise _unreachable(address, "nothing answers as a Ray head there"
                                       if code == grpc.StatusCode.DEADLINE_EXCEEDED
                                       else "the connection was refused") from None
                time.sleep(1)


def _probe_tcp(address: str, host_port: str, within_s: float) -> None:
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=within_s):
            return
    except ValueError:
        raise ClusterUnreachable(f"Ray address {address!r} has no port: write it as host:port") from None
    except OSError as e:
        raise _unreachable(address, e.strerror or str(e)) from None


def _probe_dashboard(address: str, within_s: float) -> None:
    try:
        with urllib.request.urlopen(address.rstrip("/") + "/api/version", timeout=within_s):
            return
    except urllib.error.HTTPError:
        return  # a server that answers HTTP is there; the Jobs API will say more
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise _unreachable(address, str(getattr(e, "reason", e))) from None


def _unreachable(address: str, why: str) -> ClusterUnreachable:
    return ClusterUnreachable(
        f"the Ray cluster at {address} does not answer ({why}): check that it is running "
        f"(`ray status --address {address}`) and reachable from here, or leave out --address "
        f"and unset RAY_ADDRESS to run on a private local Ray"
    )
