"""Durable homes for the models trials write to their ``model_dir``.

:meth:`ModelStore.save` does the checks (is there anything to save, did the
copy arrive whole); each store's ``_put`` and ``_verify`` hooks move the bytes.
Models land at ``<root>/<experiment_id>/<trial_id>/``.
"""

from __future__ import annotations

import shutil
from abc import ABC, abstractmethod
from pathlib import Path

from tunelake.errors import UserInputError
from tunelake.platform.spec import ModelStorage


class ModelStore(ABC):
    """Where models go; picklable, so trials on any node can use it."""

    def save(self, local_dir: Path, experiment_id: str, trial_id: str) -> str | None:
        """Copy ``local_dir`` to the store and return its URI; ``None`` if it holds no files."""
        files = [p for p in local_dir.rglob("*") if p.is_file()] if local_dir.is_dir() else []
        if not files:
            return None
        uri = self.uri_for(experiment_id, trial_id)
        self._put(local_dir, experiment_id, trial_id)
        self._verify(local_dir, experiment_id, trial_id)
        return uri

    @abstractmethod
    def uri_for(self, experiment_id: str, trial_id: str) -> str: ...

    @abstractmethod
    def _put(self, local_dir: Path, experiment_id: str, trial_id: str) -> None: ...

    @abstractmethod
    def _verify(self, local_dir: Path, experiment_id: str, trial_id: str) -> None:
        """Raise :class:`OSError` unless every file of ``local_dir`` arrived with its size."""


class LocalModelStore(ModelStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def uri_for(self, experiment_id: str, trial_id: str) -> str:
        return str(self.root / experiment_id / trial_id)

    def _put(self, local_dir: Path, experiment_id: str, trial_id: str) -> None:
        dest = Path(self.uri_for(experiment_id, trial_id))
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(local_dir, dest, symlinks=False)

    def _verify(self, local_dir: Path, experiment_id: str, trial_id: str) -> None:
        dest = Path(self.uri_for(experiment_id, trial_id))
        for src in local_dir.rglob("*"):
            if src.is_file():
                copy = dest / src.relative_to(local_dir)
                if not copy.is_file() or copy.stat().st_size != src.stat().st_size:
                    raise OSError(f"model file {copy} is missing or incomplete after the copy")


def model_store(storage: ModelStorage, lake_root: Path | None) -> ModelStore:
    """The store for a spec's ``model_storage``; local without a path means ``<lake>/models``."""
    if storage.type == "local":
        if storage.path:
            return LocalModelStore(Path(storage.path).expanduser().resolve())
        if lake_root is None:
            raise UserInputError("model_storage: the lake is not on a local disk; set model_storage.path")
        return LocalModelStore(lake_root / "models")
    raise UserInputError(
        f"model_storage.type {storage.type!r} is not available in this version; use type 'local'"
    )
