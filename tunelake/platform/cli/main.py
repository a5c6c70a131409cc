"""The ``tunelake`` command line: parse, hand the arguments to the command's handler, turn errors into exit codes.

Exit codes (:class:`~tunelake.platform.cli.Exit`): 0 done (even when some trials failed), 2 bad input
(nothing ran), 1 anything else, 130 interrupted (SIGINT), 143 stopped (SIGTERM). Errors print one message, never a traceback, unless
``TUNELAKE_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Sequence

from tunelake.errors import Stopped, TunelakeError, UserInputError
from tunelake._version import __version__
from tunelake.platform.cli import Exit, automl, cluster, experiments, follow, lake, models, plot, serve, sql
from tunelake.platform.cli.output import consoles, print_error

GROUPS = (experiments, follow, sql, automl, plot, serve, models, cluster, lake)  # in the order `tunelake --help` lists them


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunelake",
        description="Tune any program on Ray; every trial lands in a Parquet lake you can query with SQL.",
    )
    parser.add_argument("--version", action="version", version=f"tunelake {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # `serve` restarts itself with its own command line
    out, err = consoles()
    try:
        return args.handler(args, out)
    except UserInputError as exc:
        print_error(err, exc)
        return Exit.BAD_INPUT
    except TunelakeError as exc:
        print_error(err, exc)
        return Exit.ERROR
    except Stopped as exc:
        err.print(str(exc))
        return 128 + exc.signum
    except KeyboardInterrupt:
        err.print("interrupted")
        return Exit.INTERRUPTED
    except Exception as exc:  # a bug: say so plainly, keep the traceback behind a switch
        if os.environ.get("TUNELAKE_DEBUG"):
            raise
        print_error(err, exc, internal=True)
        return Exit.ERROR


def run() -> None:
    """The ``tunelake`` script: :func:`main`, then exit with its code.

    Arrow objects left in reference cycles (a Parquet read that failed on a
    damaged file leaves some) can keep a native reader thread alive into the
    interpreter's teardown, where it aborts the process ("terminate called
    without an active exception", exit -6) after the command has done its
    work: about one ``tunelake lake check`` in 50 did. Collecting them before
    the teardown joins those threads while Arrow is still whole.
    """
    code = main()
    gc.collect()
    sys.exit(code)
