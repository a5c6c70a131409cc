"""Dependencies injected into the routes, as ``Annotated`` aliases."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from tunelake.ids import EXPERIMENT_ID
from tunelake.platform.service.jobs import JobLauncher
from tunelake.platform.service.settings import Settings
from tunelake.store.lake import Lake


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


UNAUTHORIZED = "missing or wrong token: send 'Authorization: Bearer <token>'"


def holds_token(authorization: str, token: str) -> bool:
    """Whether an ``Authorization`` header value is ``Bearer <token>``, compared in constant time."""
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.encode(), token.encode())


def require_token(request: Request, settings: SettingsDep) -> None:
    if not holds_token(request.headers.get("authorization", ""), settings.token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


@lru_cache(maxsize=8)
def _lake(uri: str) -> Lake:
    return Lake(uri)


def get_lake(settings: SettingsDep) -> Lake:
    return _lake(settings.lake)


def get_jobs(request: Request) -> JobLauncher:
    return request.app.state.jobs


LakeDep = Annotated[Lake, Depends(get_lake)]
JobsDep = Annotated[JobLauncher, Depends(get_jobs)]
Authorized = [Depends(require_token)]


def known_id(experiment_id: str) -> str:
    """``experiment_id`` when it has the shape of one; a 404 otherwise (before it reaches a query or a path)."""
    if not EXPERIMENT_ID.fullmatch(experiment_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
    return experiment_id
