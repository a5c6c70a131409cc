from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tunelake.errors import LakeError, QueryError, UserInputError
from tunelake.store.catalog import best_trial, status_counts
from tunelake.store.lake import Lake
from tunelake.store.query import connect, query
from tunelake.store.schema import SCHEMA_VERSION


def test_latest_version_of_each_row_wins(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    lake.append("experiments", [{"experiment_id": "e1", "status": "running", "mode": "min"}])
    lake.append("trials", [
        {"experiment_id": "e1", "trial_id": "t1", "status": "running", "params": '{"C": 1}'},
        {"experiment_id": "e1", "trial_id": "t2", "status": "running", "params": '{"C": 2}'},
    ])
    lake.append("trials", [{"experiment_id": "e1", "trial_id": "t1", "status": "completed", "value": 0.5,
                            "params": '{"C": 1}'}])
    lake.append("trials", [{"experiment_id": "e1", "trial_id": "t2", "status": "completed", "value": 0.2,
                            "params": '{"C": 2}'}])
    rows = query(lake, "SELECT trial_id, status, (params->>'C')::INT AS c FROM trials ORDER BY 1").to_pylist()
    assert rows == [{"trial_id": "t1", "status": "completed", "c": 1}, {"trial_id": "t2", "status": "completed", "c": 2}]
    assert query(lake, "SELECT count(*) AS n FROM trials_log").to_pylist() == [{"n": 4}]
    assert best_trial(lake, "e1")["trial_id"] == "t2"  # mode min
    assert status_counts(lake, "e1") == {"completed": 2}


def test_every_row_carries_the_schema_version(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    (path,) = lake.append("datasets", [{"dataset_id": "d1"}])
    table = pq.read_table(path)
    assert table.column("schema_version").to_pylist() == [SCHEMA_VERSION]
    assert json.loads((tmp_path / "lake" / "_tunelake.json").read_text()) == {"schema_version": SCHEMA_VERSION}


def test_newer_lake_is_refused(tmp_path: Path):
    root = tmp_path / "lake"
    root.mkdir()
    (root / "_tunelake.json").write_text('{"schema_version": 999}')
    with pytest.raises(LakeError, match="upgrade tunelake"):
        Lake(str(root))


def test_partitions_keep_one_experiment_apart(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    for e in ("a", "b"):
        lake.append("results", [{"experiment_id": e, "trial_id": "t", "step": s, "value": s} for s in range(3)])
    assert len(lake.files("results")) == 2 and len(lake.files("results", "a")) == 1
    con = connect(lake, experiment_id="a")
    assert con.sql("SELECT DISTINCT experiment_id FROM results").fetchall() == [("a",)]


def test_query_errors_are_clear(tmp_path: Path):
    with pytest.raises(QueryError, match="bogus"):
        query(Lake(str(tmp_path / "lake")), "SELECT bogus FROM trials")


def test_a_file_is_not_a_lake(tmp_path: Path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserInputError, match="is a file"):
        Lake(str(tmp_path / "f"))


def test_writer_killed_mid_write_leaves_only_whole_files(tmp_path: Path):
    """kill -9 a process appending as fast as it can: every visible file reads, and the lake stays writable."""
    root = tmp_path / "lake"
    script = textwrap.dedent(f"""
        from tunelake.store.lake import Lake
        lake = Lake({str(root)!r})
        rows = [{{"experiment_id": "e", "trial_id": str(i), "step": 0, "metrics": "x" * 2000}} for i in range(2000)]
        print("ready", flush=True)
        while True:
            lake.append("results", rows)
    """)
    for delay in (0.3, 0.55, 0.8):
        writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        writer.stdout.readline()
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    lake = Lake(str(root))
    files = lake.files("results")
    assert files, "the writer should have finished some files"
    for path in files:
        assert pq.read_table(path).num_rows == 2000
    before = query(lake, "SELECT count(*) AS n FROM results_log").to_pylist()[0]["n"]
    assert before == 2000 * len(files)
    lake.append("results", [{"experiment_id": "e", "trial_id": "new", "step": 0}])
    assert query(lake, "SELECT count(*) AS n FROM results_log").to_pylist()[0]["n"] == before + 1
