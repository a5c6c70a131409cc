"""``lake compact``, ``lake check`` and ``lake replay``: upkeep of the lake's files."""

from __future__ import annotations

import argparse

from rich.console import Console

from tunelake.platform.cli import Exit, options
from tunelake.platform.cli.output import plural, warn_skipped
from tunelake.store.schema import TABLES  # argparse needs the names up front, for --table's choices


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lake", help="maintain the lake")
    lake = p.add_subparsers(dest="lake_command", metavar="ACTION", required=True)
    m = lake.add_parser("compact", help="merge each table folder's small files into one (safe beside readers)")
    options.lake(m)
    m.add_argument("--table", action="append", choices=sorted(TABLES), help="only this table (repeatable)")
    m.set_defaults(handler=cmd_compact)
    m = lake.add_parser("check", help="read every file whole and list the damaged ones (exit 1 if any is left)")
    options.lake(m)
    m.add_argument("--quarantine", action="store_true",
                   help="move damaged files to _quarantine/ at the lake root, keeping their paths (never deleted)")
    m.set_defaults(handler=cmd_check)
    m = lake.add_parser("replay", help="write rows kept locally while the lake was unreachable (runs do it too)")
    options.lake(m)
    m.set_defaults(handler=cmd_replay)


def cmd_compact(args: argparse.Namespace, out: Console) -> int:
    from tunelake.store.compact import compact
    from tunelake.store.damage import watch
    from tunelake.store.lake import Lake

    with watch() as skipped:
        done = compact(Lake(args.lake, create=False), args.table)
    for c in done:
        out.print(f"{c.table}: {c.files_before} files -> 1 ({c.rows} rows)")
    out.print(f"compacted {len(done)} table(s)")
    warn_skipped(skipped)
    return Exit.OK


def cmd_check(args: argparse.Namespace, out: Console) -> int:
    from tunelake.store.damage import find_damaged, quarantine
    from tunelake.store.lake import Lake

    lake = Lake(args.lake, create=False)
    damaged = find_damaged(lake.fs)
    for d in damaged:
        out.print(f"damaged  {d.path}  {d.reason}")
    if damaged and args.quarantine:
        for path in quarantine(lake.fs, damaged):
            out.print(f"moved to {path}")
    out.print(f"{plural(len(damaged), 'damaged file')} in {lake.uri}"
              + ("; moved aside" if damaged and args.quarantine else
                 "; move them aside with --quarantine" if damaged else ""))
    return Exit.ERROR if damaged and not args.quarantine else Exit.OK


def cmd_replay(args: argparse.Namespace, out: Console) -> int:
    from tunelake.paths import cache_root
    from tunelake.store import spool
    from tunelake.store.lake import Lake

    moved = spool.replay(cache_root() / "spool", Lake(args.lake))
    out.print(f"replayed {moved} kept row(s)")
    return Exit.OK
