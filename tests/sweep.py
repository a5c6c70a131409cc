"""What a run may leave behind: processes of its trials, and trial processes nobody reaped."""

from __future__ import annotations

import time
from pathlib import Path


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def leftovers(experiment_id: str) -> list[str]:
    """Live processes carrying the experiment's id in their environment, and zombies whose parent is a
    Ray worker (a trial process the worker never reaped)."""
    marker = f"TUNELAKE_EXPERIMENT_ID={experiment_id}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        stat = _read(proc / "stat").decode(errors="replace")
        if not stat:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state == "Z":
            parent = _read(Path("/proc") / ppid / "cmdline")
            if b"ray::" in parent or b"default_worker" in parent:
                found.append(f"zombie {proc.name} of Ray worker {ppid}")
        elif marker in _read(proc / "environ").split(b"\0"):
            command = _read(proc / "cmdline").replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name}: {command}")
    return found


def wait_for_no_leftovers(experiment_id: str, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while (found := leftovers(experiment_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found
