"""Durable homes for the models trials write to their ``model_dir``.

:meth:`ModelStore.save` does the checks and the retries (is there anything to
save, did every file arrive with its size); each store's ``_put``,
``_verify``, ``_fetch`` and ``_check`` hooks move the bytes. Models land at
``<root>/<experiment_id>/<trial_id>/``.

A stored model is written by a trial, that is by code tunelake does not
trust. :meth:`ModelStore.save` reads the model dir through
:class:`~tunelake.platform.models.files.ModelFiles`, so a link there (to a key,
a token) is refused, never copied. And a trial holds its node's S3 credentials and can put any key under its
prefix. So :meth:`ModelStore.fetch` treats every name it finds there as
hostile: :func:`inside` admits only plain relative names that land under the
destination, and a store refuses the whole model (writing nothing) when one
name does not.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from tunelake.errors import UserInputError
from tunelake.platform.models.files import ModelFiles, UnsafeModelError
from tunelake.platform.spec import ModelStorage
from tunelake.retry import retry


class ModelStore(ABC):
    """Where models go; picklable, so trials on any node can use it."""

    transient: tuple[type[BaseException], ...] = (OSError,)
    attempts = 1

    def check(self) -> None:
        """Raise :class:`UserInputError` now if models could not be saved later."""
        self._check()

    def save(self, local_dir: Path, experiment_id: str, trial_id: str) -> str | None:
        """Copy ``local_dir`` to the store and return its URI; ``None`` if it holds no files.

        Raises :class:`UnsafeModelError` (nothing copied) when ``local_dir``
        is, lies under or holds a link, and :class:`OSError` when the copy
        still fails after the retries.
        """
        with ModelFiles(local_dir) as model:
            if not model.sizes:
                return None
            uri = self.uri_for(experiment_id, trial_id)

            def put_and_verify() -> None:
                self._put(model, uri)
                self._verify(model, uri)

            try:
                retry(put_and_verify, f"saving the model to {uri}", self.transient, attempts=self.attempts)
            except self.transient as exc:
                raise OSError(f"could not save the model to {uri} after {self.attempts} attempts: {exc}") from exc
        return uri

    def fetch(self, uri: str, dest: Path) -> list[Path]:
        """Copy the model at ``uri`` into ``dest``; return the files written.

        Every file lands inside ``dest``; a model holding a name that would
        not (``..``, an absolute path, an empty segment, a link) is refused
        with :class:`UnsafeModelError` before anything is written.
        """
        dest.mkdir(parents=True, exist_ok=True)
        return self._fetch(uri, dest)

    @abstractmethod
    def uri_for(self, experiment_id: str, trial_id: str) -> str: ...

    @abstractmethod
    def _check(self) -> None: ...

    @abstractmethod
    def _put(self, model: ModelFiles, uri: str) -> None: ...

    @abstractmethod
    def _verify(self, model: ModelFiles, uri: str) -> None:
        """Raise one of :attr:`transient` unless every file arrived with its size."""

    @abstractmethod
    def _fetch(self, uri: str, dest: Path) -> list[Path]: ...


class LocalModelStore(ModelStore):
    """Models in a folder (a local disk, or a file system every node mounts)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def uri_for(self, experiment_id: str, trial_id: str) -> str:
        return str(self.root / experiment_id / trial_id) if trial_id else str(self.root / experiment_id)

    def _check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserInputError(f"model_storage: cannot create {self.root}: {exc}") from None

    def _put(self, model: ModelFiles, uri: str) -> None:
        dest = Path(uri)
        if dest.exists():
            shutil.rmtree(dest)
        for rel in model.sizes:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with model.open(rel) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)

    def _verify(self, model: ModelFiles, uri: str) -> None:
        for rel, size in model.sizes.items():
            copy = Path(uri) / rel
            if not copy.is_file() or copy.stat().st_size != size:
                raise OSError(f"model file {copy} is missing or incomplete after the copy")

    def _fetch(self, uri: str, dest: Path) -> list[Path]:
        source = Path(uri)
        if not source.is_dir() or source.is_symlink():
            raise UserInputError(f"model {uri} is not there (was it cleaned up?)")
        plan = []
        for folder, dirs, names in os.walk(source):  # never follows links
            for name in dirs + names:
                path = Path(folder) / name
                rel = path.relative_to(source).as_posix()
                if path.is_symlink() or not (path.is_dir() or path.is_file()):
                    raise UnsafeModelError(f"model {uri} holds {rel!r}, which is a link or not a plain file; "
                                           "refusing to fetch it (the trial that wrote it may be hostile)")
                if path.is_file():
                    plan.append((path, inside(dest, rel, uri)))
        for path, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target, follow_symlinks=False)
        return sorted(target for _, target in plan)


class S3ModelStore(ModelStore):
    """Models under ``s3://bucket/prefix``, through boto3 (endpoint and
    credentials from the usual AWS variables and files)."""

    attempts = 6

    def __init__(self, bucket: str, prefix: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.transient = (OSError, BotoCoreError, ClientError)
        self._client_obj: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client_obj"] = None  # clients are per process
        return state

    @property
    def _client(self) -> Any:
        if self._client_obj is None:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session()  # a fresh session reads the current environment
            self._client_obj = session.client("s3", config=Config(retries={"max_attempts": 3, "mode": "standard"}))
        return self._client_obj

    def _key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p)

    def uri_for(self, experiment_id: str, trial_id: str) -> str:
        return f"s3://{self.bucket}/{self._key(experiment_id, trial_id)}"

    def _split(self, uri: str) -> str:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if bucket != self.bucket:
            raise UserInputError(f"model {uri} is not in bucket {self.bucket}")
        return key.rstrip("/")

    def _check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            raise UserInputError(
                "model_storage: no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or a profile / instance role)"
            ) from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket", "NotFound"):
                raise UserInputError(f"model_storage.bucket: bucket {self.bucket!r} does not exist; create it first") \
                    from None
            if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise UserInputError(
                    f"model_storage.bucket: access to {self.bucket!r} denied ({code}); check the AWS credentials"
                ) from None
            raise UserInputError(f"model_storage.bucket: {self.bucket!r}: {exc}") from None
        except BotoCoreError as exc:
            raise UserInputError(f"model_storage: cannot reach S3 ({exc}); check AWS_ENDPOINT_URL and the network") \
                from None

    def _put(self, model: ModelFiles, uri: str) -> None:
        base = self._split(uri)
        for rel in model.sizes:
            with model.open(rel) as src:
                self._client.upload_fileobj(src, self.bucket, f"{base}/{rel}")

    def _verify(self, model: ModelFiles, uri: str) -> None:
        base = self._split(uri)
        for rel, expected in model.sizes.items():
            key = f"{base}/{rel}"
            size = self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
            if size != expected:
                raise OSError(f"s3://{self.bucket}/{key} has {size} bytes, expected {expected}")

    def _fetch(self, uri: str, dest: Path) -> list[Path]:
        base = self._split(uri) + "/"
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base)
        keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        if not keys:
            raise UserInputError(f"model {uri} is not there (no objects under it)")
        plan = [(key, inside(dest, key[len(base):], f"s3://{self.bucket}/{key}")) for key in keys]
        for key, target in plan:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._client.download_file(self.bucket, key, str(target))
        return sorted(target for _, target in plan)


def inside(dest: Path, rel: str, source: str) -> Path:
    """The file ``rel`` names under ``dest``, or :class:`UnsafeModelError` naming ``source``.

    Only a plain relative name made of non-empty ``/``-separated segments is
    admitted: no ``..`` or ``.``, no leading ``/``, no empty segment (``a//b``:
    an S3 key can hold one, and ``dest / "/tmp/x"`` is ``/tmp/x``), no
    backslash, no NUL, no control characters. The path must also still land
    under ``dest`` once links already in ``dest`` are followed.
    """
    segments = rel.split("/")
    bad = (not rel or any(s in ("", ".", "..") for s in segments)
           or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in rel))
    target = dest.joinpath(*segments) if not bad else dest
    root = dest.resolve()
    if bad or target.resolve() == root or not target.resolve().is_relative_to(root):
        raise UnsafeModelError(f"model file {source!r} would be written outside {dest} (its name is {rel!r}); "
                               "refusing to fetch this model: the trial that stored it may be hostile, "
                               "so inspect the store by hand")
    return target


def model_store(storage: ModelStorage, lake_uri: str, lake_local: Path | None) -> ModelStore:
    """The store for a spec's ``model_storage``; without a path or bucket, the lake's ``models/``."""
    if storage.type == "s3":
        assert storage.bucket is not None  # the spec requires it
        return S3ModelStore(storage.bucket, storage.prefix)
    if storage.path:
        return store_for_uri(storage.path)
    if lake_local is not None:
        return LocalModelStore(lake_local / "models")
    return store_for_uri(f"{lake_uri.rstrip('/')}/models")


def store_for_uri(uri: str) -> ModelStore:
    """The store that holds ``uri`` (``s3://bucket/prefix`` or a path)."""
    if uri.startswith("s3://"):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        return S3ModelStore(bucket, prefix)
    if "://" in uri and not uri.startswith("file://"):
        raise UserInputError(f"model storage {uri!r}: use a local path or s3://bucket/prefix")
    return LocalModelStore(Path(uri.removeprefix("file://")).expanduser().resolve())
