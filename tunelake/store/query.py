"""DuckDB over the lake: the one module that opens connections and holds SQL text.

A table holds at most one *base* file, at the root of its folder (written by
compaction: the latest version of each key, sorted by key, nothing older),
and any number of *delta* files (appends since, in partition folders). Each
table is registered as two Arrow datasets, ``<table>_base`` and
``<table>_delta``; ``<table>_log`` is every stored version, and the view
``<table>`` is the latest version per key: base rows that no newer delta row
replaces, plus the latest delta rows that no base row outdates. Only the
(small) delta needs a window; a compacted table is read as is, and because
the base is sorted by key, a filter on one experiment skips the rest of it
by row-group statistics. Only the tables a query names are registered.
Arrow datasets rather than DuckDB's own file readers, because they read local
disks and S3 alike with no DuckDB extension to download.
"""

from __future__ import annotations

import posixpath
import re
import threading
from typing import Any, Callable, Sequence, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from tunelake.errors import QueryError
from tunelake.retry import retry
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


def _listing(lake: Lake, experiment_id: str | None, tables: list[Table] | None = None) -> dict[str, list[str]]:
    """Each table's files; with ``experiment_id``, a partitioned table's files are that
    experiment's folder plus the table's base (which holds every experiment)."""
    listing = {}
    for t in TABLES.values() if tables is None else tables:
        if experiment_id is not None and t.partition == "experiment_id":
            root = [f for f in lake.files(t, recursive=False) if lake.is_base(t, f)]
            listing[t.name] = root + lake.files(t, experiment_id)
        else:
            listing[t.name] = lake.files(t)
    return listing


def split_base(lake: Lake, table: Table, files: list[str]) -> tuple[list[str], list[str]]:
    """([the base], delta): the newest base file at the table's root, and every other file.

    An older base is briefly beside a newer one while compaction runs; it is
    read as delta, where the newer base outdates each of its rows.
    """
    bases = [f for f in files if lake.is_base(table, f)]
    if not bases:
        return [], files
    base = max(bases, key=posixpath.basename)
    return [base], [f for f in files if f != base]


def tables_in(sql: str) -> list[Table]:
    """The lake tables ``sql`` names (as ``t``, ``t_log``, ``t_base`` or ``t_delta``)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql.lower()))
    return [t for t in TABLES.values() if words & {t.name, f"{t.name}_log", f"{t.name}_base", f"{t.name}_delta"}]


_shared_db: duckdb.DuckDBPyConnection | None = None
_shared_lock = threading.Lock()


def _cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to one in-memory database per process: opening a database costs
    about 20 ms, a cursor 2 ms. Registered datasets and temporary views belong to the
    cursor, so concurrent queries never see each other's."""
    global _shared_db
    with _shared_lock:
        if _shared_db is None:
            _shared_db = duckdb.connect(":memory:")
        return _shared_db.cursor()


def connect(lake: Lake, experiment_id: str | None = None, listing: dict[str, list[str]] | None = None,
            tables: list[Table] | None = None, database: dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with the views of ``tables`` (default: all); ``database`` gives it a database of
    its own with these settings (for callers that limit or lock the database, as the sandbox does).

    With ``experiment_id``, partitioned tables hold only that experiment's
    files, so the query does not open the others.
    """
    listing = listing or _listing(lake, experiment_id, tables)
    con = _cursor() if database is None else duckdb.connect(":memory:", config=database)
    for table in TABLES.values() if tables is None else tables:
        base, delta = split_base(lake, table, listing[table.name])
        con.register(f"{table.name}_base", _dataset(lake, table, base))
        con.register(f"{table.name}_delta", _dataset(lake, table, delta))
        con.execute(f"CREATE TEMP VIEW {table.name}_log AS SELECT * FROM {table.name}_base "
                    f"UNION ALL SELECT * FROM {table.name}_delta")
        con.execute(_latest_view(table, bool(base), bool(delta), _delta_partitions(lake, table, delta)))
    return con


def _delta_partitions(lake: Lake, table: Table, delta: list[str]) -> list[str] | None:
    """The partition values the delta files hold, read from their folder names (``None``:
    unknown, as for an older base at the table's root, or an unpartitioned table)."""
    if table.partition is None:
        return None
    prefix = f"{lake.fs.path(table.name)}/{table.partition}="
    values = set()
    for path in delta:
        if not path.startswith(prefix):
            return None
        values.add(path[len(prefix):].split("/", 1)[0])
    return sorted(values)


def _newest_per_key(table: Table) -> str:
    return f"QUALIFY row_number() OVER (PARTITION BY {', '.join(table.key)} ORDER BY version DESC) = 1"


def latest_rows(table: Table, data: ds.Dataset) -> pa.Table:
    """The latest version of each key in ``data``, ordered by key (what compaction keeps)."""
    con = _cursor()
    try:
        con.register("rows", data)
        return con.sql(f"SELECT * FROM rows {_newest_per_key(table)} ORDER BY {', '.join(table.key)}").to_arrow_table()
    finally:
        con.close()


def _latest_view(table: Table, has_base: bool, has_delta: bool, delta_partitions: list[str] | None) -> str:
    """The view of latest rows, in the cheapest shape the files allow: a compacted table is its
    base as is; a table never compacted is one window over its delta; only a mix needs joins,
    and those read only the base rows of the partitions the delta touches (the base is sorted
    by key, so the rest of it is skipped by row-group statistics)."""
    t, keys = table.name, ", ".join(table.key)
    if not has_delta:
        return f"CREATE TEMP VIEW {t} AS SELECT * FROM {t}_base"
    if not has_base:
        return f"CREATE TEMP VIEW {t} AS SELECT * FROM {t}_delta {_newest_per_key(table)}"

    def on(a: str, b: str) -> str:
        return " AND ".join(f"{a}.{k} = {b}.{k}" for k in table.key)

    pick = ", ".join(f"b.{k}" for k in table.key)
    touched = ""
    if delta_partitions is not None:
        quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in delta_partitions)
        touched = f"WHERE {table.partition} IN ({quoted})"
    return f"""
        CREATE TEMP VIEW {t} AS
        WITH d AS (SELECT * FROM {t}_delta {_newest_per_key(table)}),
             overlap AS (SELECT {keys}, version FROM (SELECT * FROM {t}_base {touched}) SEMI JOIN d USING ({keys})),
             base_lost AS (SELECT {pick} FROM overlap b JOIN d ON {on("b", "d")} WHERE d.version > b.version),
             delta_lost AS (SELECT {pick} FROM overlap b JOIN d ON {on("b", "d")} WHERE b.version >= d.version)
        SELECT * FROM {t}_base ANTI JOIN base_lost USING ({keys})
        UNION ALL
        SELECT * FROM d ANTI JOIN delta_lost USING ({keys})"""


def _vanished(exc: BaseException) -> bool:
    """Whether a query failed because a file it was to read is gone (a compaction deleted it)."""
    text = str(exc)
    return any(sign in text for sign in ("does not exist", "No such file", "RESOURCE_NOT_FOUND", "NoSuchKey"))


def on_fresh_connection(lake: Lake, experiment_id: str | None, sql: str,
                        work: Callable[[duckdb.DuckDBPyConnection], T], database: dict[str, Any] | None = None,
                        reruns: int = 10) -> T:
    """``work`` on a new connection over the current files of the tables ``sql`` names.

    What is retried is the listing: when a listed file is gone before its
    dataset opens (readers never block compaction), the files are listed
    again. The query itself runs again only when a file it read was deleted
    while it ran, at most ``reruns`` times (0 for users' queries, which then
    fail with a message to run them again); never for any other error.
    ``database``: the settings of a private database for ``work`` (see :func:`connect`).
    """
    tables = tables_in(sql) or None

    def open_current() -> duckdb.DuckDBPyConnection:
        return connect(lake, experiment_id, _listing(lake, experiment_id, tables), tables, database)

    for attempt in range(reruns + 1):
        try:
            con = retry(open_current, "listing the lake's files", retry_on=(FileNotFoundError,), attempts=10,
                        first_delay_s=0.01, max_delay_s=0.2)
        except FileNotFoundError:
            raise QueryError("the lake's files kept changing while they were listed; run the query again") from None
        try:
            return work(con)
        except duckdb.InterruptException:
            raise
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            if not _vanished(exc):
                raise QueryError(f"query failed: {exc}") from None
            if attempt == reruns:
                raise QueryError("a compaction removed a file the query was reading; run the query again") from None
        finally:
            con.close()
    raise AssertionError("unreachable")


def query(lake: Lake, sql: str, params: Sequence[Any] | None = None, experiment_id: str | None = None) -> pa.Table:
    """Run one query; DuckDB's errors come back as :class:`QueryError`."""

    def run(con: duckdb.DuckDBPyConnection) -> pa.Table:
        relation = con.sql(sql, params=list(params) if params else None)
        return relation.to_arrow_table() if relation is not None else pa.table({})

    return on_fresh_connection(lake, experiment_id, sql, run)
