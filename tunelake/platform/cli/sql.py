"""``sql``: DuckDB SQL over the lake, as a table, CSV or JSON."""

from __future__ import annotations

import argparse

from rich.console import Console

from tunelake.platform.cli import Exit, options
from tunelake.platform.cli.output import print_rows, warn_skipped


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sql", help="query the lake with DuckDB SQL")
    p.add_argument("query", help="e.g. \"SELECT status, count(*) FROM trials GROUP BY 1\"")
    options.lake(p)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(handler=cmd_sql)


def cmd_sql(args: argparse.Namespace, out: Console) -> int:
    from tunelake.store.damage import watch
    from tunelake.store.lake import Lake
    from tunelake.store.query import query

    with watch() as skipped:
        rows = query(Lake(args.lake, create=False), args.query)
    print_rows(out, rows, args.format)
    warn_skipped(skipped)
    return Exit.OK
