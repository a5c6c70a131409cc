"""Where a spec's code comes from: a git repository (pinned to a commit) or a directory.

The driver turns either into a :class:`Snapshot`: a tar archive of the tree
plus the commit it came from. Workers unpack the archive, so worker nodes need
neither network access to the repository nor its credentials.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tunelake.errors import CodeSourceError, UserInputError
from tunelake.platform.code.locks import file_lock
from tunelake.platform.spec.local import code_folder, is_git_url

MAX_SNAPSHOT_BYTES = 2 * 1024**3
SKIPPED_DIRS = frozenset({".git", "__pycache__", ".venv", "node_modules", "tunelake-lake"})
"""Directories left out of a directory snapshot: VCS data, caches, environments."""


@dataclass(frozen=True)
class Snapshot:
    """A code tree at one commit. ``key`` names its prepared workspace on every node."""

    source: str
    commit: str
    archive: bytes

    def workspace_key(self, install_script: str | None) -> str:
        digest = hashlib.sha256(f"{self.commit}\0{install_script or ''}".encode()).hexdigest()
        return digest[:20]


class CodeSource(ABC):
    """Something that can produce a :class:`Snapshot` of the user's code."""

    @abstractmethod
    def snapshot(self) -> Snapshot: ...


def redact_url(url: str) -> str:
    """The URL without credentials, fit for the lake and logs."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _git(args: list[str], cwd: Path | None = None, timeout: float = 600) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise CodeSourceError("git is not installed; install git to use a repository URL in code_github") from None
    except subprocess.TimeoutExpired:
        raise CodeSourceError(f"git {args[0]} took longer than {timeout:.0f}s") from None
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        raise CodeSourceError(f"git {args[0]} failed: {err[-2000:]}")
    return done.stdout.decode(errors="replace")


class GitSource(CodeSource):
    """A git URL (https, ssh, ``git@host:path`` or ``file://``) and an optional ref."""

    def __init__(self, url: str, ref: str | None, cache_dir: Path) -> None:
        self.url = url
        self.ref = ref
        self.mirror = cache_dir / "git" / (hashlib.sha256(url.encode()).hexdigest()[:20] + ".git")

    def snapshot(self) -> Snapshot:
        shown = redact_url(self.url)
        with file_lock(self.mirror.with_suffix(".lock")):
            try:
                if not (self.mirror / "HEAD").exists():
                    _git(["clone", "--quiet", "--mirror", self.url, str(self.mirror)])
                else:
                    _git(["remote", "update", "--prune"], cwd=self.mirror)
                ref = self.ref or "HEAD"
                commit = _git(["rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=self.mirror).strip()
                archive = subprocess.run(
                    ["git", "archive", "--format=tar", commit], cwd=self.mirror, capture_output=True, check=True
                ).stdout
            except CodeSourceError as exc:
                raise CodeSourceError(f"code_github {shown!r} (ref {self.ref or 'HEAD'}): {exc}") from None
        return Snapshot(source=shown, commit=commit, archive=archive)


class PathSource(CodeSource):
    """A local directory, taken as it is now (uncommitted changes included)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def snapshot(self) -> Snapshot:
        buffer = io.BytesIO()
        digest = hashlib.sha256()
        total = 0
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for path in _walk(self.path):
                rel = path.relative_to(self.path).as_posix()
                tar.add(path, arcname=rel, recursive=False)
                digest.update(rel.encode() + b"\0")
                if path.is_file() and not path.is_symlink():
                    total += path.stat().st_size
                    if total > MAX_SNAPSHOT_BYTES:
                        raise CodeSourceError(
                            f"code_github {str(self.path)!r} holds more than {MAX_SNAPSHOT_BYTES >> 30} GiB; "
                            "put large data elsewhere (S3, a dataset URI) or use a git repository"
                        )
                    digest.update(_file_digest(path))
                    digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        return Snapshot(source=str(self.path), commit=f"sha256:{digest.hexdigest()[:20]}", archive=buffer.getvalue())


def _walk(root: Path):  # type: ignore[no-untyped-def]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        base = Path(dirpath)
        if base != root:
            yield base
        for name in sorted(filenames):
            yield base / name


def _file_digest(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.digest()


def code_source(location: str, ref: str | None, cache_dir: Path, base_dir: Path | None = None) -> CodeSource:
    """A git URL becomes a :class:`GitSource`; anything else must be a directory."""
    if is_git_url(location):
        return GitSource(location, ref, cache_dir)
    path = code_folder(location, base_dir)
    if not path.is_dir():
        raise UserInputError(
            f"code_github: {location!r} is neither a git URL nor an existing directory (looked at {path})"
        )
    if ref is not None:
        if (path / ".git").exists():
            return GitSource(path.as_uri(), ref, cache_dir)
        raise UserInputError(f"code_ref: {location!r} is not a git repository, so code_ref {ref!r} cannot apply")
    return PathSource(path)
