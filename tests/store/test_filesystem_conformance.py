"""The same lake tests over every lake filesystem: a local folder and S3."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from tunelake.errors import UserInputError
from tunelake.store.compact import compact
from tunelake.store.lake import Lake
from tunelake.store.query import query


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path) -> Lake:
    if request.param == "local":
        return Lake(str(tmp_path / "lake"))
    bucket = request.getfixturevalue("bucket")
    return Lake(f"s3://{bucket}/team/lake")


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
