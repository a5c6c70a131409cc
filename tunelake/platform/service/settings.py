"""The service's settings: one frozen object, from the command line or the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tunelake.paths import default_lake
from tunelake.store.sandbox import SqlLimits


@dataclass(frozen=True)
class Settings:
    lake: str
    ray_dashboard: str
    token: str = field(repr=False)
    state_dir: Path
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 200_000_000
    sql_max_rows: int = 10_000
    sql_max_bytes: int = 10_000_000
    sql_timeout_s: float = 10.0
    sql_memory_mib: int = 512
    sql_threads: int = 2
    sql_max_concurrent: int = 4
    """More ``/sql`` queries at once are refused (503): the total is this many times each query's limits."""
    page_size: int = 50

    @property
    def sql_limits(self) -> SqlLimits:
        return SqlLimits(max_rows=self.sql_max_rows, max_bytes=self.sql_max_bytes, timeout_s=self.sql_timeout_s,
                         memory_mib=self.sql_memory_mib, threads=self.sql_threads)


def absolute_lake(uri: str | None) -> str:
    uri = uri or default_lake()
    return uri if "://" in uri else str(Path(uri).expanduser().resolve())
