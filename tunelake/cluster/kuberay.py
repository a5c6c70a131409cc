"""A KubeRay ``RayJob`` manifest for a spec's ``resources``: a ConfigMap with the spec and the job that runs it.

No package index serves tunelake, so the pods get it from what the user
built from the source: an image (``--image``, Ray's image with tunelake
installed) or a wheel at a URL every pod can fetch (``--wheel``, installed
by Ray's ``pip`` runtime env). :func:`notes` says which, how to build it,
and what a pod cannot see (a local lake, a local code folder).
"""

from __future__ import annotations

import sys
from typing import Any

import ray
import yaml

from tunelake.cluster.aws import instance_type
from tunelake.cluster.capacity import AUTOSCALING_VARIABLE
from tunelake.cluster.render import Resources, check_fits, cluster_name, ray_image
from tunelake.errors import UserInputError

SPEC_DIR = "/home/ray/spec"
BUILD_HINT = (
    "build one from the source: `pip wheel --no-deps -w dist .` and upload dist/tunelake-*.whl where the pods "
    "can fetch it (--wheel https://...), or an image: a Dockerfile of `FROM {base}`, `COPY --chown=ray . "
    "/home/ray/tunelake`, `RUN pip install --no-cache-dir /home/ray/tunelake`, built and pushed to a registry "
    "the cluster pulls from (--image REGISTRY/tunelake:TAG); see the README's KubeRay section"
)


def manifest(experiment: str, res: Resources, spec_json: str, lake: str | None = None, image: str | None = None,
             wheel: str | None = None) -> list[dict[str, Any]]:
    """The ConfigMap holding ``spec_json`` and the ``RayJob`` that runs it with tunelake from ``image`` or ``wheel``."""
    worker = instance_type(res.instance_type) if res.instance_type else None
    cpus, gpus, mem = (worker.vcpus, worker.gpus, worker.memory_gib) if worker else (4, 0, 16)
    check_fits(res, cpus, gpus, worker.name if worker else "the default worker")
    base = ray_image(gpus > 0)
    if not image and not wheel:
        raise UserInputError("cluster render --kuberay: the pods need tunelake, and no package index serves it; "
                             + BUILD_HINT.format(base=base))
    if wheel and "://" not in wheel:
        raise UserInputError(f"--wheel {wheel!r} is a path on this machine, which the pods cannot read; upload the "
                             "wheel where they can fetch it and pass its URL (https://...), or use --image")
    name = cluster_name(experiment)
    image = image or base
    limits: dict[str, Any] = {"cpu": str(cpus), "memory": f"{max(1, int(mem * 0.9))}Gi"}
    if gpus:
        limits["nvidia.com/gpu"] = str(gpus)
    entry = f"python -m tunelake run {SPEC_DIR}/experiment.json" + (f" --lake {lake}" if lake else "")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-spec"},
                  "data": {"experiment.json": spec_json}}
    head = {"name": "ray-head", "image": image, "resources": {"limits": {"cpu": "2", "memory": "8Gi"}},
            # the workers come up after the head: a trial that fits none yet is waited for, not refused
            "env": [{"name": AUTOSCALING_VARIABLE, "value": "1"}],
            "volumeMounts": [{"name": "spec", "mountPath": SPEC_DIR}]}
    job: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": name},
        "spec": {
            "entrypoint": entry,
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 600,
            "rayClusterSpec": {
                "rayVersion": ray.__version__,
                "headGroupSpec": {
                    "rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
                    "template": {"spec": {"containers": [head],
                                          "volumes": [{"name": "spec", "configMap": {"name": f"{name}-spec"}}]}},
                },
                "workerGroupSpecs": [{
                    "groupName": "workers",
                    "replicas": res.instance_count,
                    "minReplicas": res.instance_count,
                    "maxReplicas": res.instance_count,
                    "rayStartParams": {},
                    "template": {"spec": {"containers": [
                        {"name": "ray-worker", "image": image, "resources": {"limits": limits, "requests": limits}},
                    ]}},
                }],
            },
        },
    }
    if wheel:
        job["spec"]["runtimeEnvYAML"] = yaml.safe_dump({"pip": [wheel]})
    return [config_map, job]


def notes(lake: str | None, image: str | None, wheel: str | None, local_code: str | None) -> list[str]:
    """What the user must know before ``kubectl apply``: where tunelake comes from, and what pods cannot see."""
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = [f"the pods run {image}: it must hold tunelake, Ray {ray.__version__} and Python {py}" if image else
             f"the pods run {ray_image(False)} (or its GPU twin) and install tunelake from {wheel} with pip when "
             "the job starts (Ray's runtime env)"]
    if image and wheel:
        lines.append(f"and install {wheel} on top of it with pip when the job starts")
    if lake is None:
        lines.append("warning: no --lake: the job writes ~/.tunelake/lake inside the head pod, which goes with the "
                     "cluster; pass --lake s3://bucket/lake")
    elif not lake.startswith("s3://"):
        lines.append(f"warning: --lake {lake} is a path inside the head pod: the worker pods do not share it and it "
                     "goes with the cluster; use s3://bucket/lake, or a volume mounted there on every pod")
    if local_code is not None:
        lines.append(f"warning: code_github {local_code!r} is a folder on this machine, not in the pods; use a git "
                     "URL, or build the code into the image and give its path there")
    return lines
