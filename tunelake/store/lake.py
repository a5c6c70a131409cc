"""The history lake: append-only Parquet tables under one root.

Writers only ever add files; a row's state changes by appending a newer
version of it. Readers (:mod:`tunelake.store.query`) see the latest version of
each key, so they never block writers and compaction can run beside both.
"""

from __future__ import annotations

import json
import posixpath
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable

import pyarrow as pa

from tunelake.errors import LakeError, UserInputError
from tunelake.store import damage
from tunelake.store.filesystem import LakeFileSystem, open_filesystem
from tunelake.store.schema import SCHEMA_VERSION, TABLES, Table

BASE_PREFIX = "base-"
"""Names the file per table that compaction writes at the table's root (see :mod:`tunelake.store.query`)."""

_clock_lock = threading.Lock()
_last_version = 0


def next_version() -> int:
    """A nanosecond clock that never repeats or goes back within a process."""
    global _last_version
    with _clock_lock:
        _last_version = max(_last_version + 1, time.time_ns())
        return _last_version


def _bump_clock(to: int) -> None:
    global _last_version
    with _clock_lock:
        _last_version = max(_last_version, to)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Lake:
    """A lake root. Cheap to create; safe to share between threads.

    Writers open it with ``create=True`` (the default), which makes a new lake
    where there is none. Readers pass ``create=False``: they never write, so a
    read-only lake can be queried, and a missing one is an error that names the
    path rather than an empty lake made by mistake.
    """

    MARKER = "_tunelake.json"

    def __init__(self, uri: str | None = None, create: bool = True) -> None:
        self.fs: LakeFileSystem = open_filesystem(uri)
        self.uri = self.fs.uri
        self._check_version(create)

    def _check_version(self, create: bool) -> None:
        text = self.fs.read_text(self.MARKER)
        if text is None and not create:
            raise UserInputError(f"no lake at {self.uri}: run an experiment with --lake {self.uri} first, "
                                 "or check the path")
        if text is None:
            try:  # written whole (a rename, or one S3 put): a lake opened by many at once reads whole or not at all
                self.fs.write_text(self.MARKER, json.dumps({"schema_version": SCHEMA_VERSION}))
            except OSError as exc:
                raise LakeError(f"could not create a lake at {self.uri}: {exc}; check that the path is writable") \
                    from None
            return
        try:
            found = int(json.loads(text)["schema_version"])
        except (ValueError, KeyError, TypeError):
            raise LakeError(f"{self.fs.path(self.MARKER)} is damaged; it should hold "
                            f"{{\"schema_version\": {SCHEMA_VERSION}}}: write that into it") from None
        if found > SCHEMA_VERSION:
            raise LakeError(
                f"lake {self.uri} has schema version {found}, newer than this tunelake's {SCHEMA_VERSION}; "
                "upgrade tunelake"
            )

    def append(self, table: str | Table, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Append ``rows`` (missing columns are null); one new file per partition."""
        spec = TABLES[table] if isinstance(table, str) else table
        written = []
        for folder, group in stamped_by_partition(spec, rows).items():
            arrow = pa.Table.from_pylist(group, schema=spec.schema)
            written.append(self.fs.write_table(folder, arrow))
        return written

    def append_arrow(self, table: str | Table, data: pa.Table) -> list[str]:
        """Append a ready Arrow table (bulk loads); bookkeeping columns are added if missing.

        Rows must all belong to one partition (one experiment) of a partitioned table.
        """
        spec = TABLES[table] if isinstance(table, str) else table
        n = data.num_rows
        if n == 0:
            return []
        if "version" not in data.column_names:
            first = next_version()
            data = data.append_column("version", pa.array(range(first, first + n), pa.int64()))
            _bump_clock(first + n)
        if "updated_at" not in data.column_names:
            data = data.append_column("updated_at", pa.array([utcnow()] * n, spec.schema.field("updated_at").type))
        if "schema_version" not in data.column_names:
            data = data.append_column("schema_version", pa.array([SCHEMA_VERSION] * n, pa.int16()))
        data = data.select([f.name for f in spec.schema if f.name in data.column_names])
        missing = [f for f in spec.schema if f.name not in data.column_names]
        for f in missing:
            data = data.append_column(f, pa.nulls(n, f.type))
        data = data.select(spec.schema.names).cast(spec.schema)
        folder = partition_dir(spec, {spec.partition: data.column(spec.partition)[0].as_py()} if spec.partition else {})
        return [self.fs.write_table(folder, data)]

    def files(self, table: str | Table, partition: str | None = None, recursive: bool = True) -> list[str]:
        """The table's readable files (of one partition, or only those at its root without ``recursive``);
        damaged files are left out and reported (:mod:`tunelake.store.damage`)."""
        spec = TABLES[table] if isinstance(table, str) else table
        folder = spec.name if partition is None else partition_dir(spec, {spec.partition: partition})
        return damage.readable(self.fs, spec, self.fs.parquet_infos(folder, recursive))

    def is_base(self, table: Table, path: str) -> bool:
        """Whether ``path`` is a base file of ``table``: written by compaction, at the table's root."""
        return posixpath.dirname(path) == self.fs.path(table.name) and \
            posixpath.basename(path).startswith(BASE_PREFIX)


def stamp(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its bookkeeping columns; a row stamped once keeps its version."""
    out = dict(row)
    out.setdefault("updated_at", utcnow())
    out.setdefault("version", next_version())
    out.setdefault("schema_version", SCHEMA_VERSION)
    return out


def stamped_by_partition(spec: Table, rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``rows``, stamped, grouped by the partition folder each belongs in."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        stamped = stamp(row)
        groups[partition_dir(spec, stamped)].append(stamped)
    return groups


def partition_dir(spec: Table, row: dict[str, Any]) -> str:
    if spec.partition is None:
        return spec.name
    value = str(row.get(spec.partition) or "_none")
    if "/" in value or value.startswith("."):
        raise LakeError(f"{spec.partition} {value!r} cannot name a partition folder")
    return f"{spec.name}/{spec.partition}={value}"
