"""A folder over the snapshot cap is refused from its sizes, before any file is read into memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, write_repo
from tunelake.platform.code.source import MAX_SNAPSHOT_BYTES

PROBE = """
import json, resource, sys
from tunelake.errors import CodeSourceError
from tunelake.platform.code.source import PathSource
from pathlib import Path
try:
    PathSource(Path(sys.argv[1])).snapshot()
    error = None
except CodeSourceError as exc:
    error = str(exc)
print(json.dumps({"error": error, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_a_file_over_the_cap_is_refused_without_reading_it(tmp_path: Path):
    repo = write_repo(tmp_path / "repo", {"train.py": "print(1)"})
    with open(repo / "dump.bin", "wb") as f:  # sparse: over the cap, yet no disk used
        f.truncate(MAX_SNAPSHOT_BYTES + 600 * 2**20)
    done = subprocess.run([sys.executable, "-c", PROBE, str(repo)], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    out = json.loads(done.stdout)
    print(f"peak memory of the snapshot process: {out['peak_mib']:.0f} MiB")
    assert out["error"] and "dump.bin (2.59 GiB)" in out["error"] and "more than 2 GiB" in out["error"]
    assert out["peak_mib"] < 1024  # the file was not read: reading it would take 2.6 GiB
