"""The ``tunelake`` command: :mod:`.main` parses and dispatches, :mod:`.options` declares the flags several
commands share, :mod:`.output` renders, and one module per command group registers its parsers and handlers.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """The exit codes scripts may rely on; the README documents them."""

    OK = 0  # done, even when some trials failed
    ERROR = 1  # anything else, including an experiment where no trial completed
    BAD_INPUT = 2  # nothing ran
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
