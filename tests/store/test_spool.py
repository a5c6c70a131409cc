"""Rows kept locally while the lake is away come back in order, once."""

from __future__ import annotations

from pathlib import Path

from tunelake.store import spool
from tunelake.store.lake import Lake, stamp
from tunelake.store.query import query


def test_kept_rows_replay_with_their_versions(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    root = tmp_path / "spool"
    early = [stamp({"experiment_id": "e1", "trial_id": t, "status": "completed", "value": 1.0}) for t in ("t1", "t2")]
    lake.append("trials", [{"experiment_id": "e1", "trial_id": "t1", "status": "failed", "reason": "later"}])
    spool.keep(root, lake.uri, "trials", early)
    spool.keep(root, lake.uri, "results", [{"experiment_id": "e1", "trial_id": "t2", "step": 1, "value": 1.0}])

    assert spool.replay(root, lake) == 3
    rows = query(lake, "SELECT trial_id, status FROM trials ORDER BY 1").to_pylist()
    # t1's newer row (written after the kept one was stamped) still wins
    assert rows == [{"trial_id": "t1", "status": "failed"}, {"trial_id": "t2", "status": "completed"}]
    assert query(lake, "SELECT count(*) AS n FROM results").to_pylist() == [{"n": 1}]
    assert spool.replay(root, lake) == 0  # nothing twice
    assert not list(spool.spool_dir(root, lake.uri).glob("*/*.parquet"))


def test_each_lake_has_its_own_spool(tmp_path: Path):
    a, b = Lake(str(tmp_path / "a")), Lake(str(tmp_path / "b"))
    spool.keep(tmp_path / "spool", a.uri, "experiments", [{"experiment_id": "e1", "status": "running"}])
    assert spool.replay(tmp_path / "spool", b) == 0
    assert spool.replay(tmp_path / "spool", a) == 1
    assert (spool.spool_dir(tmp_path / "spool", a.uri) / "lake.txt").read_text() == a.uri
