"""The service's settings: one frozen object, from the command line or the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tunelake.paths import default_lake


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
    uri = uri or default_lake()
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())
