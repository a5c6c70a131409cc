"""The same lake tests over every lake filesystem: a local folder and S3."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pytest

from tunelake.errors import UserInputError
from tunelake.store.compact import compact
from tunelake.store.lake import Lake
from tunelake.store.query import query


@pytest.fixture(params=["local", "s3"])
def lake_uri(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where a lake may be made; nothing is there yet."""
    if request.param == "local":
        return str(tmp_path / "lake")
    return f"s3://{request.getfixturevalue('bucket')}/team/lake"


@pytest.fixture
def lake(lake_uri: str) -> Lake:
    return Lake(lake_uri)


def trial(e: str, t: str, status: str, value: float | None = None) -> dict:
    return {"experiment_id": e, "trial_id": t, "status": status, "value": value, "params": '{"x": 1}'}


def test_append_list_and_latest_view(lake: Lake):
    lake.append("trials", [trial("e1", "a", "running"), trial("e2", "b", "running")])
    lake.append("trials", [trial("e1", "a", "completed", 0.5)])
    assert len(lake.files("trials")) == 3 and len(lake.files("trials", "e1")) == 2
    got = query(lake, "SELECT experiment_id, trial_id, status FROM trials ORDER BY 1").to_pylist()
    assert got == [{"experiment_id": "e1", "trial_id": "a", "status": "completed"},
                   {"experiment_id": "e2", "trial_id": "b", "status": "running"}]
    assert query(lake, "SELECT params->>'x' AS x FROM trials_log LIMIT 1").to_pylist() == [{"x": "1"}]


def test_a_second_handle_sees_the_marker_and_the_rows(lake: Lake):
    lake.append("experiments", [{"experiment_id": "e", "status": "running"}])
    again = Lake(lake.uri)
    assert query(again, "SELECT status FROM experiments").to_pylist() == [{"status": "running"}]
    assert again.fs.read_text(Lake.MARKER) is not None


def test_compaction_keeps_answers_while_readers_run(lake: Lake):
    for i in range(12):
        lake.append("results", [{"experiment_id": "e", "trial_id": f"t{i % 3}", "step": i, "value": float(i)}])
        lake.append("trials", [trial("e", f"t{i % 3}", "running" if i < 9 else "completed", float(i))])
    sql = ("SELECT (SELECT count(*) FROM results) AS n, (SELECT sum(value) FROM results) AS s, "
           "(SELECT string_agg(status, ',' ORDER BY trial_id) FROM trials) AS st")
    before = query(lake, sql).to_pylist()
    answers, failures, stop = [], [], threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                answers.append(query(lake, sql).to_pylist())
            except Exception as exc:  # the assertion below reports it
                failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        done = compact(lake)
    finally:
        stop.set()
        thread.join()
    assert {c.table for c in done} == {"results", "trials"}
    assert len(lake.files("results")) == 1 and len(lake.files("trials")) == 1
    assert failures == []
    assert answers and all(a == before for a in answers)
    assert query(lake, sql).to_pylist() == before
    assert query(lake, "SELECT count(*) AS n FROM trials_log").to_pylist() == [{"n": 3}]  # latest versions only


def test_base_and_delta_files_give_one_latest_row_per_key(lake: Lake):
    """Every moment of a compaction, as readers see it: base alone, base + newer appends, an old and a
    new base side by side with the files they merged (compaction between its write and its deletes)."""
    from tunelake.store.lake import BASE_PREFIX, next_version
    from tunelake.store.query import latest_rows
    from tunelake.store.schema import TRIALS

    def latest() -> list:
        return query(lake, "SELECT trial_id, status FROM trials ORDER BY 1").to_pylist()

    lake.append("trials", [trial("e", "t0", "running", 0.0), trial("e", "t1", "running", 0.0)])
    (stale,) = lake.append("trials", [trial("e", "t0", "completed", 1.0)])
    outdated = lake.files("trials")[0] if lake.files("trials")[0] != stale else lake.files("trials")[1]
    outdated_rows = pa.parquet.read_table(outdated, filesystem=lake.fs.fs).select(TRIALS.schema.names)
    compact(lake)
    assert [p.rsplit("/", 1)[1][:5] for p in lake.files("trials")] == [BASE_PREFIX]
    assert latest() == [{"trial_id": "t0", "status": "completed"}, {"trial_id": "t1", "status": "running"}]
    lake.append("trials", [trial("e", "t1", "failed", None), trial("e", "t2", "running", None)])
    assert latest() == [{"trial_id": "t0", "status": "completed"}, {"trial_id": "t1", "status": "failed"},
                        {"trial_id": "t2", "status": "running"}]
    # a second compaction stopped after writing its base: old base, deltas and new base all visible
    files = lake.files("trials")
    merged = latest_rows(TRIALS, pa.dataset.dataset(files, schema=TRIALS.schema, filesystem=lake.fs.fs))
    lake.fs.write_table("trials", merged.cast(TRIALS.schema), prefix=f"{BASE_PREFIX}{next_version():020d}-")
    # and the first compaction's input with t0 still running, not yet deleted
    lake.fs.write_table("trials/experiment_id=e", outdated_rows.cast(TRIALS.schema))
    assert len(lake.files("trials")) == 4
    assert latest() == [{"trial_id": "t0", "status": "completed"}, {"trial_id": "t1", "status": "failed"},
                        {"trial_id": "t2", "status": "running"}]
    compact(lake)
    assert len(lake.files("trials")) == 1 and latest()[1] == {"trial_id": "t1", "status": "failed"}
    # one experiment's queries read the table's base too
    lake.append("trials", [trial("f", "t9", "running", None)])
    for experiment, n in (("e", 3), ("f", 1)):
        got = query(lake, "SELECT count(*) AS n FROM trials WHERE experiment_id = ?", [experiment], experiment)
        assert got.to_pylist() == [{"n": n}]


def test_files_are_parquet_with_unique_names(lake: Lake):
    paths = [p for _ in range(5) for p in lake.append("datasets", [{"dataset_id": "d"}])]
    assert len(set(paths)) == 5 and all(p.endswith(".parquet") for p in paths)
    table = pa.parquet.read_table(paths[0], filesystem=lake.fs.fs)
    assert table.column("dataset_id").to_pylist() == ["d"]


def test_missing_bucket_is_a_clear_error(s3_server):
    with pytest.raises(UserInputError, match="bucket 'no-such-bucket' does not exist"):
        Lake("s3://no-such-bucket/lake")


def test_unknown_scheme():
    with pytest.raises(UserInputError, match="scheme 'gs' is not supported"):
        Lake("gs://bucket/lake")


def _overwrite(lake: Lake, path: str, data: bytes) -> None:
    """Damage a file in place, as a full disk, a bad copy or a hand edit would (on S3: a new object, same key)."""
    if lake.fs.local_path() is not None:
        Path(path).write_bytes(data)
    else:
        import boto3

        bucket, key = path.split("/", 1)
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data)


def test_a_damaged_file_is_skipped_and_named_by_reads_and_compaction(lake: Lake):
    """Each bad file makes every query of its table fail on the old code; now reads go on without it."""
    from tunelake.store.damage import watch

    for e in ("e1", "e2", "e3"):
        lake.append("experiments", [{"experiment_id": e, "status": "running"}])
        lake.append("trials", [trial(e, "t", "completed", 1.0)])
    assert query(lake, "SELECT count(*) AS n FROM experiments").to_pylist() == [{"n": 3}]  # checked good once...
    truncated, garbage = lake.files("experiments")[0], lake.files("trials", "e2")[0]
    whole = lake.fs.fs.open_input_file(truncated).read()
    (lost,) = pa.parquet.read_table(pa.BufferReader(whole)).column("experiment_id").to_pylist()
    _overwrite(lake, truncated, whole[: len(whole) // 2])  # ...then damaged: its new size is checked again
    _overwrite(lake, garbage, b"not parquet at all" * 10)
    alien = lake.fs.write_table("trials/experiment_id=e3", pa.table({"trial_id": ["x"], "status": [7]}))
    with watch() as skipped:
        got = query(lake, "SELECT experiment_id FROM experiments JOIN trials USING (experiment_id) ORDER BY 1")
    assert got.column(0).to_pylist() == sorted({"e1", "e3"} - {lost})
    assert sorted(d.path for d in skipped) == sorted([truncated, garbage, alien])
    reasons = {d.path: d.reason for d in skipped}
    assert "no footer" in reasons[truncated] and "'status' is int64" in reasons[alien]
    with watch() as skipped:
        done = compact(lake)
    assert {c.table for c in done} == {"experiments", "trials"} and len(skipped) == 3
    for path in (truncated, garbage, alien):  # compaction merged around them and deleted none of them
        assert lake.fs.fs.get_file_info(path).size > 0
    assert query(lake, "SELECT count(*) AS n FROM experiments").to_pylist() == [{"n": 2}]


def test_check_lists_damaged_files_and_quarantine_moves_them_whole(lake: Lake):
    from tunelake.store.damage import QUARANTINE, find_damaged, quarantine, watch

    lake.append("trials", [trial("e", "a", "running")])
    (bad,) = lake.append("trials", [trial("e", "b", "running")])
    _overwrite(lake, bad, b"PAR1" + b"\0" * 40 + b"PAR1")  # magic bytes right, footer nonsense
    damaged = find_damaged(lake.fs)
    assert [d.path for d in damaged] == [bad]
    (moved,) = quarantine(lake.fs, damaged)
    assert moved == lake.fs.path(f"{QUARANTINE}/{lake.fs.relative(bad)}")
    assert lake.fs.fs.open_input_file(moved).read() == b"PAR1" + b"\0" * 40 + b"PAR1"  # moved, not deleted
    assert lake.fs.fs.get_file_info(bad).type == pafs.FileType.NotFound
    assert find_damaged(lake.fs) == []
    with watch() as skipped:
        assert query(lake, "SELECT trial_id FROM trials").to_pylist() == [{"trial_id": "a"}]
    assert skipped == []


def test_reading_a_missing_lake_is_a_clear_error_and_creates_nothing(lake_uri: str):
    from tunelake.store.filesystem import open_filesystem

    with pytest.raises(UserInputError, match=r"no lake at .*: run an experiment with --lake .* first"):
        Lake(lake_uri, create=False)
    fs = open_filesystem(lake_uri)
    assert fs.fs.get_file_info(fs.root).type == pafs.FileType.NotFound  # no folder, no marker, no prefix


def test_many_first_opens_at_once_all_see_a_whole_marker(lake_uri: str):
    """On the old code a local marker was truncated then written: one opener in five read it empty ("damaged")."""
    roots = [f"{lake_uri}/fresh-{i}" for i in range(30 if "://" not in lake_uri else 4)]  # an S3 open: ~0.4 s
    barrier, failures = threading.Barrier(8), []

    def open_all(k: int) -> None:
        barrier.wait()
        for root in roots[k % 2::2] + roots[(k + 1) % 2::2]:
            try:
                Lake(root)
            except Exception as exc:  # the assertion below reports it
                failures.append(repr(exc))

    threads = [threading.Thread(target=open_all, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    for root in roots:
        assert Lake(root, create=False).fs.read_text(Lake.MARKER) is not None
