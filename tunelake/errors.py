"""One exception hierarchy for everything tunelake raises on purpose.

The command line maps :class:`UserInputError` to exit code 2 and every other
:class:`TunelakeError` to exit code 1; both print the message only, so each
message names the problem and the fix.
"""

from __future__ import annotations


class TunelakeError(Exception):
    """Base of every error tunelake raises deliberately."""


class UserInputError(TunelakeError):
    """The user's input (a spec, a query, a path) is wrong; nothing has run."""


class NotFound(UserInputError):
    """What the user named (an experiment, a trial) is not in the lake; the service answers 404."""


class SpecError(UserInputError):
    """A spec failed validation; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str], source: str = "spec") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source} is not valid ({len(self.problems)} problem(s)):\n{lines}")


class CodeSourceError(TunelakeError):
    """The code could not be fetched or its ``install_script`` failed."""


class LakeError(TunelakeError):
    """The history lake could not be read or written."""


class QueryError(UserInputError):
    """A SQL query over the lake failed; the message carries DuckDB's reason."""


class Stopped(KeyboardInterrupt):
    """The driver was told to stop by a signal: SIGINT (Ctrl-C) or SIGTERM (``ray job stop``,
    ``POST /experiments/{id}/stop``, a shutdown). A :class:`KeyboardInterrupt`, so no
    ``except Exception`` on the way up swallows it."""

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")
