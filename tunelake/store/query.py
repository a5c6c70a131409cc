"""DuckDB over the lake: the one module that opens connections and holds SQL text.

Each table is an Arrow dataset over its Parquet files (``<table>_log``: every
version of every row) and a view (``<table>``: the latest version per key).
Arrow datasets rather than DuckDB's own file readers, because they read local
disks and S3 alike with no DuckDB extension to download.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from tunelake.errors import QueryError
from tunelake.store.lake import Lake
from tunelake.store.schema import TABLES, Table

T = TypeVar("T")


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


def _on_fresh_connection(lake: Lake, experiment_id: str | None,
                         work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """``work`` on a new connection over the current files, again on a new listing when
    compaction deleted a listed file before it was read (readers never block compaction)."""
    attempts = 10
    for attempt in range(attempts):
        listing = _listing(lake, experiment_id)
        try:
            con = connect(lake, experiment_id, listing)
        except FileNotFoundError:  # a listed file was compacted away before its dataset opened
            continue
        try:
            return work(con)
        except duckdb.InterruptException:
            raise
        except duckdb.Error as exc:
            vanished = "does not exist" in str(exc) or "No such file" in str(exc)
            if attempt < attempts - 1 and (vanished or _listing(lake, experiment_id) != listing):
                continue
            raise QueryError(f"query failed: {exc}") from None
        finally:
            con.close()
    raise QueryError(f"the lake's files kept changing during {attempts} attempts; run the query again")


def query(lake: Lake, sql: str, params: Sequence[Any] | None = None, experiment_id: str | None = None) -> pa.Table:
    """Run one query; DuckDB's errors come back as :class:`QueryError`."""

    def run(con: duckdb.DuckDBPyConnection) -> pa.Table:
        relation = con.sql(sql, params=list(params) if params else None)
        return relation.to_arrow_table() if relation is not None else pa.table({})

    return _on_fresh_connection(lake, experiment_id, run)


READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN"}
READ_ONLY_PREFIXES = ("select", "with", "describe", "show", "explain", "summarize", "from", "(")


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


def sandboxed_query(lake: Lake, sql: str, max_rows: int = 10_000, timeout_s: float = 10.0) -> QueryResult:
    """One read-only statement over the lake, for untrusted callers (the service).

    The lake's views are made first; then DuckDB's external access is switched
    off and the configuration locked, so the query can read the lake's tables
    and nothing else: no files, no ``COPY ... TO``, ``ATTACH``, ``INSTALL``,
    ``LOAD`` or ``SET``. At most ``max_rows`` rows come back; a query still
    running after ``timeout_s`` is interrupted.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from None
    if len(statements) != 1:
        raise QueryError(f"send exactly one statement (got {len(statements)})")
    kind = statements[0].type.name
    if kind not in READ_ONLY_STATEMENTS or not sql.lstrip().lower().startswith(READ_ONLY_PREFIXES):
        raise QueryError(f"only SELECT, WITH, DESCRIBE, SHOW and EXPLAIN are allowed here (got {kind})")

    def run(con: duckdb.DuckDBPyConnection) -> QueryResult:
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        timer = threading.Timer(timeout_s, con.interrupt)
        timer.start()
        try:
            cursor = con.execute(sql)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchmany(max_rows + 1)
            return QueryResult(columns, [list(r) for r in rows[:max_rows]], len(rows) > max_rows)
        finally:
            timer.cancel()

    try:
        return _on_fresh_connection(lake, None, run)
    except duckdb.InterruptException:
        raise QueryError(f"query stopped after {timeout_s:g}s; narrow it down (WHERE, LIMIT)") from None


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
