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


def connect(lake: Lake, experiment_id: str | None = None) -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with the lake's views.

    With ``experiment_id``, partitioned tables hold only that experiment's
    files, so the query does not open the others.
    """
    con = duckdb.connect(":memory:")
    for table in TABLES.values():
        partition = experiment_id if table.partition == "experiment_id" else None
        files = lake.files(table, partition)
        dataset = ds.dataset(files, schema=table.schema, format="parquet", filesystem=lake.fs.fs)
        con.register(f"{table.name}_log", dataset)
        con.execute(_latest_view(table))
    return con


def _latest_view(table: Table) -> str:
    keys = ", ".join(table.key)
    return (
        f"CREATE VIEW {table.name} AS SELECT * FROM {table.name}_log "
        f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY version DESC) = 1"
    )


def query(lake: Lake, sql: str, params: Sequence[Any] | None = None, experiment_id: str | None = None) -> pa.Table:
    """Run one query; DuckDB's errors come back as :class:`QueryError`."""
    con = connect(lake, experiment_id)
    try:
        relation = con.sql(sql, params=list(params) if params else None)
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from None
    finally:
        con.close()


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
