"""``tunelake metalearn bootstrap``: a fixed budget of AutoML trials on each dataset of a corpus.

Resumable: a dataset whose search already completed in the lake is skipped,
so the command can run in chunks (``--limit``) and be started again after an
interruption. The results become the shipped prior (``tunelake metalearn prior``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

from tunelake.cluster.connect import ray_session
from tunelake.errors import UserInputError
from tunelake.metalearn.dataset import fingerprint
from tunelake.platform.automl.run import automl
from tunelake.platform.spec import AutoMLSpec
from tunelake.store import catalog
from tunelake.store.lake import Lake


def index_rows(directory: Path) -> list[dict[str, str]]:
    """The corpus' ``index.csv`` (one row per dataset: file, n_rows, group, ...), or none."""
    index = directory / "index.csv"
    if not index.is_file():
        return []
    with open(index) as f:
        return list(csv.DictReader(f))


def corpus(directory: Path) -> list[Path]:
    """The corpus' Parquet files, smallest first (``index.csv`` order when there is one)."""
    rows = index_rows(directory)
    if rows:
        rows.sort(key=lambda r: int(r.get("n_rows") or 0))
        return [directory / r["file"] for r in rows if (directory / r["file"]).is_file()]
    files = sorted(directory.glob("*.parquet"), key=lambda p: p.stat().st_size)
    if not files:
        raise UserInputError(f"{directory} holds no .parquet datasets (and no index.csv)")
    return files


def seed_for(dataset_id: str) -> int:
    """A search seed of the dataset's own: with one seed for all, every dataset would try the
    same configurations, and the prior would hold a few families only."""
    return int(dataset_id.removeprefix("sha256:")[:8], 16)


def bootstrap(directory: Path, lake_uri: str | None, trials: int, limit: int | None, target: str = "target",
              time_budget_s: float | None = None, say: Callable[[str], None] = print) -> int:
    """Search each not-yet-searched dataset; return how many were searched now."""
    lake = Lake(lake_uri)
    done = catalog.automl_datasets_done(lake)
    searched = 0
    with ray_session(None):
        for path in corpus(directory):
            if limit is not None and searched >= limit:
                break
            dataset_id = fingerprint(path)
            if dataset_id in done:
                continue
            spec = AutoMLSpec(data=str(path), target=target, trials=trials, time_budget_s=time_budget_s,
                              warm_start=False, seed=seed_for(dataset_id), early_stop=False)
            result = automl(spec, lake=lake.uri)
            say(f"{path.stem}: {result.status}, best {result.best_value}")
            searched += 1
    return searched
