"""AWS instance types tunelake knows how to size Ray worker nodes for."""

from __future__ import annotations

from dataclasses import dataclass

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
    InstanceType("p5.48xlarge", 192, 8, 2048, "H100"),
    InstanceType("g4dn.xlarge", 4, 1, 16, "T4"),
    InstanceType("g4dn.2xlarge", 8, 1, 32, "T4"),
    InstanceType("g4dn.12xlarge", 48, 4, 192, "T4"),
    InstanceType("g5.xlarge", 4, 1, 16, "A10G"),
    InstanceType("g5.2xlarge", 8, 1, 32, "A10G"),
    InstanceType("g5.12xlarge", 48, 4, 192, "A10G"),
    InstanceType("g5.48xlarge", 192, 8, 768, "A10G"),
    InstanceType("g6.xlarge", 4, 1, 16, "L4"),
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
