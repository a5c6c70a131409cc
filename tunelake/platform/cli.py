"""The ``tunelake`` command line.

Exit codes: 0 done (even when some trials failed), 2 bad input (nothing ran),
1 anything else. Errors print one message, never a traceback, unless
``TUNELAKE_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tunelake.errors import TunelakeError, UserInputError

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunelake",
        description="Tune any program on Ray; every trial lands in a Parquet lake you can query with SQL.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    lake_help = "lake root (default: $TUNELAKE_LAKE, else ./tunelake-lake)"

    p = sub.add_parser("validate", help="check an experiment spec without running it")
    p.add_argument("spec", help="experiment spec, JSON or YAML")

    p = sub.add_parser("run", help="run an experiment")
    p.add_argument("spec", help="experiment spec, JSON or YAML")
    p.add_argument("--lake", help=lake_help)
    p.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--quiet", action="store_true", help="no progress display")

    p = sub.add_parser("sql", help="query the lake with DuckDB SQL")
    p.add_argument("query", help="e.g. \"SELECT status, count(*) FROM trials GROUP BY 1\"")
    p.add_argument("--lake", help=lake_help)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    return parser


def cmd_validate(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.spec import load_spec

    spec = load_spec(args.spec)
    n = len(spec.search)
    out.print(f"{args.spec}: valid ({n} parameter{'s' if n != 1 else ''}, "
              f"{spec.optimizer.algorithm.value} / {spec.optimizer.scheduler.value}, "
              f"{spec.optimizer.samples()} trials, {spec.mode.value} {spec.primary_result_key})", highlight=False)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.experiment import run

    result = run(args.spec, lake=args.lake, address=args.address, progress=not args.quiet)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items())) or "no trials"
    out.print(f"experiment  {result.experiment_id}  ({result.status}: {counts})", highlight=False, markup=False)
    if result.best_trial_id is not None:
        params = ", ".join(f"{k}={v}" for k, v in (result.best_params or {}).items())
        out.print(f"best        {result.best_value:.6g}  trial {result.best_trial_id}  {params}", highlight=False, markup=False)
    out.print(f"lake        {result.lake}", highlight=False, markup=False)
    out.print(f"models      {result.models}", highlight=False, markup=False)
    order = "DESC" if result.mode == "max" else "ASC"
    out.print(f"query       tunelake sql \"SELECT trial_id, status, value, params FROM trials "
              f"WHERE experiment_id = '{result.experiment_id}' ORDER BY value {order}\"", highlight=False,
              markup=False)
    if result.error:
        out.print(f"[red]error[/red]       {escape(result.error)}", highlight=False)
        return EXIT_ERROR
    return EXIT_OK


def cmd_sql(args: argparse.Namespace, out: Console) -> int:
    from tunelake.store.lake import Lake
    from tunelake.store.query import query

    table = query(Lake(args.lake), args.query)
    if args.format == "csv":
        import pyarrow.csv as pacsv

        sink = sys.stdout.buffer
        pacsv.write_csv(table, sink)
        sink.flush()
    elif args.format == "json":
        sys.stdout.write(json.dumps(table.to_pylist(), default=str, indent=1) + "\n")
    else:
        view = Table(show_lines=False)
        for name in table.column_names:
            view.add_column(name, overflow="fold")
        for row in table.to_pylist():
            view.add_row(*(Text("" if v is None else str(v)) for v in row.values()))
        out.print(view)
        out.print(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})", highlight=False, markup=False)
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "sql": cmd_sql}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return COMMANDS[args.command](args, out)
    except UserInputError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except TunelakeError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # a bug: say so plainly, keep the traceback behind a switch
        if os.environ.get("TUNELAKE_DEBUG"):
            raise
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))} "
                  "(set TUNELAKE_DEBUG=1 for the traceback)", soft_wrap=True)
        return EXIT_ERROR
