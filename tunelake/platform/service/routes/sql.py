"""``/sql``: read-only DuckDB over the lake, sandboxed, within the limits of the service's settings."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tunelake.platform.service.deps import Authorized, LakeDep, SettingsDep
from tunelake.platform.service.schemas import SqlRequest, SqlResult
from tunelake.store.sandbox import sandboxed_query

router = APIRouter(tags=["sql"], dependencies=Authorized)


@router.post("/sql", response_model=SqlResult)
async def run_sql(body: SqlRequest, lake: LakeDep, settings: SettingsDep, request: Request) -> Response:
    """One SELECT/WITH/DESCRIBE/SHOW/EXPLAIN statement; no file access; capped rows, bytes, time and memory.

    The query runs, and its answer is made into JSON, on a thread of the SQL gate, off the event loop.
    """
    limits = settings.sql_limits
    answer = await request.app.state.sql_gate.run(lambda: sandboxed_query(lake, body.query, limits).to_json())
    return Response(answer, media_type="application/json")
