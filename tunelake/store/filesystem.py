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
from tunelake.paths import default_lake
from tunelake.retry import retry


class LakeFileSystem(ABC):
    """A lake root on some storage; paths given to methods are relative to it."""

    write_attempts = 1

    def __init__(self, uri: str, fs: pafs.FileSystem, root: str) -> None:
        self.uri = uri
        self.fs = fs
        self.root = root.rstrip("/")

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}" if relative else self.root

    def relative(self, path: str) -> str:
        """The inverse of :meth:`path`."""
        return path.removeprefix(f"{self.root}/")

    def write_table(self, relative_dir: str, table: pa.Table, prefix: str = "part-",
                    row_group_size: int | None = None) -> str:
        """Write ``table`` as a new, uniquely named Parquet file; return its path.

        Transient storage errors are retried; the file name stays the same
        across attempts, so a retry never leaves a second copy.
        """
        name = f"{prefix}{uuid.uuid4().hex}.parquet"
        final = self.path(f"{relative_dir}/{name}")
        try:
            retry(lambda: self._publish(table, final, row_group_size), f"writing {final}", (OSError,),
                  attempts=self.write_attempts)
        except OSError as exc:
            raise LakeError(f"could not write {final}: {exc}; check that the lake root is writable") from exc
        return final

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            try:
                self.fs.delete_file(path)
            except FileNotFoundError:
                pass

    def parquet_infos(self, relative_dir: str, recursive: bool = True) -> list[pafs.FileInfo]:
        """Every visible Parquet file under ``relative_dir`` (path, size, modification time), in a stable order."""
        selector = pafs.FileSelector(self.path(relative_dir), recursive=recursive, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as exc:
            raise LakeError(f"could not list {self.path(relative_dir)}: {exc}") from exc
        return sorted(
            (i for i in infos
             if i.type == pafs.FileType.File and i.base_name.endswith(".parquet") and not i.base_name.startswith(".")),
            key=lambda i: i.path,
        )

    def read_text(self, relative: str) -> str | None:
        try:
            with self.fs.open_input_stream(self.path(relative)) as f:
                return f.read().decode()
        except FileNotFoundError:
            return None

    def move(self, path: str, relative_dest: str) -> str:
        """Move the file at ``path`` to ``relative_dest`` (under the root); return its new path."""
        dest = self.path(relative_dest)
        self.fs.create_dir(dest.rsplit("/", 1)[0], recursive=True)
        self.fs.move(path, dest)
        return dest

    @abstractmethod
    def write_text(self, relative: str, text: str) -> None:
        """Make ``relative`` hold ``text``, visible to readers only when complete (creating folders as needed)."""

    @abstractmethod
    def _publish(self, table: pa.Table, path: str, row_group_size: int | None = None) -> None:
        """Make ``path`` hold ``table``, visible to readers only when complete."""

    def local_path(self) -> Path | None:
        """The root as a local path, where there is one."""
        return None


class LocalLakeFileSystem(LakeFileSystem):
    """A lake on a local (or mounted) disk: write a hidden temp file, then rename.

    Opening one creates nothing: the root folder appears with the first file written.
    """

    def __init__(self, uri: str) -> None:
        root = Path(uri.removeprefix("file://")).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise UserInputError(f"lake {uri!r} is a file; pass a directory (or a new path) with --lake")
        super().__init__(str(root), pafs.LocalFileSystem(), str(root))

    def write_text(self, relative: str, text: str) -> None:
        target = Path(self.path(relative))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")  # one per writer: writers may race
        try:
            tmp.write_text(text)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def _publish(self, table: pa.Table, path: str, row_group_size: int | None = None) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        try:
            pq.write_table(table, tmp, row_group_size=row_group_size)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def local_path(self) -> Path:
        return Path(self.root)


class S3LakeFileSystem(LakeFileSystem):
    """A lake under ``s3://bucket/prefix``.

    Each file is one ``PutObject`` of the whole Parquet file (serialized in
    memory first): S3 shows an object only once it is complete, so no rename
    is needed. Reads go through Arrow's S3 filesystem. The endpoint and
    credentials follow the AWS conventions (``AWS_ENDPOINT_URL``,
    ``AWS_ACCESS_KEY_ID``, ``AWS_DEFAULT_REGION``, ...).
    """

    write_attempts = 8

    def __init__(self, uri: str) -> None:
        try:
            fs, path = pafs.FileSystem.from_uri(uri)
        except (pa.ArrowInvalid, OSError) as exc:
            raise UserInputError(f"lake {uri!r}: {exc}") from None
        self.bucket = path.split("/", 1)[0]
        try:
            info = fs.get_file_info(self.bucket)
        except OSError as exc:
            raise UserInputError(
                f"lake {uri!r}: cannot reach bucket {self.bucket!r} ({exc}); check AWS credentials and "
                "AWS_ENDPOINT_URL"
            ) from None
        if info.type == pafs.FileType.NotFound:
            raise UserInputError(f"lake {uri!r}: bucket {self.bucket!r} does not exist; create it first")
        super().__init__(uri.rstrip("/"), fs, path)
        self._client_obj = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_client_obj": None}  # clients are per process

    @property
    def _client(self):  # type: ignore[no-untyped-def]
        if self._client_obj is None:
            import boto3

            self._client_obj = boto3.session.Session().client("s3")
        return self._client_obj

    def _put(self, path: str, body: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = path.split("/", 1)[1]
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body)
        except (BotoCoreError, ClientError) as exc:
            raise OSError(str(exc)) from exc

    def _publish(self, table: pa.Table, path: str, row_group_size: int | None = None) -> None:
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, row_group_size=row_group_size)
        self._put(path, buffer.getvalue().to_pybytes())

    def write_text(self, relative: str, text: str) -> None:
        self._put(self.path(relative), text.encode())


def open_filesystem(uri: str | None) -> LakeFileSystem:
    """The lake at ``uri``; ``None`` means :func:`tunelake.paths.default_lake`."""
    uri = uri or default_lake()
    scheme = uri.split("://", 1)[0] if "://" in uri else "file"
    if scheme == "file":
        return LocalLakeFileSystem(uri)
    if scheme == "s3":
        return S3LakeFileSystem(uri)
    raise UserInputError(f"lake {uri!r}: scheme {scheme!r} is not supported; use a local path or s3://bucket/prefix")
