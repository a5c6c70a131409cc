"""The service's settings: one frozen object, from the command line or the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tunelake.platform.workspace import cache_root
from tunelake.store.filesystem import DEFAULT_LAKE


@dataclass(frozen=True)
class Settings:
    lake: str
    ray_dashboard: str
    token: str = field(repr=False)
    state_dir: Path
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 200_000_000
    sql_max_rows: int = 10_000
    sql_timeout_s: float = 10.0
    page_size: int = 50


def absolute_lake(uri: str | None) -> str:
    uri = uri or os.environ.get("TUNELAKE_LAKE") or DEFAULT_LAKE
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment (``TUNELAKE_LAKE``, ``TUNELAKE_API_TOKEN``, ``TUNELAKE_RAY_DASHBOARD``)."""
    return Settings(
        lake=absolute_lake(None),
        ray_dashboard=os.environ.get("TUNELAKE_RAY_DASHBOARD", "http://127.0.0.1:8265"),
        token=os.environ.get("TUNELAKE_API_TOKEN") or secrets.token_urlsafe(24),
        state_dir=cache_root() / "service",
    )
