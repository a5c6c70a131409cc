"""The meta-learning artifact: the dense history, the portfolio and the fitted meta-model, typed and versioned.

Built offline by ``tunelake metalearn build`` from a lake in which
``tunelake metalearn bootstrap`` scored the candidate pool on a corpus; one
ships inside the package, so a fresh install starts warm. A user's lake
keeps teaching it: ``tunelake metalearn fit`` refits the meta-model on the
shipped history plus every AutoML trial of the lake and keeps the result in
the lake (``_metalearn/artifact.json``), where the recommender looks first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from tunelake.metalearn.features import FEATURE_SET
from tunelake.metalearn.loo import LEGACY, SHIPPABLE
from tunelake.metalearn.metamodel import FEATURE_NAMES, MetaModel
from tunelake.metalearn.pool import POOL_VERSION

ARTIFACT_VERSION = 3
SHIPPED = Path(__file__).with_name("artifact.json")
IN_LAKE = "_metalearn/artifact.json"


class HistoryDataset(BaseModel):
    dataset_id: str
    name: str
    group: str
    meta_features: dict[str, float]
    scores: list[float | None]  # one per config id of its task, None where the configuration failed


class TaskHistory(BaseModel):
    """One task's matrix, what was learnt from it, and how that was judged."""

    metric: str
    config_ids: list[str]
    datasets: list[HistoryDataset]
    portfolio: list[str] = Field(description="config ids in the greedy portfolio's order")
    meta_model: str = Field(description="LightGBM model text, zlib + base64: (meta-features, configuration) -> "
                            "normalized score")
    guard_model: str | None = Field(None, description="LightGBM classifier text, zlib + base64: (meta-features, "
                                    "configuration) -> chance of beating or tying the untuned default")
    feature_names: list[str] = Field(default_factory=lambda: list(FEATURE_NAMES))
    strategy: str = Field("metamodel+portfolio", description="the ordering the leave-one-group-out numbers chose")
    evaluation: dict[str, Any] = Field(default_factory=dict, description="leave-one-group-out figures per strategy")
    extra_trials: int = Field(0, description="AutoML trials of a lake the meta-model also learnt from")

    @field_validator("strategy")
    @classmethod
    def _an_ordering_propose_knows(cls, value: str) -> str:
        if value not in (*SHIPPABLE, *LEGACY):
            raise ValueError(f"unknown ordering {value!r} (one of: {', '.join(SHIPPABLE)}): rebuild the artifact "
                             "with this version's `tunelake metalearn build`")
        return value


class Artifact(BaseModel):
    version: int = ARTIFACT_VERSION
    feature_set: str = FEATURE_SET
    pool: str = POOL_VERSION
    configs: dict[str, dict[str, Any]]
    tasks: dict[str, TaskHistory]

    def model(self, task: str) -> MetaModel | None:
        history = self.tasks.get(task)
        if history is None or history.feature_names != list(FEATURE_NAMES):
            return None  # made for other features: its trees would read the wrong columns
        return MetaModel(history.meta_model)


def _parse(text: str) -> Artifact | None:
    artifact = Artifact.model_validate_json(text)
    usable = artifact.version == ARTIFACT_VERSION and artifact.feature_set == FEATURE_SET
    return artifact if usable else None


def load_artifact(lake: Any = None, path: Path | None = None) -> Artifact | None:
    """The artifact to warm-start from: ``path``; else the one ``tunelake metalearn fit`` kept in ``lake``;
    else ``$TUNELAKE_PRIOR``; else the shipped one. ``None`` when there is none or it was made for other
    meta-features; ``TUNELAKE_PRIOR=none`` switches the history off (the lake's own trials still count)."""
    chosen = os.environ.get("TUNELAKE_PRIOR")
    if path is None and chosen == "none":
        return None
    if path is None and lake is not None:
        text = lake.fs.read_text(IN_LAKE)
        if text:
            return _parse(text)
    path = path or (Path(chosen) if chosen else SHIPPED)
    return _parse(path.read_text()) if path.is_file() else None


def save_to_lake(lake: Any, artifact: Artifact) -> str:
    """Keep ``artifact`` in ``lake`` (written whole); its path there."""
    lake.fs.write_text(IN_LAKE, artifact.model_dump_json())
    return lake.fs.path(IN_LAKE)
