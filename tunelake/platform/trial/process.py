"""One trial's process: started in its own process group, read line by line,
and ended as a whole group, children included.

Stdout is parsed into reports while the process runs (the caller gets them as
events) and teed to a log file; stderr goes to a log file whose tail is kept.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from tunelake.platform.trial import guardian as _guardian_module
from tunelake.platform.trial.guardian import end_groups
from tunelake.platform.trial.metrics import MAX_LINE_CHARS, MetricParser, Report

MAX_LOG_BYTES = 64 * 1024 * 1024
"""Stdout beyond this is still parsed for metrics but no longer written to the log."""

STDERR_TAIL_CHARS = 4000


_SHELL_SYNTAX = re.compile(r"[;&|<>()`$\n*?\[\]{}~#=]")


def shell_argv(command: str) -> list[str]:
    """``sh -c`` for the command; a simple command replaces the shell (``exec``), so
    its exit status and signals reach tunelake directly."""
    if _SHELL_SYNTAX.search(command) is None:
        command = f"exec {command}"
    return ["/bin/sh", "-c", command]


@dataclass(frozen=True)
class Exited:
    """The trial's main process ended.

    ``returncode < 0`` means killed by that signal; a shell reports a command
    killed by signal N as exit code 128 + N, which counts as that signal too.
    """

    returncode: int

    @property
    def signal_number(self) -> int | None:
        if self.returncode < 0:
            return -self.returncode
        if 128 < self.returncode <= 128 + 64:
            return self.returncode - 128
        return None

    @property
    def signal_name(self) -> str | None:
        number = self.signal_number
        if number is None:
            return None
        try:
            return signal.Signals(number).name
        except ValueError:
            return f"signal {number}"


Event = Report | Exited


class _Guardian:
    """This worker's guardian process (see :mod:`tunelake.platform.trial.guardian`)."""

    _lock = threading.Lock()
    _proc: subprocess.Popen | None = None

    @classmethod
    def send(cls, line: str) -> None:
        with cls._lock:
            if cls._proc is None or cls._proc.poll() is not None:
                cls._proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", _guardian_module.__file__],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                    text=True,
                )
            assert cls._proc.stdin is not None
            try:
                cls._proc.stdin.write(line + "\n")
                cls._proc.stdin.flush()
            except BrokenPipeError:
                cls._proc = None


class TrialProcess:
    """A command run through ``/bin/sh -c`` in a new session (its own process group)."""

    def __init__(
        self,
        command: str,
        cwd: Path,
        env: dict[str, str],
        stdout_log: Path,
        stderr_log: Path,
        parser: MetricParser,
        kill_grace_s: float = 5.0,
    ) -> None:
        self.command = command
        self.cwd = cwd
        self.env = env
        self.stdout_log = stdout_log
        self.stderr_log = stderr_log
        self.parser = parser
        self.kill_grace_s = kill_grace_s
        self._events: queue.Queue[Event] = queue.Queue()
        self._exit_lock = threading.Lock()
        self._exited = False
        self._reader_done = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.stderr_log, "wb") as stderr:
            self._proc = subprocess.Popen(
                shell_argv(self.command),
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
        _Guardian.send(f"+{self._proc.pid}")
        threading.Thread(target=self._read, name="trial-stdout", daemon=True).start()
        threading.Thread(target=self._wait, name="trial-wait", daemon=True).start()

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def next_event(self, timeout: float | None) -> Event | None:
        """The next report or the exit; ``None`` when ``timeout`` passes first."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        """End the whole process group: SIGTERM, then SIGKILL after the grace period."""
        if self._proc is None:
            return
        end_groups([self._proc.pid], self.kill_grace_s)
        try:
            self._proc.wait(timeout=self.kill_grace_s + 5)
        except subprocess.TimeoutExpired:
            pass
        _Guardian.send(f"-{self._proc.pid}")

    def stderr_tail(self, chars: int = STDERR_TAIL_CHARS) -> str:
        try:
            with open(self.stderr_log, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - chars * 2))
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        return text[-chars:]

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        written = 0
        log = open(self.stdout_log, "wb")
        try:
            while True:
                raw = self._proc.stdout.readline(MAX_LINE_CHARS + 1)
                if not raw:
                    break
                if written < MAX_LOG_BYTES:
                    try:
                        log.write(raw)
                        written += len(raw)
                    except OSError:  # a full disk: keep reading, or the trial blocks on a full pipe
                        written = MAX_LOG_BYTES
                if len(raw) > MAX_LINE_CHARS:
                    _drain_line(self._proc.stdout, raw)
                    continue
                report = self.parser.parse(raw.decode("utf-8", errors="replace"))
                if report is not None and not self._exited:
                    self._events.put(report)
        finally:
            try:
                log.close()
            except OSError:
                pass
            self._reader_done.set()
            self._finish()

    def _wait(self) -> None:
        assert self._proc is not None
        self._proc.wait()
        # Children left behind by the main process must not outlive the trial;
        # ending them also closes the stdout they may hold open.
        end_groups([self._proc.pid], self.kill_grace_s)
        if not self._reader_done.wait(timeout=5.0):
            self._finish()  # a process outside the group still holds stdout open
        _Guardian.send(f"-{self._proc.pid}")

    def _finish(self) -> None:
        assert self._proc is not None
        returncode = self._proc.wait()
        with self._exit_lock:
            if not self._exited:
                self._exited = True
                self._events.put(Exited(returncode))


def _drain_line(stream, head: bytes) -> None:  # type: ignore[no-untyped-def]
    """Skip the rest of an over-long line."""
    chunk = head
    while chunk and not chunk.endswith(b"\n"):
        chunk = stream.readline(MAX_LINE_CHARS + 1)
