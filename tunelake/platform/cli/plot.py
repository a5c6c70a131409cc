"""``plot``: an experiment's map, history or importance as a PNG, SVG or HTML file, from the API's own data."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from tunelake.platform.cli import Exit, options

KINDS = ("map", "history", "importance")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("plot", help="a figure of an experiment: the metric map over two parameters (log axes for "
                                    "log-scale ones), the optimization history or the parameter importance")
    p.add_argument("experiment", help="experiment id, a unique prefix of one, or 'latest'")
    p.add_argument("--kind", choices=KINDS, default="map", help="what to draw (default: map)")
    p.add_argument("--x", help="map: parameter on the x axis (default: the search's first)")
    p.add_argument("--y", help="map: parameter on the y axis (default: the search's second)")
    p.add_argument("--evaluator", choices=("fanova", "ped_anova", "mdi"), default="fanova",
                   help="importance: Optuna's evaluator (default: fanova)")
    p.add_argument("-o", "--output", help="the file to write, .png, .svg or .html (default: KIND.png)")
    options.lake(p)
    p.set_defaults(handler=cmd_plot)


def cmd_plot(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.cli.follow import find_experiment
    from tunelake.platform.reports import figures
    from tunelake.platform.reports.history import history
    from tunelake.platform.reports.importance import Evaluator
    from tunelake.store.lake import Lake

    lake = Lake(args.lake, create=False)
    experiment_id = find_experiment(lake, args.experiment)
    target = Path(args.output or f"{args.kind}.png")
    if args.kind == "history":
        path = figures.history(lake, experiment_id, target)
    elif args.kind == "importance":
        path = figures.importance(lake, experiment_id, target, Evaluator(args.evaluator))
    else:
        names = [a["name"] for a in history(lake, experiment_id)["params"]]
        x = args.x or (names[0] if names else "")
        y = args.y or (names[1] if len(names) > 1 else x)
        path = figures.metric_map(lake, experiment_id, x, y, target)
    out.print(f"wrote {path}")
    return Exit.OK
