"""Compaction: many small files of a table folder become one, while readers run.

A run writes each folder's merged file first and deletes the small files
after, so at every moment every row is visible at least once; the latest-
version views hide the brief overlap (the same row twice), and a query that
lists a file compaction then deletes simply runs again
(:func:`tunelake.store.query.query`). Run one compaction at a time per lake.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass

import pyarrow.dataset as ds

from tunelake.store.lake import Lake
from tunelake.store.schema import TABLES


@dataclass(frozen=True)
class Compaction:
    table: str
    folder: str
    files_before: int
    rows: int


def compact(lake: Lake, tables: list[str] | None = None, min_files: int = 2) -> list[Compaction]:
    """Merge every folder of ``tables`` (default: all) that holds at least ``min_files`` files."""
    done = []
    for name in tables or list(TABLES):
        table = TABLES[name]
        folders: dict[str, list[str]] = defaultdict(list)
        for path in lake.files(table):
            folders[posixpath.dirname(path)].append(path)
        for folder, files in sorted(folders.items()):
            if len(files) < min_files:
                continue
            try:
                merged = ds.dataset(files, schema=table.schema, format="parquet", filesystem=lake.fs.fs).to_table()
            except FileNotFoundError:
                continue  # another compaction got there first; its file holds these rows
            merged = merged.sort_by([(k, "ascending") for k in table.key] + [("version", "ascending")])
            relative = posixpath.relpath(folder, lake.fs.root)
            lake.fs.write_table(relative, merged)
            lake.fs.delete(files)
            done.append(Compaction(name, relative, len(files), merged.num_rows))
    return done
