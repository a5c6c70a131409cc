"""A trial's model dir, read without ever leaving it.

The model dir is written by the trial, that is by code tunelake does not
trust: a link in it (or the dir itself being a link) would have the store copy
whatever the node can read (a key, a token) into the store and on to S3. So
:class:`ModelFiles` refuses a model dir that is, lies under or holds a link
(or a pipe, a device...), and opens every file through handles of the folders
above it, never following a link: a folder swapped for a link after the check
is refused too, not read through.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from tunelake.errors import UserInputError

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # NONBLOCK: a pipe put there must not hang the open


class UnsafeModelError(UserInputError):
    """A model holds a name or a link that would read or write outside its folder."""


class ModelFiles:
    """The plain files under ``root`` (``sizes``: relative name -> bytes), and a safe way to open each.

    A context manager: it holds ``root`` open until closed. Neither ``root`` nor
    a folder above it may be a link (pass a resolved path); a model dir that is,
    or that holds a link, raises :class:`UnsafeModelError` naming it. A
    ``root`` that does not exist holds no files.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.abspath(root))
        self._fd: int | None = None
        try:
            self._fd = self._descend(os.open("/", _DIR), self.root.parts[1:], Path("/"))
        except FileNotFoundError:
            self.sizes: dict[str, int] = {}
            return
        self.sizes = dict(self._walk(self._fd, ""))

    def __enter__(self) -> ModelFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def open(self, rel: str) -> BinaryIO:
        """The file ``rel`` (a name from :attr:`sizes`), opened without following any link."""
        if self._fd is None or rel not in self.sizes:
            raise KeyError(rel)
        *folders, name = rel.split("/")
        parent = self._descend(os.dup(self._fd), folders, self.root)
        try:
            fd = self._open_at(parent, name, _FILE, self.root / rel)
        finally:
            os.close(parent)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._refused(self.root / rel, "is not a plain file")
        return os.fdopen(fd, "rb")

    def _descend(self, fd: int, parts: tuple[str, ...] | list[str], base: Path) -> int:
        """The folder ``parts`` names below the open folder ``fd`` (which it takes over), refusing links."""
        path = base
        try:
            for part in parts:
                path = path / part
                step = self._open_at(fd, part, _DIR, path)
                os.close(fd)
                fd = step
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open_at(self, dir_fd: int, name: str, flags: int, path: Path) -> int:
        try:
            return os.open(name, flags, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
                raise
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            raise self._refused(path, f"is a link (to {os.readlink(name, dir_fd=dir_fd)})")
        raise self._refused(path, "is not a folder" if flags & os.O_DIRECTORY else "is not a plain file")

    def _walk(self, fd: int, prefix: str) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        with os.scandir(fd) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = prefix + entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(st.st_mode):
                    found.append((rel, st.st_size))
                    continue
                sub = self._open_at(fd, entry.name, _DIR, self.root / rel)  # refuses all but a folder
                try:
                    found += self._walk(sub, rel + "/")
                finally:
                    os.close(sub)
        return found

    def _refused(self, path: Path, what: str) -> UnsafeModelError:
        return UnsafeModelError(
            f"model_dir {self.root}: {path} {what}; the model is not saved, since a link could copy files "
            "from outside model_dir into the store: write the model files themselves into model_dir, not links"
        )
