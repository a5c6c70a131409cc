"""AWS instance types tunelake knows how to size Ray worker nodes for, and which one this machine is."""

from __future__ import annotations

import functools
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tunelake.errors import UserInputError


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    gpus: int
    memory_gib: int
    gpu_model: str | None = None


_TYPES = [
    InstanceType("p3.2xlarge", 8, 1, 61, "V100"),
    InstanceType("p3.8xlarge", 32, 4, 244, "V100"),
    InstanceType("p3.16xlarge", 64, 8, 488, "V100"),
    InstanceType("p4d.24xlarge", 96, 8, 1152, "A100"),
    InstanceType("p4de.24xlarge", 96, 8, 1152, "A100-80GB"),
    InstanceType("p5.48xlarge", 192, 8, 2048, "H100"),
    InstanceType("g4dn.xlarge", 4, 1, 16, "T4"),
    InstanceType("g4dn.2xlarge", 8, 1, 32, "T4"),
    InstanceType("g4dn.4xlarge", 16, 1, 64, "T4"),
    InstanceType("g4dn.12xlarge", 48, 4, 192, "T4"),
    InstanceType("g5.xlarge", 4, 1, 16, "A10G"),
    InstanceType("g5.2xlarge", 8, 1, 32, "A10G"),
    InstanceType("g5.4xlarge", 16, 1, 64, "A10G"),
    InstanceType("g5.12xlarge", 48, 4, 192, "A10G"),
    InstanceType("g5.48xlarge", 192, 8, 768, "A10G"),
    InstanceType("g6.xlarge", 4, 1, 16, "L4"),
    InstanceType("g6.2xlarge", 8, 1, 32, "L4"),
    InstanceType("g6.12xlarge", 48, 4, 192, "L4"),
    InstanceType("g6e.xlarge", 4, 1, 32, "L40S"),
    InstanceType("m5.large", 2, 0, 8),
    InstanceType("m5.xlarge", 4, 0, 16),
    InstanceType("m5.2xlarge", 8, 0, 32),
    InstanceType("m5.4xlarge", 16, 0, 64),
    InstanceType("m5.8xlarge", 32, 0, 128),
    InstanceType("c5.2xlarge", 8, 0, 16),
    InstanceType("c5.4xlarge", 16, 0, 32),
    InstanceType("c5.9xlarge", 36, 0, 72),
    InstanceType("r5.2xlarge", 8, 0, 64),
]
INSTANCE_TYPES: dict[str, InstanceType] = {t.name: t for t in _TYPES}


def instance_type(name: str) -> InstanceType:
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        known = ", ".join(sorted(INSTANCE_TYPES))
        raise UserInputError(f"resources.instance_type: {name!r} is not known; use one of: {known}") from None


INSTANCE_TYPE_VARIABLE = "TUNELAKE_INSTANCE_TYPE"
"""Names the node's instance type; the rendered cluster configs set it where they start Ray."""
_IMDS = "http://169.254.169.254"
_DMI = ("/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/board_vendor")


@functools.cache
def this_instance_type() -> str | None:
    """The instance type of the machine this process runs on, or None off AWS.

    ``TUNELAKE_INSTANCE_TYPE`` first (a cluster config or the user says it); then EC2's instance
    metadata (IMDSv2), asked only on a machine whose firmware says it is EC2, or at the endpoint
    ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` names (as the AWS SDKs do), so a laptop never waits on it.
    """
    named = os.environ.get(INSTANCE_TYPE_VARIABLE, "").strip()
    if named:
        return named
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        return None
    endpoint = os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT", "").rstrip("/")
    if not endpoint and not _on_ec2():
        return None
    return _ask_imds(endpoint or _IMDS)


def _on_ec2() -> bool:
    for path in _DMI:
        try:
            if "amazon" in Path(path).read_text().lower():
                return True
        except OSError:
            continue
    return False


def _ask_imds(endpoint: str, timeout: float = 1.0) -> str | None:
    """IMDSv2: a session token by PUT, then the instance type; None when either does not answer."""
    try:
        ask = urllib.request.Request(f"{endpoint}/latest/api/token", method="PUT",
                                     headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with urllib.request.urlopen(ask, timeout=timeout) as reply:
            token = reply.read().decode()
        ask = urllib.request.Request(f"{endpoint}/latest/meta-data/instance-type",
                                     headers={"X-aws-ec2-metadata-token": token})
        with urllib.request.urlopen(ask, timeout=timeout) as reply:
            return reply.read().decode().strip() or None
    except (OSError, ValueError):
        return None
