"""``tunelake metalearn bootstrap``: the dense history, one fixed candidate pool scored on every dataset of a corpus.

Each dataset gets one experiment whose trials are the pool's configurations
(:mod:`tunelake.metalearn.pool`), each scored by the same seeded k-fold
cross-validation: ordinary AutoML trials in the lake, with the dataset's id,
so the lake is the matrix (datasets x configurations) that the portfolio and
the meta-model learn from. Datasets larger than ``max_rows`` are subsampled
(stratified for classes) so the whole corpus fits in hours on a small
machine; the meta-features are those of the whole dataset.

Resumable: a dataset whose pool experiment completed for this pool version
is skipped, so the command runs in chunks (``--limit``) and starts again
after an interruption (an unfinished dataset is scored again whole).
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Callable

from tunelake.cluster.connect import ray_session
from tunelake.errors import UserInputError
from tunelake.ids import new_experiment_id
from tunelake.metalearn import zoo
from tunelake.metalearn.build import POOL_COMMAND as COMMAND
from tunelake.metalearn.dataset import record, where
from tunelake.metalearn.pool import POOL_VERSION, candidates
from tunelake.platform.automl.run import ZOO_CODE, Data, metric_of, read_data
from tunelake.platform.automl.trial import automl_trial, zoo_space
from tunelake.platform.experiments.lifecycle import ExperimentRecord
from tunelake.platform.spec import AutoMLSpec
from tunelake.platform.tune.runner import SearchPlan, TuneStorage, run_search
from tunelake.platform.tune.searchers import conditional_tpe
from tunelake.platform.tune.trainable import function_trainable
from tunelake.store import catalog
from tunelake.store.lake import Lake

MAX_ROWS = 2_000
FOLDS = 3
SEED = 0


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
    """A search seed of the dataset's own (the evaluation's searches start from it)."""
    return int(dataset_id.removeprefix("sha256:")[:8], 16)


def subsample(data: Data, max_rows: int, seed: int = SEED) -> Data:
    """At most ``max_rows`` rows of ``data``, stratified by class where every class can keep a row."""
    if len(data.x) <= max_rows:
        return data
    from sklearn.model_selection import train_test_split

    counts = data.y.value_counts()
    stratify = data.y if data.task == "classification" and counts.min() >= 2 and len(counts) <= max_rows // 2 \
        else None
    x, _, y, _ = train_test_split(data.x, data.y, train_size=max_rows, random_state=seed, stratify=stratify)
    return replace(data, x=x.reset_index(drop=True), y=y.reset_index(drop=True))


def score_pool(lake: Lake, path: Path, target: str = "target", max_rows: int = MAX_ROWS, folds: int = FOLDS,
               seed: int = SEED) -> str:
    """One experiment: every pool configuration that fits the data's size, scored on ``path``; its id."""
    spec = AutoMLSpec(data=str(path), target=target, folds=folds, seed=seed, warm_start=False, early_stop=False)
    full = read_data(spec)
    record(lake, full.info)
    data = subsample(full, max_rows, seed)
    metric = metric_of(spec, data.task)
    families = zoo.families_for(len(data.x))
    points = [zoo.complete(c.config) for c in candidates() if c.config["family"] in families]
    experiment_id = new_experiment_id(f"pool-{path.stem}")
    experiment = ExperimentRecord(lake, experiment_id, {
        "name": f"pool-{path.stem}", "primary_metric": metric, "mode": "max", "algorithm": "grid", "scheduler": "fifo",
        "num_samples": len(points), "dataset_id": full.info.dataset_id, "command": COMMAND,
        "code_source": "tunelake.metalearn.zoo",
        "code_commit": "sha256:" + hashlib.sha256(ZOO_CODE.read_bytes()).hexdigest()[:24],
        "spec": json.dumps({"pool": POOL_VERSION, "data": where(str(path)), "task": data.task, "metric": metric,
                            "rows": len(data.x), "rows_in_data": len(full.x), "folds": folds, "seed": seed}),
    }, "")
    with experiment.running():
        run_search(SearchPlan(
            experiment_id=experiment_id, lake=lake, metric=metric, mode="max",
            trainable=function_trainable(automl_trial, data=(data.x, data.y), task=data.task, metric=metric,
                                         folds=folds, seed=seed),
            searcher=conditional_tpe(zoo_space(families), points, "max", seed), num_samples=len(points),
            trial_count=len(points), storage=TuneStorage(tempfile.mkdtemp(prefix="tunelake-tune-")),
            stop_reason="stopped", dataset_id=full.info.dataset_id, params_view=zoo.active))
        experiment.finish()
    return experiment_id


def bootstrap(directory: Path, lake_uri: str | None, limit: int | None, target: str = "target",
              max_rows: int = MAX_ROWS, folds: int = FOLDS, say: Callable[[str], None] = print) -> int:
    """Score the pool on each dataset not yet scored for this pool version; return how many were scored now."""
    from tunelake.metalearn.dataset import fingerprint

    lake = Lake(lake_uri)
    done = catalog.pool_datasets_done(lake, COMMAND, POOL_VERSION)
    scored = 0
    with ray_session(None):
        for path in corpus(directory):
            if limit is not None and scored >= limit:
                break
            if fingerprint(path) in done:
                continue
            experiment_id = score_pool(lake, path, target, max_rows, folds)
            counts = catalog.status_counts(lake, experiment_id)
            say(f"{path.stem}: {counts}")
            scored += 1
    return scored
