"""Checkpoints in the trial protocol: the files a trial leaves in ``TUNELAKE_CHECKPOINT_DIR``.

A trial writes its checkpoint (any files, in any language) into
``TUNELAKE_CHECKPOINT_DIR`` and then prints the report it belongs to. When a
report arrives and the folder changed since the one before, its files are
copied aside at once (a *snapshot*), so the trial may go on writing the next
one; Tune then stores the snapshot as the trial's checkpoint in its storage
(beside the lake, or on S3). A trial started again from a checkpoint (its
worker died and ``max_failures`` allows a retry, or PBT cloned another
trial into it) finds those files in ``TUNELAKE_RESTORE_DIR``.

Nothing here imports Ray: the trainable calls these on a worker.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

CHECKPOINT_VARIABLE = "TUNELAKE_CHECKPOINT_DIR"
RESTORE_VARIABLE = "TUNELAKE_RESTORE_DIR"

FILES = "files"
"""The folder of a stored checkpoint that holds the trial's own files."""

META = "tunelake.json"
"""Beside ``files/``: the step and metrics the checkpoint belongs to, so a restored trial counts on."""


def _signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What the folder holds, cheaply: every file's path, size and modification time."""
    entries = []
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                stat = path.stat()
                entries.append((str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
        except OSError:  # a file the trial removed while we looked: the next report sees the settled folder
            continue
    return tuple(sorted(entries))


class CheckpointFolder:
    """The live folder a trial writes into, and the last snapshot taken of it."""

    def __init__(self, trial_dir: Path) -> None:
        self.live = trial_dir / "checkpoint"
        self.snapshot = trial_dir / "checkpoint-snapshot"
        self._seen: tuple[tuple[str, int, int], ...] = ()
        self.state: dict[str, Any] = {}

    def prepare(self) -> None:
        self.live.mkdir(parents=True, exist_ok=True)

    def take(self, state: dict[str, Any]) -> bool:
        """Snapshot the live folder if it changed since the last report; True when it did.

        ``state`` (the step and metrics so far) is kept with the snapshot.
        """
        seen = _signature(self.live)
        if not seen or seen == self._seen:
            return False
        fresh = self.snapshot.with_name(f"{self.snapshot.name}.{uuid.uuid4().hex[:8]}")
        shutil.copytree(self.live, fresh, symlinks=True)
        shutil.rmtree(self.snapshot, ignore_errors=True)
        fresh.rename(self.snapshot)
        self._seen = seen
        self.state = dict(state)
        return True

    def save(self, target: Path, fallback: dict[str, Any]) -> None:
        """Write the last snapshot into ``target`` (Tune's checkpoint folder), with its state.

        Without a snapshot (a trial that wrote no checkpoint yet, paused by a
        scheduler) only the state ``fallback`` is written: restored, such a trial
        starts its program from the beginning with an empty restore folder.
        """
        if self.snapshot.is_dir():
            store(target, self.snapshot, self.state)
        else:
            store(target, None, fallback)

    def adopt(self, restored: Path, state: dict[str, Any]) -> None:
        """Start from a restored checkpoint: until the trial writes a new one, it is the one to save."""
        shutil.copytree(restored, self.snapshot, symlinks=True, dirs_exist_ok=True)
        self.state = dict(state)


def store(target: Path, files: Path | None, state: dict[str, Any]) -> None:
    """Write a checkpoint into ``target``: ``files`` (none: an empty folder) and the state they belong to."""
    if files is not None:
        shutil.copytree(files, target / FILES, symlinks=True, dirs_exist_ok=True)
    else:
        (target / FILES).mkdir(parents=True, exist_ok=True)
    (target / META).write_text(json.dumps(state, sort_keys=True, allow_nan=True))


def stage_restore(checkpoint: Path, into: Path) -> dict[str, Any]:
    """Copy a stored checkpoint's files to ``into`` (Tune may delete its copy once this returns) and return
    the state saved with it (``{}`` for a checkpoint without one)."""
    shutil.rmtree(into, ignore_errors=True)
    into.parent.mkdir(parents=True, exist_ok=True)
    source = checkpoint / FILES
    if source.is_dir():
        shutil.copytree(source, into, symlinks=True)
    else:
        into.mkdir()
    meta = checkpoint / META
    return json.loads(meta.read_text()) if meta.is_file() else {}
