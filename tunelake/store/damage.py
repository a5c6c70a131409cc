"""Damaged lake files: left out of reads, reported, and moved aside on request.

One unreadable file (truncated by a full disk, overwritten by hand, of another
schema) would otherwise fail every query over its table and stop compaction.
So every listing a reader or compaction makes keeps only the files whose
footer parses and whose columns fit the table (:func:`readable`): two small
reads per file, once per process, as files never change once written. Each
file left out is logged and recorded for whoever :func:`watch` es (the CLI
prints them, the service puts them in a response header).

``tunelake lake check`` reads every file whole (:func:`find_damaged`) and
:func:`quarantine` moves the damaged ones under ``_quarantine/`` at the lake
root, keeping their paths: never deleted, and no longer in any table.

Storage errors (a dropped connection) are never taken for damage: bytes are
fetched first and parsed from memory after, so only a parse can condemn a file.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tunelake.errors import LakeError
from tunelake.store.filesystem import LakeFileSystem
from tunelake.store.schema import TABLES, Table

log = logging.getLogger(__name__)

QUARANTINE = "_quarantine"
HINT = "run `tunelake lake check --quarantine` to move damaged files aside"
_TAIL = 64 * 1024  # one read holds the footer of any file this lake writes
_MAX_VERDICTS = 200_000
_GONE = object()  # deleted (by compaction) between the listing and the check: not damage


@dataclass(frozen=True)
class Damaged:
    path: str
    reason: str
    relative: str
    """The path under the lake root (what ``_quarantine/`` keeps)."""


_verdicts: dict[tuple[str, int, int | None], str | None] = {}
_verdicts_lock = threading.Lock()
_logged: set[str] = set()
_watchers: ContextVar[list[Damaged] | None] = ContextVar("tunelake_damaged", default=None)


@contextlib.contextmanager
def watch() -> Iterator[list[Damaged]]:
    """Collect the damaged files that reads in this block (and threads it starts) leave out."""
    found: list[Damaged] = []
    token = _watchers.set(found)
    try:
        yield found
    finally:
        _watchers.reset(token)


def readable(fs: LakeFileSystem, table: Table, infos: list[pafs.FileInfo]) -> list[str]:
    """The paths of ``infos`` whose footer reads and fits ``table``; the others are reported and left out."""
    keys = {i.path: (i.path, i.size, i.mtime_ns) for i in infos}
    with _verdicts_lock:
        verdicts = {path: _verdicts[key] for path, key in keys.items() if key in _verdicts}
    unknown = [i for i in infos if i.path not in verdicts]
    if len(unknown) <= 1 or fs.local_path() is not None:  # a local read is faster than a thread hand-off
        checked = [_footer_problem(fs, table, i) for i in unknown]
    else:
        with ThreadPoolExecutor(min(16, len(unknown))) as pool:  # on S3 each check is a round trip
            checked = list(pool.map(lambda i: _footer_problem(fs, table, i), unknown))
    verdicts.update((i.path, v) for i, v in zip(unknown, checked))
    with _verdicts_lock:
        if len(_verdicts) > _MAX_VERDICTS:  # compacted files leave entries behind; checking again is cheap
            _verdicts.clear()
        _verdicts.update((keys[i.path], v) for i, v in zip(unknown, checked) if v is not _GONE)
    good = []
    for info in infos:
        problem = verdicts[info.path]
        if problem is None:
            good.append(info.path)
        elif problem is not _GONE:
            _report(Damaged(info.path, problem, fs.relative(info.path)))  # type: ignore[arg-type]
    return good


def _report(damaged: Damaged) -> None:
    """To the watcher, who shows it; with none, to the log, once per file and process."""
    found = _watchers.get()
    if found is not None:
        if damaged not in found:
            found.append(damaged)
        return
    with _verdicts_lock:
        if damaged.path in _logged:
            return
        _logged.add(damaged.path)
    log.warning("skipped damaged lake file %s (%s); %s", damaged.path, damaged.reason, HINT)


def _footer_problem(fs: LakeFileSystem, table: Table, info: pafs.FileInfo) -> str | None | object:
    """A Parquet file ends with its footer, the footer's length and ``PAR1``: read those, then parse them."""
    try:
        with fs.fs.open_input_file(info.path) as f:
            size = f.size()
            tail = f.read_at(min(size, _TAIL), max(0, size - _TAIL))
            footer = struct.unpack("<I", tail[-8:-4])[0] if size >= 12 else size  # too short: fails below
            if len(tail) < footer + 8 <= size:
                tail = f.read_at(footer + 8, size - footer - 8)
    except FileNotFoundError:
        return _GONE
    except OSError as exc:
        raise LakeError(f"could not read {info.path}: {exc}; check that the lake's storage is reachable") from exc
    if tail[-4:] != b"PAR1" or footer + 12 > size:
        return f"not a whole Parquet file ({size} bytes, no footer): truncated or overwritten"
    return _parse_problem(table, b"PAR1" + tail[len(tail) - footer - 8:], whole=False)


def _parse_problem(table: Table, data: bytes, whole: bool) -> str | None:
    """What is wrong with Parquet bytes already in memory (so any error is the bytes' own)."""
    try:
        schema = pq.read_schema(pa.BufferReader(data))
        if whole:
            pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # noqa: BLE001 - whatever the parser says, the bytes are bad
        return f"unreadable Parquet ({type(exc).__name__}: {exc})"
    for field in schema:
        if field.name in table.schema.names and table.schema.field(field.name).type != field.type:
            wanted = table.schema.field(field.name).type
            return f"column {field.name!r} is {field.type}, but table {table.name!r} holds {wanted}"
    return None


def find_damaged(fs: LakeFileSystem) -> list[Damaged]:
    """Every file of every table that does not read whole (each file is read into memory once)."""
    damaged = []
    for table in TABLES.values():
        for info in fs.parquet_infos(table.name):
            try:
                with fs.fs.open_input_file(info.path) as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise LakeError(f"could not read {info.path}: {exc}; nothing was moved; run the check again") \
                    from exc
            problem = _parse_problem(table, data, whole=True)
            if problem is not None:
                damaged.append(Damaged(info.path, problem, fs.relative(info.path)))
    return damaged


def quarantine(fs: LakeFileSystem, damaged: list[Damaged]) -> list[str]:
    """Move each damaged file under ``_quarantine/`` at the root, keeping its path; return the new paths."""
    moved = []
    for d in damaged:
        try:
            moved.append(fs.move(d.path, f"{QUARANTINE}/{d.relative}"))
        except OSError as exc:
            raise LakeError(f"could not move {d.path} to {QUARANTINE}/: {exc}; check that the lake is writable") \
                from exc
    return moved
