"""A snapshot made where the credentials are, handed to a driver as files.

The service fetches a ``code_github`` URL that carries a password itself and
stages the archive with the job, so the password never reaches Ray: a job's
``env_vars`` are written to the head node's ``runtime_env_agent.log`` and
returned by Ray's job API to anyone who may list jobs. The driver checks that
the staged snapshot is of the spec's URL before it uses it.
"""

from __future__ import annotations

import json
from pathlib import Path

from tunelake.errors import CodeSourceError
from tunelake.platform.code.source import CodeSource, Snapshot, redact_url, refuse_links_out, url_credentials

ARCHIVE = "code.tar"
ABOUT = "code.json"
RAY_PACKAGE_BYTES = 512 * 1024**2
"""Ray refuses a job's working directory of this size or more (``GCS_STORAGE_MAX_SIZE``)."""


def stage(snapshot: Snapshot, folder: Path) -> None:
    """Write ``snapshot`` into ``folder`` (a job's working directory) for :class:`StagedSource`."""
    if len(snapshot.archive) >= RAY_PACKAGE_BYTES:
        raise CodeSourceError(
            f"code_github {snapshot.source!r}: the code is {len(snapshot.archive) / 2**20:.0f} MiB, and a Ray job "
            f"carries less than {RAY_PACKAGE_BYTES >> 20} MiB; move large files out of the repository, or use an "
            "SSH URL (the job then fetches the code itself)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ARCHIVE).write_bytes(snapshot.archive)
    (folder / ABOUT).write_text(json.dumps({"source": snapshot.source, "commit": snapshot.commit}))


class StagedSource(CodeSource):
    """The snapshot :func:`stage` wrote into ``folder``, of the spec's ``code_github`` URL ``url``."""

    def __init__(self, folder: Path, url: str) -> None:
        self.folder = folder
        self.url = url

    def snapshot(self) -> Snapshot:
        try:
            about = json.loads((self.folder / ABOUT).read_text())
            archive = (self.folder / ARCHIVE).read_bytes()
        except (OSError, ValueError) as exc:
            raise CodeSourceError(f"--code-snapshot {str(self.folder)!r}: no snapshot there ({exc})") from None
        expected = redact_url(url_credentials(self.url)[0])  # what GitSource names it
        if about.get("source") != expected:
            raise CodeSourceError(f"--code-snapshot {str(self.folder)!r} holds {about.get('source')!r}, "
                                  f"not the spec's code_github {expected!r}")
        shown = f"code_github {about['source']!r} at {str(about['commit'])[:12]}"
        refuse_links_out(archive, shown)
        return Snapshot(source=about["source"], commit=str(about["commit"]), archive=archive)
