"""Rows the lake could not take yet, kept on the local disk until it can.

When the lake stays unreachable past every retry (an S3 outage that outlasts
the run), the recorder writes what it still holds here instead of dropping
it. Each file is one partition's rows, already stamped with their versions,
so replaying them later keeps the order of events even if newer rows have
landed since. ``tunelake lake replay`` (and the start of every run on that
lake) moves them into the lake.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tunelake.errors import LakeError
from tunelake.store.lake import Lake, stamped_by_partition
from tunelake.store.schema import TABLES, Table

logger = logging.getLogger(__name__)


def spool_dir(root: Path, lake_uri: str) -> Path:
    """One folder per lake, named by a hash of its URI (the URI itself is in ``lake.txt``)."""
    return root / hashlib.sha256(lake_uri.encode()).hexdigest()[:16]


def keep(root: Path, lake_uri: str, table: str | Table, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` of ``table`` under the spool; return the folder."""
    spec = TABLES[table] if isinstance(table, str) else table
    folder = spool_dir(root, lake_uri)
    (folder / spec.name).mkdir(parents=True, exist_ok=True)
    (folder / "lake.txt").write_text(lake_uri)
    for group in stamped_by_partition(spec, rows).values():
        tmp = folder / spec.name / f".{uuid.uuid4().hex}.tmp"
        pq.write_table(pa.Table.from_pylist(group, schema=spec.schema), tmp)
        os.replace(tmp, tmp.with_name(f"part-{uuid.uuid4().hex}.parquet"))
    return folder


def replay(root: Path, lake: Lake) -> int:
    """Move every spooled row of ``lake`` into it; return how many rows moved.

    Each file is claimed by a rename first, so two processes replaying at once
    never write a file twice; a file whose append fails is put back.
    """
    folder = spool_dir(root, lake.uri)
    moved = 0
    for table in TABLES:
        for path in sorted((folder / table).glob("part-*.parquet")):
            claimed = path.with_name(f".claimed-{os.getpid()}-{path.name}")
            try:
                os.rename(path, claimed)
            except FileNotFoundError:
                continue  # another process took it
            try:
                data = pq.read_table(claimed)
                lake.append_arrow(table, data)
            except LakeError:
                os.rename(claimed, path)
                raise
            claimed.unlink()
            moved += data.num_rows
            logger.info("replayed %d spooled %s rows into %s", data.num_rows, table, lake.uri)
    return moved
