"""Two Ray nodes on this machine: trials spread over both, each node prepares the code once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import write_repo
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


def test_trials_run_on_both_nodes_and_each_node_prepares_once(tmp_path: Path):
    installs = tmp_path / "installs"
    repo = write_repo(tmp_path / "repo", {
        "install.sh": f'echo "$TUNELAKE_CACHE" >> {installs}\n',
        "work.sh": "sleep 1.5; echo score=$1",
    })
    spec = {"code_github": str(repo), "command": "sh work.sh {x}", "primary_result_key": "score",
            "install_script": "install.sh", "search": {"x": {"type": "grid", "values": [1, 2, 3, 4, 5, 6]}},
            "optimizer": {"algorithm": "grid"}}
    lake = tmp_path / "lake"
    node1, node2 = tmp_path / "node1", tmp_path / "node2"
    script = textwrap.dedent(f"""
        import json, os
        os.environ["TUNELAKE_CACHE"] = {str(node1)!r}
        from ray.cluster_utils import Cluster
        import tunelake
        cluster = Cluster(initialize_head=True, head_node_args={{"num_cpus": 1, "include_dashboard": False}})
        cluster.add_node(num_cpus=1, env_vars={{"TUNELAKE_CACHE": {str(node2)!r}}})
        cluster.wait_for_nodes()
        try:
            result = tunelake.run(json.loads({json.dumps(json.dumps(spec))}), lake={str(lake)!r},
                                  address=cluster.address)
            print(json.dumps(result.counts))
        finally:
            cluster.shutdown()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"completed": 6}
    nodes = query(Lake(str(lake)), "SELECT node, count(*) AS n FROM trials GROUP BY 1").to_pylist()
    assert len(nodes) == 2, nodes
    assert sorted(installs.read_text().split()) == sorted([str(node1), str(node2)])


def test_on_several_nodes_an_s3_lake_keeps_the_checkpoints_and_a_killed_worker_restarts_from_them(
        s3_server, bucket, tmp_path: Path):
    """A lake on S3 and a cluster of two nodes: Tune's state and the trials' checkpoints go to the lake's
    `_tune/` on S3 (a node's disk is no shared storage), none to the driver's cache, and a trial whose worker
    is killed for real goes on from its checkpoint read back from S3."""
    import boto3

    from tests.platform.experiments.test_checkpoints import TRAIN, kill_when_marked

    repo = write_repo(tmp_path / "repo", {"train.py": TRAIN})
    marker = tmp_path / "worker.pid"
    killed: list[int] = []
    watcher = kill_when_marked(marker, killed)
    spec = {"code_github": str(repo), "command": f"python train.py {{q}} {marker}", "primary_result_key": "score",
            "search": {"q": {"type": "grid", "values": [2]}}, "optimizer": {"algorithm": "grid", "max_failures": 2}}
    lake = f"s3://{bucket}/lake"
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import json, os
        os.environ["TUNELAKE_CACHE"] = {str(cache)!r}
        from ray.cluster_utils import Cluster
        import tunelake
        cluster = Cluster(initialize_head=True, head_node_args={{"num_cpus": 0, "include_dashboard": False}})
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        try:
            result = tunelake.run(json.loads({json.dumps(json.dumps(spec))}), lake={lake!r}, address=cluster.address)
            print(json.dumps([result.experiment_id, result.counts]))
        finally:
            cluster.shutdown()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    watcher.join(5)
    assert done.returncode == 0, done.stderr[-3000:]
    experiment_id, counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts == {"completed": 1} and killed, "the trial's worker was never killed"
    (trial,) = query(Lake(lake), "SELECT * FROM trials").to_pylist()
    assert (trial["status"], trial["value"], trial["restarts"]) == ("completed", 12, 1)
    resumed = {r["step"]: json.loads(r["metrics"])["resumed_from"]
               for r in query(Lake(lake), "SELECT * FROM results").to_pylist()}
    assert [resumed[s] for s in (4, 5, 6)] == [3, 3, 3]  # the restarted program read step 3's checkpoint
    keys = [o["Key"] for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"lake/_tune/{experiment_id}/") for o in page.get("Contents", [])]
    assert any(k.endswith("/files/state.json") and "/checkpoint_" in k for k in keys), keys
    assert not (cache / "tune" / experiment_id).exists()
