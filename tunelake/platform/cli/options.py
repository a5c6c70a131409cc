"""The flags several commands share, declared once so their help reads the same everywhere.

Each flag defaults to ``None`` and the library resolves it (``Lake(None)``, ``connect(None)``,
``launcher_config(..., None)``), so the help states that resolution instead of an argparse default.
"""

from __future__ import annotations

import argparse


def spec(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="experiment spec, JSON or YAML")


def lake(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lake", help="lake root (default: $TUNELAKE_LAKE, else ./tunelake-lake; "
                   "in a Ray job ~/.tunelake/lake)")


def run_options(p: argparse.ArgumentParser) -> None:
    """Where a search runs and writes: shared by run, resume and automl."""
    lake(p)
    p.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def experiment_id(p: argparse.ArgumentParser) -> None:
    p.add_argument("--experiment-id", help="use this id (the service assigns ids before the job starts)")


def region(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", help="AWS region (default: $AWS_DEFAULT_REGION, else us-west-2)")


def count(text: str) -> int:
    """An argparse type: a whole number of at least 1 (0 or less is refused with exit 2, not read as "unset")."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is less than 1: give 1 or more")
    return value
