"""``/sql``: read-only DuckDB over the lake, sandboxed."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from tunelake.platform.service.deps import Authorized, LakeDep, SettingsDep
from tunelake.platform.service.schemas import SqlRequest, SqlResult
from tunelake.store.query import sandboxed_query

router = APIRouter(tags=["sql"], dependencies=Authorized)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@router.post("/sql", response_model=SqlResult)
async def run_sql(body: SqlRequest, lake: LakeDep, settings: SettingsDep) -> SqlResult:
    """One SELECT/WITH/DESCRIBE/SHOW/EXPLAIN statement; no file access; capped rows and time."""
    result = await run_in_threadpool(sandboxed_query, lake, body.query, settings.sql_max_rows, settings.sql_timeout_s)
    return SqlResult(columns=result.columns, rows=[[_jsonable(v) for v in row] for row in result.rows],
                     truncated=result.truncated)
