"""Meta-features on real datasets (tests/data): sane values, the same every time."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import DATASETS
from tunelake.metalearn.dataset import describe, infer_task, record
from tunelake.metalearn.features import FEATURE_SET, STAT_ROWS, meta_features
from tunelake.store.lake import Lake
from tunelake.store.query import query

INDEX = pd.read_csv(DATASETS / "index.csv").set_index("name")


def load(name: str) -> tuple[pd.DataFrame, str]:
    table = pq.read_table(DATASETS / f"{name}.parquet")
    return table.to_pandas(), infer_task(table.column("target"))


@pytest.mark.parametrize("name", ["appendicitis", "anneal", "cylinder_bands", "1027_ESL", "autompg"])
def test_values_are_sane_and_deterministic(name):
    frame, task = load(name)
    row = INDEX.loc[name]
    assert task == row["task"]
    first = meta_features(frame, "target", task)
    assert first == meta_features(frame, "target", task)
    assert all(math.isfinite(v) for v in first.values())
    assert first["n_rows"] == row["n_rows"] and first["n_features"] == row["n_features"]
    assert first["missing_ratio"] == pytest.approx(row["missing_fraction"], abs=1e-3)
    if task == "classification":
        assert first["n_classes"] == row["n_classes"]
        assert 0 < first["class_entropy"] <= 1 and 0 < first["class_imbalance"] <= 1
        assert 0 < first["lm_stump"] <= 1 and 0 < first["lm_1nn"] <= 1
    else:
        assert first["n_classes"] == 0 and first["class_entropy"] == 0
        assert 0 <= first["lm_linear"] <= 1


def test_large_dataset_is_bounded_by_sampling():
    frame, task = load("pendigits")
    assert len(frame) > STAT_ROWS  # large enough that every family of features works on a sample
    start = time.perf_counter()
    features = meta_features(frame, "target", task)
    elapsed = time.perf_counter() - start
    assert features["n_rows"] == INDEX.loc["pendigits", "n_rows"] == len(frame)
    print(f"meta-features of pendigits ({len(frame):,} rows): {elapsed:.2f}s")


def test_registered_datasets_carry_their_meta_features(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    ids = []
    for _ in range(2):
        info = describe(str(DATASETS / "appendicitis.parquet"), "target")
        record(lake, info)
        ids.append(info.dataset_id)
    assert ids[0] == ids[1] and ids[0].startswith("sha256:")
    (row,) = query(lake, "SELECT * FROM datasets").to_pylist()
    assert row["task"] == "classification" and row["feature_set"] == FEATURE_SET
    assert query(lake, "SELECT (meta_features->>'n_rows')::INT AS n FROM datasets").to_pylist() == [{"n": 106}]
