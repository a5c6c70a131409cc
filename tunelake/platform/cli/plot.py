"""``plot``: the metric map of an experiment, as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from tunelake.platform.cli import Exit, options


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plot", help="a PNG map of the primary metric over two parameters")
    p.add_argument("experiment")
    p.add_argument("--x", required=True, help="parameter on the x axis")
    p.add_argument("--y", required=True, help="parameter on the y axis")
    p.add_argument("-o", "--output", default="map.png")
    options.lake(p)
    p.set_defaults(handler=cmd_plot)


def cmd_plot(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.reports.metric_map import metric_map
    from tunelake.store.lake import Lake

    path = metric_map(Lake(args.lake, create=False), args.experiment, args.x, args.y, Path(args.output))
    out.print(f"wrote {path}")
    return Exit.OK
