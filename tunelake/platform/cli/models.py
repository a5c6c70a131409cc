"""``models list`` and ``models get``: the models an experiment's trials saved."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from tunelake.errors import UserInputError
from tunelake.platform.cli import Exit, options
from tunelake.platform.cli.output import table

COLUMNS = ("trial_id", "status", "value", "model_uri")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("models", help="list or fetch the models trials saved")
    models = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    m = models.add_parser("list", help="the models of an experiment, best first")
    m.add_argument("experiment")
    options.lake(m)
    m.set_defaults(handler=cmd_list)
    m = models.add_parser("get", help="copy a trial's model (default: the best trial's) to a folder")
    m.add_argument("experiment")
    m.add_argument("trial", nargs="?", help="trial id (default: the best completed trial)")
    m.add_argument("--to", required=True, help="destination folder")
    options.lake(m)
    m.set_defaults(handler=cmd_get)


def _trials(args: argparse.Namespace) -> list[dict[str, Any]]:
    """No trials at all means a wrong experiment id: the user's mistake, answered with how to list the ids."""
    from tunelake.store.catalog import model_trials
    from tunelake.store.lake import Lake

    lake = Lake(args.lake, create=False)
    trials = model_trials(lake, args.experiment)
    if not trials:
        raise UserInputError(f"experiment {args.experiment!r} has no trials in {lake.uri}; "
                             "list experiments with: tunelake sql \"SELECT experiment_id FROM experiments\"")
    return trials


def cmd_list(args: argparse.Namespace, out: Console) -> int:
    out.print(table(COLUMNS, ([t[k] for k in COLUMNS] for t in _trials(args))))
    return Exit.OK


def cmd_get(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.models.store import store_for_uri

    trials = _trials(args)
    if args.trial:
        chosen = next((t for t in trials if t["trial_id"] == args.trial), None)
        if chosen is None:
            raise UserInputError(f"trial {args.trial!r} is not in experiment {args.experiment!r}")
    else:
        chosen = trials[0] if trials[0]["status"] == "completed" else None
    if chosen is None or not chosen["model_uri"]:
        raise UserInputError(f"no stored model for {args.trial or 'the best trial'} of {args.experiment!r}; "
                             "see: tunelake models list " + args.experiment)
    files = store_for_uri(chosen["model_uri"]).fetch(chosen["model_uri"], Path(args.to))
    out.print(f"trial {chosen['trial_id']} ({chosen['status']}, value {chosen['value']}): "
              f"{len(files)} file(s) from {chosen['model_uri']} to {args.to}")
    return Exit.OK
