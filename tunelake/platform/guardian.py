"""Kills a worker's trial process groups when the worker dies without cleaning up.

Ray may end a trial's worker with SIGKILL (a forced stop, a dead driver), which
gives it no chance to stop the trials it started. Each worker therefore starts
one guardian and tells it, on its stdin, which process groups it runs
(``+PGID`` / ``-PGID``). The guardian sees end-of-file when the worker is gone,
however it died, and then terminates every group still registered.

Run by path with ``python -I -S`` for a fast start: it imports only the
standard library.
"""

import os
import signal
import sys
import time

GRACE_S = 3.0


def _alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _terminate(groups):
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and any(_alive(g) for g in groups):
        time.sleep(0.05)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: (_terminate(groups), os._exit(0)))
    groups = set()
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("+"):
            groups.add(int(line[1:]))
        elif line.startswith("-"):
            groups.discard(int(line[1:]))
    _terminate(groups)


if __name__ == "__main__":
    main()
