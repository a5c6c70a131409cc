from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tunelake.platform.trial.metrics import MetricParser, Report
from tunelake.platform.trial.process import Exited, TrialProcess


def start(tmp_path: Path, command: str, grace: float = 1.0) -> TrialProcess:
    proc = TrialProcess(command, tmp_path, dict(os.environ), tmp_path / "out.log", tmp_path / "err.log",
                        MetricParser(), kill_grace_s=grace)
    proc.start()
    return proc


def events(proc: TrialProcess, timeout: float = 20) -> list:
    seen = []
    while True:
        event = proc.next_event(timeout)
        assert event is not None, f"no event within {timeout}s; got {seen}"
        seen.append(event)
        if isinstance(event, Exited):
            return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split()[2] != "Z"


def test_reports_stream_in_order_and_stderr_is_kept(tmp_path: Path):
    proc = start(tmp_path, "echo acc=0.5; echo oops >&2; printf '{\"acc\": 0.7}\\n'; exit 3")
    seen = events(proc)
    assert seen == [Report({"acc": 0.5}), Report({"acc": 0.7}), Exited(3)]
    assert proc.stderr_tail() == "oops\n"
    assert (tmp_path / "out.log").read_text().startswith("acc=0.5\n")


def test_signal_is_named(tmp_path: Path):
    (exited,) = events(start(tmp_path, "kill -SEGV $$"))
    assert exited.signal_name == "SIGSEGV"


def test_children_left_behind_are_ended_with_the_trial(tmp_path: Path):
    proc = start(tmp_path, "sleep 300 & echo $! > child.pid; echo done=1")
    events(proc)
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_stop_ends_a_group_that_ignores_sigterm(tmp_path: Path):
    proc = start(tmp_path, "trap '' TERM; sleep 300 & echo $! > child.pid; wait", grace=0.5)
    time.sleep(0.3)
    proc.stop()
    (exited,) = events(proc)
    assert exited.returncode < 0
    assert not alive(int((tmp_path / "child.pid").read_text()))


def test_no_trial_outlives_a_worker_killed_with_sigkill(tmp_path: Path):
    """The guardian ends the trial's process group when its worker dies without cleanup."""
    script = textwrap.dedent(f"""
        import os, time
        from pathlib import Path
        from tunelake.platform.trial.metrics import MetricParser
        from tunelake.platform.trial.process import TrialProcess
        d = Path({str(tmp_path)!r})
        p = TrialProcess("sleep 300 & echo $! > child.pid; sleep 301", d, dict(os.environ), d / "o", d / "e",
                         MetricParser())
        p.start()
        while not (d / "child.pid").exists():
            time.sleep(0.02)
        print(p.pid, flush=True)
        time.sleep(300)
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    trial_pid = int(worker.stdout.readline())
    child = int((tmp_path / "child.pid").read_text())
    assert alive(trial_pid) and alive(child)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    deadline = time.monotonic() + 10
    while (alive(trial_pid) or alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(trial_pid) and not alive(child)


def test_garbage_and_huge_output_do_not_break_parsing(tmp_path: Path):
    proc = start(tmp_path, "head -c 3000000 /dev/urandom; echo; python3 -c \"print('x'*2000000)\"; echo ok=1")
    seen = events(proc, timeout=60)
    assert seen[-1] == Exited(0)
    assert Report({"ok": 1.0}) in seen


def test_100_mb_of_stdout_is_read_through_and_the_log_is_capped(tmp_path: Path):
    from tunelake.platform.trial.process import MAX_LOG_BYTES

    proc = start(tmp_path, "head -c 100000000 /dev/zero | tr '\\0' x | fold -w 1000; echo; echo done=1")
    seen = events(proc, timeout=120)
    assert seen[-1] == Exited(0) and Report({"done": 1.0}) in seen
    assert MAX_LOG_BYTES <= proc.stdout_log.stat().st_size < MAX_LOG_BYTES + 2000
