from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import ray
import yaml

from tunelake.cluster.aws import INSTANCE_TYPES
from tunelake.cluster.kuberay import manifest
from tunelake.cluster.render import launcher_config, validate_launcher_config
from tunelake.errors import UserInputError
from tunelake.platform.cli.main import main
from tunelake.platform.spec import parse_spec

BASE = {"code_github": "https://github.com/org/repo", "command": "python train.py --lr {lr}",
        "primary_result_key": "acc", "backend": "aws",
        "search": {"lr": {"type": "loguniform", "low": 1e-5, "high": 0.1}}}


def spec(**resources):
    """The arguments the renderers take for a spec with these ``resources``: its name and resources."""
    parsed = parse_spec({**BASE, "resources": resources})
    return parsed.display_name(), parsed.resources


@pytest.mark.parametrize("name", sorted(INSTANCE_TYPES))
def test_every_known_instance_type_renders_a_valid_config(name):
    itype = INSTANCE_TYPES[name]
    config = launcher_config(*spec(instance_count=3, instance_type=name, gpus_per_trial=min(itype.gpus, 0.5)))
    worker = config["available_node_types"]["worker"]
    assert worker["min_workers"] == worker["max_workers"] == config["max_workers"] == 3
    assert worker["resources"] == {"CPU": itype.vcpus, "GPU": itype.gpus}
    assert worker["node_config"]["InstanceType"] == name
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    assert config["docker"]["image"] == f"rayproject/ray:{ray.__version__}-{py}-{'gpu' if itype.gpus else 'cpu'}"
    assert any("tunelake" in c for c in config["setup_commands"])
    # its workers come up after the head: a run started before then waits for them instead of failing
    head_start = config["head_start_ray_commands"]
    assert any(c.startswith("export TUNELAKE_AUTOSCALING=1; ray start --head") for c in head_start)
    # its trials know what their node is (their cost)
    assert any(c.startswith(f"export TUNELAKE_INSTANCE_TYPE={name}; ray start --address")
               for c in config["worker_start_ray_commands"])


def test_the_validation_is_ray_s_own():
    config = launcher_config(*spec(instance_type="g5.xlarge"))
    config["not_a_ray_key"] = 1
    with pytest.raises(UserInputError, match="not_a_ray_key"):
        validate_launcher_config(config)


def test_unknown_instance_type_lists_the_known_ones():
    with pytest.raises(UserInputError) as info:
        launcher_config(*spec(instance_type="p9.mega"))
    assert "'p9.mega' is not known" in str(info.value) and "p3.8xlarge" in str(info.value)


def test_trial_that_cannot_fit_a_node():
    with pytest.raises(UserInputError, match="gpus_per_trial: 2 is more than g5.xlarge's 1 GPUs"):
        launcher_config(*spec(instance_type="g5.xlarge", gpus_per_trial=2))


def test_kuberay_rayjob_runs_an_image_built_from_the_source():
    config_map, job = manifest(*spec(instance_count=2, instance_type="g5.12xlarge"), json.dumps(BASE),
                               "s3://b/lake", image="registry.example/tunelake:dev")
    assert config_map["kind"] == "ConfigMap" and json.loads(config_map["data"]["experiment.json"]) == BASE
    assert job["kind"] == "RayJob" and job["apiVersion"] == "ray.io/v1"
    assert job["spec"]["entrypoint"].endswith("experiment.json --lake s3://b/lake")
    assert "runtimeEnvYAML" not in job["spec"]  # nothing pinned that no index serves
    cluster = job["spec"]["rayClusterSpec"]
    (head,) = cluster["headGroupSpec"]["template"]["spec"]["containers"]
    group = cluster["workerGroupSpecs"][0]
    (worker,) = group["template"]["spec"]["containers"]
    assert head["image"] == worker["image"] == "registry.example/tunelake:dev"
    assert {"name": "TUNELAKE_AUTOSCALING", "value": "1"} in head["env"]
    assert group["replicas"] == 2
    limits = worker["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "4" and limits["cpu"] == "48"


def test_kuberay_rayjob_from_a_wheel_and_never_a_pinned_version():
    wheel = "https://files.example/tunelake-0.1-py3-none-any.whl"
    _, job = manifest(*spec(), json.dumps(BASE), "s3://b/lake", wheel=wheel)
    assert yaml.safe_load(job["spec"]["runtimeEnvYAML"]) == {"pip": [wheel]}
    assert "tunelake==" not in yaml.safe_dump(job)
    with pytest.raises(UserInputError, match="no package index serves it; build one from the source: `pip wheel"):
        manifest(*spec(), json.dumps(BASE), "s3://b/lake")
    with pytest.raises(UserInputError, match="is a path on this machine, which the pods cannot read"):
        manifest(*spec(), json.dumps(BASE), "s3://b/lake", wheel="dist/tunelake-0.1-py3-none-any.whl")


def test_cli_kuberay_says_where_tunelake_comes_from_and_warns_of_a_local_lake(tmp_path: Path, capsys):
    path = tmp_path / "local.json"
    path.write_text(json.dumps({**BASE, "code_github": "."}))
    job = tmp_path / "job.yaml"
    assert main(["cluster", "render", str(path), "--kuberay", "--image", "r/t:1", "--lake", "/data/lake",
                 "-o", str(job)]) == 0
    err = capsys.readouterr().err
    assert "the pods run r/t:1: it must hold tunelake" in err
    assert "warning: --lake /data/lake is a path inside the head pod" in err
    assert "warning: code_github '.' is a folder on this machine, not in the pods" in err
    assert main(["cluster", "render", str(path), "--kuberay", "--image", "r/t:1"]) == 0
    assert "warning: no --lake" in capsys.readouterr().err
    assert main(["cluster", "render", str(path), "--kuberay", "--image", "r/t:1", "--lake", "s3://b/l"]) == 0
    captured = capsys.readouterr()
    assert "--lake" not in captured.err and [d["kind"] for d in yaml.safe_load_all(captured.out)] == ["ConfigMap",
                                                                                                        "RayJob"]
    assert main(["cluster", "render", str(path), "--kuberay"]) == 2
    assert "no package index serves it" in capsys.readouterr().err


def test_cli_render_and_up_wrap_ray(tmp_path: Path, capsys, monkeypatch):
    path = tmp_path / "aws.json"
    path.write_text(json.dumps({**BASE, "resources": {"instance_count": 2, "instance_type": "p3.2xlarge"}}))
    assert main(["cluster", "render", str(path)]) == 0
    rendered = yaml.safe_load(capsys.readouterr().out)
    assert rendered["available_node_types"]["worker"]["node_config"]["InstanceType"] == "p3.2xlarge"
    assert main(["cluster", "render", str(path), "--kuberay", "--image", "r/t:1", "-o", str(tmp_path / "job.yaml")]) \
        == 0
    assert [d["kind"] for d in yaml.safe_load_all((tmp_path / "job.yaml").read_text())] == ["ConfigMap", "RayJob"]
    # `cluster up` hands the rendered file to Ray's launcher: a stand-in `ray` records its arguments.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "ray").write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\n")
    (bindir / "ray").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    assert main(["cluster", "up", str(path)]) == 0
    action, flag, config = (tmp_path / "args").read_text().split()
    assert (action, flag) == ("up", "-y") and yaml.safe_load(Path(config).read_text()) == rendered
    assert main(["cluster", "render", str(tmp_path / "missing.json")]) == 2
