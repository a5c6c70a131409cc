"""``validate``, ``run`` and ``resume``: an experiment spec, checked or run end to end."""

from __future__ import annotations

import argparse

from rich.console import Console

from tunelake.platform.cli import Exit, options
from tunelake.platform.cli.output import plural, print_run


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check an experiment spec without running it")
    options.spec(p)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("run", help="run an experiment")
    options.spec(p)
    options.run_options(p)
    options.experiment_id(p)
    p.add_argument("--code-snapshot", metavar="DIR", help="use the code a tunelake service fetched into DIR "
                   "(how its jobs get code whose URL holds a password) instead of fetching code_github")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("resume", help="continue an experiment whose driver died (Tune's saved state)")
    p.add_argument("experiment", help="experiment id")
    options.run_options(p)
    p.set_defaults(handler=cmd_resume)


def cmd_validate(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.spec import load_spec

    spec = load_spec(args.spec)
    out.print(f"{args.spec}: valid ({plural(len(spec.search), 'parameter')}, "
              f"{spec.optimizer.algorithm.value} / {spec.optimizer.scheduler.value}, "
              f"{spec.trial_count()} trials, {spec.primary_mode.value} {spec.primary_metric})")
    return Exit.OK


def cmd_run(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.experiments.run import run

    result = run(args.spec, lake=args.lake, address=args.address, progress=not args.quiet,
                 experiment_id=args.experiment_id, code_snapshot=args.code_snapshot)
    print_run(out, result, *_front(result.lake, result.experiment_id))
    return Exit.ERROR if result.error else Exit.OK


def _front(lake_uri: str, experiment_id: str) -> tuple[list[dict], list[dict]]:
    """A search of several metrics: its objectives and its Pareto front (else nothing to show)."""
    from tunelake.store import catalog
    from tunelake.store.lake import Lake

    lake = Lake(lake_uri, create=False)
    row = catalog.experiment(lake, experiment_id)
    objectives = catalog.objectives_of(row) if row else []
    return (objectives, catalog.pareto_front(lake, experiment_id)) if len(objectives) > 1 else ([], [])


def cmd_resume(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.experiments.resume import resume

    result = resume(args.experiment, lake=args.lake, address=args.address, progress=not args.quiet)
    print_run(out, result, *_front(result.lake, result.experiment_id))
    return Exit.ERROR if result.error else Exit.OK
