"""DuckDB over the lake: the one module that opens connections and holds SQL text.

Each table is an Arrow dataset over its Parquet files (``<table>_log``: every
version of every row) and a view (``<table>``: the latest version per key).
Arrow datasets rather than DuckDB's own file readers, because they read local
disks and S3 alike with no DuckDB extension to download.
"""

from __future__ import annotations

from typing import Any, Sequence

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from tunelake.errors import QueryError
from tunelake.store.lake import Lake
from tunelake.store.schema import TABLES, Table


def _dataset(lake: Lake, table: Table, files: list[str]) -> ds.Dataset:
    """Files of one table; partitioned tables know each file's partition from its
    folder, so a filter on the partition column skips the other folders' files."""
    if table.partition is None:
        return ds.dataset(files, schema=table.schema, format="parquet", filesystem=lake.fs.fs)
    field = table.schema.field(table.partition)
    return ds.dataset(
        files, schema=table.schema, format="parquet", filesystem=lake.fs.fs,
        partitioning=ds.partitioning(pa.schema([field]), flavor="hive"),
        partition_base_dir=lake.fs.path(table.name),
    )


def _listing(lake: Lake, experiment_id: str | None) -> dict[str, list[str]]:
    return {
        t.name: lake.files(t, experiment_id if t.partition == "experiment_id" else None) for t in TABLES.values()
    }


def connect(lake: Lake, experiment_id: str | None = None,
            listing: dict[str, list[str]] | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with the lake's views.

    With ``experiment_id``, partitioned tables hold only that experiment's
    files, so the query does not open the others.
    """
    listing = listing or _listing(lake, experiment_id)
    con = duckdb.connect(":memory:")
    for table in TABLES.values():
        con.register(f"{table.name}_log", _dataset(lake, table, listing[table.name]))
        con.execute(_latest_view(table))
    return con


def _latest_view(table: Table) -> str:
    keys = ", ".join(table.key)
    return (
        f"CREATE VIEW {table.name} AS SELECT * FROM {table.name}_log "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY version DESC) = 1"
    )


def query(lake: Lake, sql: str, params: Sequence[Any] | None = None, experiment_id: str | None = None) -> pa.Table:
    """Run one query; DuckDB's errors come back as :class:`QueryError`.

    Compaction may delete files between listing and reading them; when a
    query fails and the listing has changed meanwhile, it runs again on the
    new files.
    """
    for attempt in range(4):
        listing = _listing(lake, experiment_id)
        try:
            con = connect(lake, experiment_id, listing)
        except FileNotFoundError:  # a listed file was compacted away before its dataset opened
            continue
        try:
            relation = con.sql(sql, params=list(params) if params else None)
            return relation.to_arrow_table() if relation is not None else pa.table({})
        except duckdb.Error as exc:
            if attempt < 3 and _listing(lake, experiment_id) != listing:
                continue
            raise QueryError(f"query failed: {exc}") from None
        finally:
            con.close()
    raise AssertionError("unreachable")


def trials_frame(lake: Lake, experiment_id: str):  # -> pandas.DataFrame
    """An experiment's trials, best first, as a pandas DataFrame."""
    return query(
        lake,
        "SELECT t.* FROM trials t JOIN experiments e USING (experiment_id) WHERE experiment_id = ? "
        "ORDER BY t.status = 'completed' DESC, "
        "CASE WHEN e.mode = 'min' THEN t.value ELSE -t.value END ASC NULLS LAST, t.trial_id",
        [experiment_id],
        experiment_id,
    ).to_pandas()


def best_trial(lake: Lake, experiment_id: str) -> dict[str, Any] | None:
    """The best completed trial of an experiment, or ``None``."""
    rows = query(
        lake,
        "SELECT t.trial_id, t.value, t.params, t.model_uri FROM trials t JOIN experiments e USING (experiment_id) "
        "WHERE experiment_id = ? AND t.status = 'completed' AND isfinite(t.value) "
        "ORDER BY CASE WHEN e.mode = 'min' THEN t.value ELSE -t.value END LIMIT 1",
        [experiment_id],
        experiment_id,
    ).to_pylist()
    return rows[0] if rows else None


def status_counts(lake: Lake, experiment_id: str) -> dict[str, int]:
    rows = query(
        lake, "SELECT status, count(*) AS n FROM trials WHERE experiment_id = ? GROUP BY 1", [experiment_id],
        experiment_id,
    ).to_pylist()
    return {r["status"]: r["n"] for r in rows}
