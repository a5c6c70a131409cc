"""The FastAPI application: routers, error mapping, the body gate, secret masking, and the web page."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from tunelake._version import __version__
from tunelake.errors import NotFound, QueryError, SpecError, TunelakeError, UserInputError
from tunelake.platform.service.body import BodyGate
from tunelake.platform.service.gate import Gate
from tunelake.platform.service.jobs import JobLauncher
from tunelake.platform.service.routes import automl, charts, experiments, sql, trials
from tunelake.platform.service.settings import Settings
from tunelake.redact import keep_secret, redact, secret_values
from tunelake.store.damage import watch

STATIC = Path(__file__).parent / "static"


class MaskSecrets:
    """Mask every secret the service knows in every response it sends, whatever route made it.

    Redaction where text enters the lake runs on the trial's node, which does
    not know the service's token; so a value that got into the lake anyway
    (or into a job log, an error) is masked again here, on the way out.
    Bodies are joined before masking, so a secret split across chunks is found.
    """

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start: dict = {}
        chunks: list[bytes] = []

        async def masked(message) -> None:  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            for secret in secret_values():
                body = body.replace(secret.encode(), b"***")
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, masked)


class ReportSkipped:
    """Name, in the ``X-Tunelake-Skipped-Files`` header, the damaged lake files a request's reads left out.

    Answers go on without such a file (:mod:`tunelake.store.damage`); the
    header (a JSON list of paths under the lake root) says the answer is partial.
    """

    HEADER = b"x-tunelake-skipped-files"

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        with watch() as skipped:
            async def noted(message) -> None:  # type: ignore[no-untyped-def]
                if message["type"] == "http.response.start" and skipped:
                    paths = sorted({d.relative for d in skipped})
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (self.HEADER, json.dumps(paths).encode())]}
                await send(message)

            await self.app(scope, receive, noted)


def create_app(settings: Settings, jobs: JobLauncher | None = None) -> FastAPI:
    # No slash redirects: an id that decodes to "/" (``/experiments/%2F``) is a 404, not a 307 to the list.
    app = FastAPI(title="tunelake", version=__version__, redirect_slashes=False,
                  description="Tune any program on Ray; every trial in a Parquet lake; SQL over it.")
    app.state.settings = settings
    keep_secret(settings.token)
    app.state.jobs = jobs or JobLauncher(settings.ray_dashboard, settings.lake, settings.state_dir)
    app.state.sql_gate = Gate(settings.sql_max_concurrent, "SQL queries")
    app.add_middleware(BodyGate, settings=settings)  # inside MaskSecrets, so its refusals are masked too
    app.add_middleware(MaskSecrets)
    app.add_middleware(ReportSkipped)
    app.include_router(experiments.router)
    app.include_router(trials.router)
    app.include_router(charts.router)
    app.include_router(sql.router)
    app.include_router(automl.router)

    @app.exception_handler(SpecError)
    async def spec_error(request: Request, exc: SpecError) -> JSONResponse:
        return JSONResponse({"detail": exc.problems}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(QueryError)
    async def query_error(request: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": redact(str(exc))}, status_code=status.HTTP_400_BAD_REQUEST)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": redact(str(exc))}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(UserInputError)
    async def input_error(request: Request, exc: UserInputError) -> JSONResponse:
        return JSONResponse({"detail": redact(str(exc))}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(TunelakeError)
    async def tunelake_error(request: Request, exc: TunelakeError) -> JSONResponse:
        return JSONResponse({"detail": redact(str(exc))}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.get("/health", tags=["health"])
    async def health() -> dict[str, str]:  # async: answered on the event loop, needing no free thread
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
