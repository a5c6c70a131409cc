"""Where lake files live, and how a file becomes visible all at once.

A :class:`LakeFileSystem` needs only two things of its backend: write a whole
file so that readers see all of it or nothing, and list files. The public
:meth:`LakeFileSystem.write_table` does the bookkeeping; each backend's
``_publish`` hook does the atomic part (a rename on a local disk).
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tunelake.errors import LakeError, UserInputError

DEFAULT_LAKE = "./tunelake-lake"


class LakeFileSystem(ABC):
    """A lake root on some storage; paths given to methods are relative to it."""

    def __init__(self, uri: str, fs: pafs.FileSystem, root: str) -> None:
        self.uri = uri
        self.fs = fs
        self.root = root.rstrip("/")

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def write_table(self, relative_dir: str, table: pa.Table) -> str:
        """Write ``table`` as a new, uniquely named Parquet file; return its path."""
        name = f"part-{uuid.uuid4().hex}.parquet"
        final = self.path(f"{relative_dir}/{name}")
        try:
            self._publish(table, final)
        except OSError as exc:
            raise LakeError(f"could not write {final}: {exc}; check that the lake root is writable") from exc
        return final

    def list_parquet(self, relative_dir: str) -> list[str]:
        """Every visible Parquet file under ``relative_dir``, in a stable order."""
        selector = pafs.FileSelector(self.path(relative_dir), recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as exc:
            raise LakeError(f"could not list {self.path(relative_dir)}: {exc}") from exc
        return sorted(
            i.path
            for i in infos
            if i.type == pafs.FileType.File and i.base_name.endswith(".parquet") and not i.base_name.startswith(".")
        )

    def read_text(self, relative: str) -> str | None:
        try:
            with self.fs.open_input_stream(self.path(relative)) as f:
                return f.read().decode()
        except FileNotFoundError:
            return None

    def write_text(self, relative: str, text: str) -> None:
        with self.fs.open_output_stream(self.path(relative)) as f:
            f.write(text.encode())

    @abstractmethod
    def _publish(self, table: pa.Table, path: str) -> None:
        """Make ``path`` hold ``table``, visible to readers only when complete."""

    def local_path(self) -> Path | None:
        """The root as a local path, where there is one."""
        return None


class LocalLakeFileSystem(LakeFileSystem):
    """A lake on a local (or mounted) disk: write a hidden temp file, then rename."""

    def __init__(self, uri: str) -> None:
        root = Path(uri.removeprefix("file://")).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise UserInputError(f"lake {uri!r} is a file; pass a directory (or a new path) with --lake")
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(str(root), pafs.LocalFileSystem(), str(root))

    def _publish(self, table: pa.Table, path: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def local_path(self) -> Path:
        return Path(self.root)


def open_filesystem(uri: str | None) -> LakeFileSystem:
    """The lake at ``uri``; ``None`` means ``$TUNELAKE_LAKE``, else ``./tunelake-lake``."""
    uri = uri or os.environ.get("TUNELAKE_LAKE") or DEFAULT_LAKE
    scheme = uri.split("://", 1)[0] if "://" in uri else "file"
    if scheme == "file":
        return LocalLakeFileSystem(uri)
    raise UserInputError(f"lake {uri!r}: scheme {scheme!r} is not supported; use a local path")
