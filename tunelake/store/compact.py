"""Compaction: each table's files become one base file at the table's root, holding
the latest version of each key sorted by key, while readers and writers run.

A run writes the new base first and deletes the files it merged after.
Readers take the newest base of a table as its base and every other file as
delta (:func:`tunelake.store.query.split_base`), so during the overlap the
merged files are outdated by the new base rather than counted twice; a query
that lists a file compaction then deletes simply runs again
(:func:`tunelake.store.query.query`). Rows appended while compaction runs
land in new delta files that it does not touch. Older versions of a row are
dropped: ``<table>_log`` holds every version since the last compaction.
Each run rewrites whole tables (one file each, row groups of
:data:`ROW_GROUP_ROWS`), so it costs time in proportion to the table; run
it when many small files have piled up, one compaction at a time per lake.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow.dataset as ds

from tunelake.store.lake import BASE_PREFIX, Lake, next_version
from tunelake.store.query import latest_rows
from tunelake.store.schema import TABLES

ROW_GROUP_ROWS = 64 * 1024
"""Small enough that a filter on one experiment skips most of a large base by its statistics."""


@dataclass(frozen=True)
class Compaction:
    table: str
    files_before: int
    rows: int


def compact(lake: Lake, tables: list[str] | None = None) -> list[Compaction]:
    """Rewrite every table of ``tables`` (default: all) that holds more than its one base file."""
    done = []
    for name in tables or list(TABLES):
        table = TABLES[name]
        files = lake.files(table)
        if not files or (len(files) == 1 and lake.is_base(table, files[0])):
            continue
        try:
            merged = latest_rows(table, ds.dataset(files, schema=table.schema, format="parquet",
                                                   filesystem=lake.fs.fs))
        except (FileNotFoundError, duckdb.IOException):
            continue  # another compaction got there first; its file holds these rows
        merged = merged.select(table.schema.names).cast(table.schema)
        lake.fs.write_table(name, merged, prefix=f"{BASE_PREFIX}{next_version():020d}-", row_group_size=ROW_GROUP_ROWS)
        lake.fs.delete(files)
        done.append(Compaction(name, len(files), merged.num_rows))
    return done
