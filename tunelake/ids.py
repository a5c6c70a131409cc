"""Experiment ids: made by the driver, the service and AutoML alike, checked wherever one comes in."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

EXPERIMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
"""What an id may look like: safe in a path, a URL, a Ray job id and a SQL literal."""


def new_experiment_id(name: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:40] or "experiment"
    return f"{slug}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
