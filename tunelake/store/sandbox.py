"""The SQL sandbox: one read-only statement over the lake, for untrusted callers (the service).

Three guards, each enough on its own for what it guards:

- the statement: DuckDB's parser must see exactly one SELECT (``DESCRIBE``,
  ``SHOW``, ``SUMMARIZE``, ``FROM t`` and ``WITH`` parse as SELECT too), or an
  EXPLAIN of one. What an EXPLAIN explains is parsed again, because
  ``EXPLAIN ANALYZE`` runs it: ``EXPLAIN ANALYZE COPY ... TO`` wrote files.
- the database: a private in-memory one per query, with no temporary
  directory (nothing spills to disk, and no folder is left open to file
  functions), external access switched off once the lake's views exist, and
  the configuration locked.
- the limits (:class:`SqlLimits`): rows and bytes of the answer, time from
  the start to the last row converted, memory and threads of the query.
  Rows are read from DuckDB a batch at a time and converted as they come,
  so a query stops at whichever limit it meets first, having produced no
  more than that limit's worth of work.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from tunelake.errors import QueryError
from tunelake.store.lake import Lake
from tunelake.store.query import on_fresh_connection

BATCH_ROWS = 1024
"""Rows DuckDB hands over at a time: the grain at which the deadline and the byte budget are checked."""


@dataclass(frozen=True)
class SqlLimits:
    """What one sandboxed query may take. In total, at most as many queries run at once as the
    caller admits (the service: ``sql_max_concurrent``), each within these."""

    max_rows: int = 10_000
    max_bytes: int = 10_000_000
    """Of the rows as JSON text; the answer stops (``truncated``) before the row that would cross it."""
    timeout_s: float = 10.0
    memory_mib: int = 512
    threads: int = 2

    def database(self) -> dict[str, Any]:
        return {"memory_limit": f"{self.memory_mib}MiB", "threads": self.threads, "temp_directory": ""}


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[str]
    """Each row as JSON text (an array), as counted against ``max_bytes``."""
    truncated: bool

    def to_json(self) -> bytes:
        """``{"columns": [...], "rows": [[...], ...], "truncated": bool}``, joined from the rows' text."""
        return (f'{{"columns":{json.dumps(self.columns)},"rows":[{",".join(self.rows)}],'
                f'"truncated":{json.dumps(self.truncated)}}}').encode()


def _words(text: str) -> list[tuple[int, str]]:
    """(offset, text) of each token but comments, as DuckDB's tokenizer splits ``text``."""
    tokens = duckdb.tokenize(text)
    ends = [offset for offset, _ in tokens[1:]] + [len(text)]
    return [(offset, text[offset:end].strip()) for (offset, kind), end in zip(tokens, ends)
            if kind != duckdb.token_type.comment]


def _explained(text: str) -> list[str]:
    """Every way to read what ``EXPLAIN [ANALYZE] [(options)] <statement>`` explains: the text after
    the keywords, and, when a parenthesis follows them, the text after its closing one too (options)."""
    words = _words(text)
    at = 1
    if len(words) > at and words[at][1].upper() in ("ANALYZE", "ANALYSE"):
        at += 1
    if len(words) <= at:
        return []
    readings = [text[words[at][0]:]]
    if words[at][1] == "(":
        depth = 0
        for i in range(at, len(words)):
            depth += {"(": 1, ")": -1}.get(words[i][1], 0)
            if depth == 0:
                if i + 1 < len(words):
                    readings.append(text[words[i + 1][0]:])
                break
    return readings


def _statements(text: str) -> list[duckdb.Statement] | None:
    """The statements DuckDB's parser reads in ``text``; ``None`` when it reads none."""
    try:
        return duckdb.extract_statements(text) or None
    except duckdb.Error:
        return None


def check_read_only(sql: str) -> None:
    """Refuse anything but one SELECT, or one EXPLAIN of a SELECT (every reading of it must be one)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from None
    if len(statements) != 1:
        raise QueryError(f"send exactly one statement (got {len(statements)})")
    kind = statements[0].type
    if kind == duckdb.StatementType.EXPLAIN:
        parsed = [p for p in map(_statements, _explained(statements[0].query)) if p is not None]
        if parsed and all(len(p) == 1 and p[0].type == duckdb.StatementType.SELECT for p in parsed):
            return
        raise QueryError("EXPLAIN is allowed here only of a SELECT (EXPLAIN ANALYZE runs what it explains)")
    if kind != duckdb.StatementType.SELECT:
        raise QueryError(f"only SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN SELECT are allowed here "
                         f"(got {kind.name})")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _json_rows(part: pa.RecordBatch) -> list[str]:
    columns = [column.to_pylist() for column in part.columns]
    return [json.dumps([_jsonable(v) for v in row]) for row in zip(*columns)]


class _Late(Exception):
    """The deadline passed while rows were being read or converted."""


def _collect(relation: duckdb.DuckDBPyRelation | None, limits: SqlLimits, deadline: float) -> QueryResult:
    """The rows, converted a part of a batch at a time: no more of a batch than the bytes left may
    hold is converted, and the deadline is checked before each part."""
    if relation is None:
        return QueryResult([], [], False)
    reader = relation.to_arrow_reader(BATCH_ROWS)
    columns, rows, size = list(reader.schema.names), [], 0
    try:
        for batch in reader:
            offset = 0
            while offset < batch.num_rows:
                if time.monotonic() > deadline:
                    raise _Late()
                per_row = max(1.0, batch.slice(offset).nbytes / (batch.num_rows - offset))
                step = int(min(BATCH_ROWS, max(1, (limits.max_bytes - size) / per_row)))
                for row in _json_rows(batch.slice(offset, step)):
                    size += len(row) + 1
                    if len(rows) == limits.max_rows or size > limits.max_bytes:
                        if not rows:
                            raise QueryError(f"the first row alone is over the {limits.max_bytes:,} bytes an answer "
                                             "may hold; select fewer or shorter columns")
                        return QueryResult(columns, rows, True)
                    rows.append(row)
                offset += step
        return QueryResult(columns, rows, False)
    finally:
        reader.close()


def _lock_down(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET enable_progress_bar = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def sandboxed_query(lake: Lake, sql: str, limits: SqlLimits = SqlLimits()) -> QueryResult:
    """One read-only statement over the lake within ``limits``; what it may not do is a :class:`QueryError`.

    The lake's files are listed (again, if compaction removed one before it
    was opened); the query itself runs once: when a compaction removes a file
    while it runs, the error says to run it again.
    """
    check_read_only(sql)
    deadline = time.monotonic() + limits.timeout_s
    stopped = QueryError(f"query stopped after {limits.timeout_s:g}s; narrow it down (WHERE, LIMIT)")

    def run(con: duckdb.DuckDBPyConnection) -> QueryResult:
        _lock_down(con)
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), con.interrupt)
        timer.start()
        try:
            return _collect(con.sql(sql), limits, deadline)
        except _Late:
            raise stopped from None
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            if time.monotonic() >= deadline or isinstance(exc, duckdb.InterruptException):
                raise stopped from None
            if isinstance(exc, duckdb.OutOfMemoryException) or "Out of Memory" in str(exc):
                raise QueryError(f"the query needs more than the {limits.memory_mib} MiB of memory a query may use "
                                 "here; narrow it down (WHERE, LIMIT, fewer columns) or aggregate") from None
            raise
        finally:
            timer.cancel()

    return on_fresh_connection(lake, None, sql, run, database=limits.database(), reruns=0)
