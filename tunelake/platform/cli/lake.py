"""``lake compact`` and ``lake replay``: upkeep of the lake's files."""

from __future__ import annotations

import argparse

from rich.console import Console

from tunelake.platform.cli import Exit, options
from tunelake.store.schema import TABLES  # argparse needs the names up front, for --table's choices


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lake", help="maintain the lake")
    lake = p.add_subparsers(dest="lake_command", metavar="ACTION", required=True)
    m = lake.add_parser("compact", help="merge each table folder's small files into one (safe beside readers)")
    options.lake(m)
    m.add_argument("--table", action="append", choices=sorted(TABLES), help="only this table (repeatable)")
    m.set_defaults(handler=cmd_compact)
    m = lake.add_parser("replay", help="write rows kept locally while the lake was unreachable (runs do it too)")
    options.lake(m)
    m.set_defaults(handler=cmd_replay)


def cmd_compact(args: argparse.Namespace, out: Console) -> int:
    from tunelake.store.compact import compact
    from tunelake.store.lake import Lake

    done = compact(Lake(args.lake), args.table)
    for c in done:
        out.print(f"{c.table}: {c.files_before} files -> 1 ({c.rows} rows)")
    out.print(f"compacted {len(done)} table(s)")
    return Exit.OK


def cmd_replay(args: argparse.Namespace, out: Console) -> int:
    from tunelake.paths import cache_root
    from tunelake.store import spool
    from tunelake.store.lake import Lake

    moved = spool.replay(cache_root() / "spool", Lake(args.lake))
    out.print(f"replayed {moved} kept row(s)")
    return Exit.OK
