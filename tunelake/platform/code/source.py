"""Where a spec's code comes from: a git repository (pinned to a commit) or a directory.

The driver turns either into a :class:`Snapshot`: a tar archive of the tree
plus the commit it came from. Workers unpack the archive, so worker nodes need
neither network access to the repository nor its credentials.

A link in the tree is kept as a link when what it names is inside the tree;
one that points out is refused (every trial's copy would read that path on its
node: the driver's files, or a secret there). Sizes are added up before any
file is read, so a folder over :data:`MAX_SNAPSHOT_BYTES` is refused without
loading it.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import stat
import subprocess
import tarfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from tunelake.errors import CodeSourceError, UserInputError
from tunelake.platform.code.locks import file_lock
from tunelake.platform.spec.local import code_folder, is_git_url

MAX_SNAPSHOT_BYTES = 2 * 1024**3
SKIPPED_DIRS = frozenset({".git", "__pycache__", ".venv", "node_modules", "tunelake-lake"})
"""Directories left out of a directory snapshot: VCS data, caches, environments."""

GIT_USER_VAR = "TUNELAKE_GIT_CREDENTIAL_USER"
GIT_PASSWORD_VAR = "TUNELAKE_GIT_CREDENTIAL_PASSWORD"
"""Credentials for an https ``code_github`` given without any in its URL (how a service's job gets them)."""
_HELPER = ('!f() { test "$1" = get || exit 0; echo "username=${%s}"; echo "password=${%s}"; }; f'
           % (GIT_USER_VAR, GIT_PASSWORD_VAR))
"""A git credential helper that answers from the environment and never stores anything."""


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


def url_credentials(url: str) -> tuple[str, dict[str, str]]:
    """An https URL without its ``user:password@``, and those as the environment of :data:`_HELPER`.

    Other URLs come back as they are (an ssh user name is no secret, and ssh needs it).
    """
    parts = urlsplit(url) if "://" in url else None
    if parts is None or parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return url, {}
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, {GIT_USER_VAR: unquote(user), GIT_PASSWORD_VAR: unquote(password)}


def _git(args: list[str], cwd: Path | None = None, timeout: float = 600,
         credentials: dict[str, str] | None = None) -> str:
    """Run git; ``credentials`` reach it through the environment only, so they are never written down
    (``credential.helper=`` first drops any helper configured elsewhere, such as one that stores them)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", **(credentials or {})}
    helper = ["-c", "credential.helper=", "-c", f"credential.helper={_HELPER}"] if credentials else []
    try:
        done = subprocess.run(
            ["git", *helper, *args], cwd=cwd, env=env, capture_output=True, timeout=timeout, check=False
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
    """A git URL (https, ssh, ``git@host:path`` or ``file://``) and an optional ref.

    An https URL's ``user:password@`` (or, without one, :data:`GIT_USER_VAR` and
    :data:`GIT_PASSWORD_VAR` from the environment) reaches git through a
    credential helper: the mirror's config keeps the URL without it.
    """

    def __init__(self, url: str, ref: str | None, cache_dir: Path) -> None:
        self.url, self._credentials = url_credentials(url)
        if not self._credentials and self.url.startswith(("https://", "http://")) and GIT_USER_VAR in os.environ:
            self._credentials = {k: os.environ.get(k, "") for k in (GIT_USER_VAR, GIT_PASSWORD_VAR)}
        self.ref = ref
        self.mirror = cache_dir / "git" / (hashlib.sha256(self.url.encode()).hexdigest()[:20] + ".git")

    def snapshot(self) -> Snapshot:
        shown = redact_url(self.url)
        with file_lock(self.mirror.with_suffix(".lock")):
            try:
                if not (self.mirror / "HEAD").exists():
                    _git(["clone", "--quiet", "--mirror", self.url, str(self.mirror)], credentials=self._credentials)
                else:
                    _git(["remote", "update", "--prune"], cwd=self.mirror, credentials=self._credentials)
                ref = self.ref or "HEAD"
                commit = _git(["rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=self.mirror).strip()
                archive = subprocess.run(
                    ["git", "archive", "--format=tar", commit], cwd=self.mirror, capture_output=True, check=True
                ).stdout
            except CodeSourceError as exc:
                raise CodeSourceError(f"code_github {shown!r} (ref {self.ref or 'HEAD'}): {exc}") from None
        refuse_links_out(archive, f"code_github {shown!r} at {commit[:12]}")
        return Snapshot(source=shown, commit=commit, archive=archive)


def refuse_links_out(archive: bytes, shown: str) -> None:
    """Refuse a commit holding a link that names a path outside the tree (the nodes check again, unpacked)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        for member in tar:
            if member.issym() and outside_link(member.name, member.linkname):
                raise CodeSourceError(
                    f"{shown}: {member.name} is a link to {member.linkname}, which is outside the repository, "
                    "so trials would read that path on their own nodes: commit what it names instead, or remove it"
                )


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
                digest.update(rel.encode() + b"\0")
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode):
                    info = tarfile.TarInfo(rel)
                    info.type, info.linkname = tarfile.SYMTYPE, self._link_target(path, rel)
                    tar.addfile(info)
                    digest.update(b"->" + info.linkname.encode())
                    continue
                if stat.S_ISREG(mode):
                    total += path.lstat().st_size
                    if total > MAX_SNAPSHOT_BYTES:  # before reading it: the archive is built in memory
                        raise CodeSourceError(
                            f"code_github {str(self.path)!r}: with {rel} ({path.lstat().st_size / 2**30:.2f} GiB) "
                            f"it holds more than {MAX_SNAPSHOT_BYTES >> 30} GiB; put large data elsewhere "
                            "(S3, a dataset URI) or use a git repository"
                        )
                    digest.update(_file_digest(path))
                    digest.update(b"x" if os.access(path, os.X_OK) else b"-")
                tar.add(path, arcname=rel, recursive=False)
        return Snapshot(source=str(self.path), commit=f"sha256:{digest.hexdigest()[:20]}", archive=buffer.getvalue())

    def _link_target(self, link: Path, rel: str) -> str:
        """Where the link ``rel`` leads, relative to its folder; refused when that is outside the tree."""
        target = Path(os.path.realpath(link))
        if not target.is_relative_to(self.path):
            raise CodeSourceError(
                f"code_github {str(self.path)!r}: {rel} is a link to {os.readlink(link)}, which is outside the "
                "folder, so trials would read that path on their own nodes: copy what it names into the folder, "
                "or remove the link"
            )
        return os.path.relpath(target, link.parent)


def outside_link(name: str, linkname: str) -> bool:
    """Whether the archive member ``name``, a link to ``linkname``, names a path outside the tree."""
    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), linkname))
    return posixpath.isabs(linkname) or target == ".." or target.startswith("../")


def _walk(root: Path):  # type: ignore[no-untyped-def]
    """Every folder, file and link under ``root`` but the skipped folders; links to folders are not entered."""
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        links = [d for d in dirnames if d not in SKIPPED_DIRS and (base / d).is_symlink()]
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and d not in links)
        if base != root:
            yield base
        for name in sorted(filenames + links):
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
