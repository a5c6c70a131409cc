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


def group_alive(pgid):
    """Whether any process of group ``pgid`` is still there."""
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def end_groups(groups, grace_s=GRACE_S):
    """SIGTERM every group, wait up to ``grace_s`` for them to go, then SIGKILL what is left.

    Shared with the trial runner (:mod:`tunelake.platform.trial.process`), so a trial
    is ended the same way whether its worker or the guardian does it.
    """
    groups = [g for g in groups if group_alive(g)]
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(group_alive(g) for g in groups):
        time.sleep(0.02)
    for pgid in groups:
        if group_alive(pgid):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: (end_groups(groups), os._exit(0)))
    groups = set()
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("+"):
            groups.add(int(line[1:]))
        elif line.startswith("-"):
            groups.discard(int(line[1:]))
    end_groups(groups)


if __name__ == "__main__":
    main()
