"""Cluster configs from a spec's ``resources``: a Ray cluster-launcher YAML for
AWS (``ray up``); the KubeRay ``RayJob`` is in :mod:`tunelake.cluster.kuberay`.

Workers are sized from the instance-type table; the head node only runs the
driver (it advertises no CPUs, so trials go to the workers). Nodes run the
Ray image that matches the installed Ray and Python, and install tunelake:
from the source tree next to this package when there is one (mounted with
``file_mounts``), else the same version from the package index.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Protocol

import ray

from tunelake.cluster.aws import INSTANCE_TYPE_VARIABLE, instance_type
from tunelake.cluster.capacity import AUTOSCALING_VARIABLE
from tunelake.errors import UserInputError

HEAD_INSTANCE = "m5.xlarge"
REMOTE_SOURCE = "/home/ray/tunelake"


class Resources(Protocol):
    """What a cluster is sized from: the spec's ``resources`` (this room does not import the spec)."""

    instance_count: int
    instance_type: str | None
    cpus_per_trial: float
    gpus_per_trial: float


def ray_image(gpu: bool) -> str:
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    return f"rayproject/ray:{ray.__version__}-{py}-{'gpu' if gpu else 'cpu'}"


def _source_tree() -> Path | None:
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() and (root / "tunelake").is_dir() else None


def _install_commands(source: Path | None) -> list[str]:
    from tunelake._version import __version__

    if source is not None:
        return [f"pip install -q -e {REMOTE_SOURCE}"]
    return [f"pip install -q 'tunelake=={__version__}'"]


def cluster_name(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return f"tunelake-{slug}"[:60]


def launcher_config(name: str, res: Resources, region: str | None = None) -> dict[str, Any]:
    """A Ray cluster-launcher config (``ray up``) for an experiment ``name`` and its ``resources``."""
    if not res.instance_type:
        raise UserInputError("resources.instance_type: needed to render a cluster, e.g. \"p3.8xlarge\"")
    worker = instance_type(res.instance_type)
    check_fits(res, worker.vcpus, worker.gpus, worker.name)
    source = _source_tree()
    config: dict[str, Any] = {
        "cluster_name": cluster_name(name),
        "max_workers": res.instance_count,
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": 10,
        "docker": {
            "image": ray_image(worker.gpus > 0),
            "container_name": "ray_container",
            "pull_before_run": True,
            "run_options": ["--ulimit nofile=65536:65536"],
        },
        "provider": {
            "type": "aws",
            "region": region or os.environ.get("AWS_DEFAULT_REGION") or "us-west-2",
            "cache_stopped_nodes": False,
        },
        "auth": {"ssh_user": "ubuntu"},
        "available_node_types": {
            "head": {
                "resources": {"CPU": 0},
                "node_config": {"InstanceType": HEAD_INSTANCE},
            },
            "worker": {
                "min_workers": res.instance_count,
                "max_workers": res.instance_count,
                "resources": {"CPU": worker.vcpus, "GPU": worker.gpus},
                "node_config": {"InstanceType": worker.name},
            },
        },
        "head_node_type": "head",
        "file_mounts": {REMOTE_SOURCE: str(source)} if source else {},
        "setup_commands": _install_commands(source),
        "head_start_ray_commands": [
            "ray stop",
            # the workers come up after the head: a job's trial that fits none yet is waited for, not refused
            f"export {AUTOSCALING_VARIABLE}=1; ray start --head --port=6379 --dashboard-host=127.0.0.1 "
            "--object-manager-port=8076 --autoscaling-config=~/ray_bootstrap_config.yaml",
        ],
        # trials read the node's instance type from the raylet's environment (their cost per trial)
        "worker_start_ray_commands": ["ray stop", f"export {INSTANCE_TYPE_VARIABLE}={worker.name}; "
                                      "ray start --address=$RAY_HEAD_IP:6379 --object-manager-port=8076"],
    }
    validate_launcher_config(config)
    return config


def validate_launcher_config(config: dict[str, Any]) -> None:
    """Check against the JSON schema Ray ships (offline); raise with Ray's reason."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    ray_logger = logging.getLogger("ray.autoscaler._private.util")
    level = ray_logger.level
    ray_logger.setLevel(logging.WARNING)  # prepare_config narrates the defaults it fills in
    try:
        validate_config(prepare_config(json.loads(json.dumps(config))))
    except Exception as exc:  # Ray raises jsonschema's or its own ValueError
        raise UserInputError(f"the rendered cluster config is not valid for Ray: {str(exc).splitlines()[0]}") \
            from None
    finally:
        ray_logger.setLevel(level)


def check_fits(res: Resources, cpus: int, gpus: int, name: str) -> None:
    if res.cpus_per_trial > cpus:
        raise UserInputError(f"resources.cpus_per_trial: {res.cpus_per_trial} is more than {name}'s {cpus} vCPUs")
    if res.gpus_per_trial > gpus:
        raise UserInputError(f"resources.gpus_per_trial: {res.gpus_per_trial} is more than {name}'s {gpus} GPUs")
