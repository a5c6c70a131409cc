"""The prior that ships with tunelake: earlier AutoML results on public datasets.

Built offline from a lake (``tunelake metalearn prior``) after
``tunelake metalearn bootstrap`` searched a corpus; read online by the
recommender next to the user's own lake, so a fresh install starts warm.
It is a typed, versioned artifact: each dataset's meta-features (with the
feature set that made them) and its best configurations with their scores.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tunelake.metalearn.features import FEATURE_SET
from tunelake.store import catalog
from tunelake.store.lake import Lake

PRIOR_VERSION = 1
PRIOR_PATH = Path(__file__).with_name("prior.json")
TOP_CONFIGS = 10


class PriorDataset(BaseModel):
    dataset_id: str
    name: str
    task: str
    meta_features: dict[str, float]
    trials: list[tuple[dict[str, Any], float]]


class Prior(BaseModel):
    version: int = PRIOR_VERSION
    feature_set: str = FEATURE_SET
    datasets: list[PriorDataset]


def build_prior(lake: Lake) -> Prior:
    """The best configurations per dataset of every AutoML search in ``lake``."""
    rows = catalog.prior_rows(lake, FEATURE_SET)
    by_dataset: dict[str, PriorDataset] = {}
    for r in rows:
        entry = by_dataset.setdefault(r["dataset_id"], PriorDataset(
            dataset_id=r["dataset_id"], name=r["name"], task=r["task"],
            meta_features=json.loads(r["meta_features"] or "{}"), trials=[]))
        if len(entry.trials) < TOP_CONFIGS:
            entry.trials.append((json.loads(r["params"]), float(r["value"])))
    return Prior(datasets=sorted(by_dataset.values(), key=lambda d: d.name))


def load_prior(path: Path | None = None) -> Prior | None:
    """The prior (``$TUNELAKE_PRIOR``, else the shipped one), or ``None`` when there is none or it
    was made for other meta-features. ``TUNELAKE_PRIOR=none`` switches it off."""
    chosen = os.environ.get("TUNELAKE_PRIOR")
    if chosen == "none":
        return None
    path = path or (Path(chosen) if chosen else PRIOR_PATH)
    if not path.is_file():
        return None
    prior = Prior.model_validate_json(path.read_text())
    return prior if prior.version == PRIOR_VERSION and prior.feature_set == FEATURE_SET else None
