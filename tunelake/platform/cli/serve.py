"""``serve``: the REST API and web page."""

from __future__ import annotations

import argparse

from rich.console import Console

from tunelake.platform.cli import Exit, options


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="the REST API and web page; experiments run as Ray jobs")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    options.lake(p)
    # Not the shared --address: the service submits jobs to a dashboard and ignores $RAY_ADDRESS.
    p.add_argument("--address", help="Ray dashboard address of a cluster (default: start a local Ray)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.service.server import serve

    # args.argv: the service restarts itself with this command line to drop the API token from its environment.
    serve(args.host, args.port, args.lake, args.address, args.argv, say=out.print)
    return Exit.OK
