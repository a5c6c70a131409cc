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
