"""``experiments list|show|stop|logs``: find experiments in the lake and follow them from a terminal.

Where an id is wanted, a unique prefix of one or ``latest`` (the newest experiment) will do.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket

from rich.console import Console

from tunelake.errors import NotFound, UserInputError
from tunelake.platform.cli import Exit, options
from tunelake.platform.cli.output import describe_cost, plural, table
from tunelake.store.lake import Lake


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("experiments", help="list, show, stop experiments and read their logs")
    group = p.add_subparsers(dest="experiments_command", metavar="ACTION", required=True)
    c = group.add_parser("list", help="experiments, newest first, with their trials, best value and duration")
    c.add_argument("--search", default="", help="only those whose id, name, status or metric holds this text")
    c.add_argument("--limit", type=int, default=20, help="at most this many (default: 20)")
    c.set_defaults(handler=cmd_list)
    c = group.add_parser("show", help="an experiment: status, best trial, and its trials best first")
    c.add_argument("--trials", type=int, default=10, help="how many trials to list (default: 10)")
    c.set_defaults(handler=cmd_show)
    c = group.add_parser("stop", help="stop an experiment: its Ray job, else its driver on this machine")
    c.set_defaults(handler=cmd_stop)
    c = group.add_parser("logs", help="the driver's output of an experiment run as a Ray job, and the stderr "
                                      "of its failed trials")
    c.set_defaults(handler=cmd_logs)
    for c in group.choices.values():
        if c.prog.split()[-1] != "list":
            c.add_argument("experiment", help="experiment id, a unique prefix of one, or 'latest'")
        if c.prog.split()[-1] in ("stop", "logs"):
            c.add_argument("--address", help="the Ray dashboard the job was submitted to "
                                             "(default: $RAY_ADDRESS, else http://127.0.0.1:8265)")
        options.lake(c)


def find_experiment(lake: Lake, text: str) -> str:
    """The id ``text`` names: itself, ``latest`` (the newest), or the one id it is a prefix of."""
    from tunelake.store import catalog

    ids = [r["experiment_id"] for r in catalog.experiments(lake)]
    if text == "latest":
        if not ids:
            raise NotFound(f"the lake {lake.uri} holds no experiment yet")
        return ids[0]
    if text in ids:
        return text
    matches = [i for i in ids if i.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no experiment {text!r} in the lake {lake.uri}; `tunelake experiments list` shows them")
    raise UserInputError(f"{text!r} is the start of {plural(len(matches), 'experiment')} ({', '.join(matches[:5])}"
                         f"{', ...' if len(matches) > 5 else ''}); give more of the id")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def cmd_list(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.reports.history import experiment_duration, finite
    from tunelake.store import catalog

    lake = Lake(args.lake, create=False)
    counts = catalog.all_status_counts(lake)
    rows = [r for r in catalog.experiments(lake) if args.search.lower() in " ".join(
        str(r.get(k) or "") for k in ("experiment_id", "name", "status", "primary_metric")).lower()]
    shown = []
    for r in rows[:args.limit]:
        c = counts.get(r["experiment_id"], {})
        best = "" if finite(r["best_value"]) is None else f"{r['primary_metric']}={r['best_value']:.5g}"
        shown.append([r["experiment_id"], r["status"], ", ".join(f"{n} {s}" for s, n in sorted(c.items())), best,
                      str(r["created_at"] or "")[:19], _duration(experiment_duration(r))])
    out.print(table(["experiment", "status", "trials", "best", "created", "duration"], shown))
    if len(rows) > args.limit:
        out.print(f"{len(rows) - args.limit} more; --limit shows more")
    return Exit.OK


def cmd_show(args: argparse.Namespace, out: Console) -> int:
    import json

    from tunelake.store import browse, catalog

    lake = Lake(args.lake, create=False)
    experiment_id = find_experiment(lake, args.experiment)
    r = catalog.experiment(lake, experiment_id)
    c = catalog.status_counts(lake, experiment_id)
    out.print(f"{experiment_id}  {r['status']}  {r['primary_metric']} ({r['mode']})  {r['algorithm'] or ''} / "
              f"{r['scheduler'] or ''}")
    out.print("trials: " + (", ".join(f"{n} {s}" for s, n in sorted(c.items())) or "none yet"))
    best = catalog.best_trial(lake, experiment_id)
    if best:
        out.print(f"best: {best['trial_id']} {r['primary_metric']}={best['value']:.6g} {best['params']}")
    if r.get("cpu_hours") is not None:
        out.print("cost: " + describe_cost(r["cpu_hours"], r["gpu_hours"] or 0.0, r["cost_usd"], r["priced_trials"],
                                           sum(c.values()), r["price_table"]))
    if r.get("error"):
        out.print(f"error: {r['error']}")
    order = browse.TrialOrder("value", descending=r["mode"] != "min")
    rows, count = browse.trials_page(lake, experiment_id, order, limit=args.trials)
    out.print(table(["trial", "status", "value", "params", "duration", "reason"], [
        [t["trial_id"], t["status"], "" if t["value"] is None else f"{t['value']:.6g}",
         json.dumps(json.loads(t["params"] or "{}")), _duration(t["duration_s"]), t["reason"] or ""] for t in rows]))
    if count > len(rows):
        out.print(f"{count - len(rows)} more trials; --trials shows more")
    return Exit.OK


def _launcher(args: argparse.Namespace):  # -> JobLauncher
    from pathlib import Path

    from tunelake.platform.service.jobs import JobLauncher

    address = args.address or os.environ.get("RAY_ADDRESS") or "http://127.0.0.1:8265"
    dashboard = address if address.startswith("http") else f"http://{address}"
    return JobLauncher(dashboard, str(args.lake), Path("."))


def cmd_stop(args: argparse.Namespace, out: Console) -> int:
    from tunelake.errors import TunelakeError
    from tunelake.store import catalog

    lake = Lake(args.lake, create=False)
    experiment_id = find_experiment(lake, args.experiment)
    try:
        if _launcher(args).stop(experiment_id):
            out.print(f"stopping {experiment_id} (its Ray job); its trials are ended and recorded")
            return Exit.OK
    except TunelakeError:
        pass  # no cluster answers there: the driver may be a `tunelake run` on this machine
    here = [d for d in catalog.live_drivers(lake, experiment_id) if d["host"] == socket.gethostname()]
    if not here:
        raise UserInputError(f"{experiment_id} has no running Ray job at {args.address or 'the default address'} "
                             "and no live driver on this machine; give --address, or stop it where it runs")
    os.kill(here[0]["pid"], signal.SIGTERM)
    out.print(f"sent SIGTERM to {experiment_id}'s driver (pid {here[0]['pid']}); it stops its trials and records them")
    return Exit.OK


def cmd_logs(args: argparse.Namespace, out: Console) -> int:
    from tunelake.errors import TunelakeError
    from tunelake.redact import redact
    from tunelake.store import browse

    lake = Lake(args.lake, create=False)
    experiment_id = find_experiment(lake, args.experiment)
    try:
        logs = _launcher(args).logs(experiment_id)
    except TunelakeError as exc:
        logs, why = None, str(exc)
    else:
        why = "no Ray job has this id (a `tunelake run` prints its output where it runs)"
    out.print(redact(logs) if logs is not None else f"driver output: none ({why})")
    failed, count = browse.trials_page(lake, experiment_id, where=browse.TrialFilter(("failed",)), limit=5)
    for t in failed:
        out.print(f"--- trial {t['trial_id']} failed: {t['reason'] or ''}\n{redact(t['stderr_tail'] or '') or ''}")
    if count > len(failed):
        out.print(f"--- {count - len(failed)} more failed trials: tunelake sql \"SELECT trial_id, reason, stderr_tail "
                  f"FROM trials WHERE experiment_id = '{experiment_id}' AND status = 'failed'\"")
    return Exit.OK
