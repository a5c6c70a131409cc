"""Datasets as the lake knows them: a content fingerprint and a basic description.

The fingerprint (of the file's bytes) is the ``dataset_id``, so the same data
under another name or path is recognised as the same dataset by every later
search.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tunelake.errors import UserInputError
from tunelake.platform.spec import Dataset
from tunelake.store.lake import Lake
from tunelake.store.schema import DATASETS

MAX_CLASSES = 50
"""A target with at most this many distinct integer or string values is a class label."""


def fingerprint(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()[:24]


def read_table(path: Path) -> pa.Table:
    """A CSV or Parquet file as an Arrow table."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pq.read_table(path)
        if suffix in (".csv", ".tsv", ".txt"):
            delimiter = "\t" if suffix == ".tsv" else ","
            return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserInputError(f"dataset {str(path)!r} could not be read: {exc}") from None
    raise UserInputError(f"dataset {str(path)!r}: use a .csv, .tsv or .parquet file")


def infer_task(column: pa.ChunkedArray) -> str:
    """Classification for strings, booleans and small sets of integers; else regression."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_dictionary(kind):
        return "classification"
    if pa.types.is_integer(kind) and len(column.unique()) <= MAX_CLASSES:
        return "classification"
    return "regression"


def register(lake: Lake, dataset: Dataset, base_dir: Path | None = None) -> str:
    """Describe ``dataset`` in the lake's ``datasets`` table; return its ``dataset_id``."""
    path = Path(dataset.uri).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not path.is_file():
        raise UserInputError(f"dataset.uri: {dataset.uri!r} is not a file (looked at {path})")
    dataset_id = fingerprint(path)
    table = read_table(path)
    task = dataset.task
    if dataset.target is not None:
        if dataset.target not in table.column_names:
            raise UserInputError(
                f"dataset.target: column {dataset.target!r} is not in {path.name}; columns: "
                f"{', '.join(table.column_names[:20])}"
            )
        task = task or infer_task(table.column(dataset.target))
    features = None
    if dataset.target is not None and task is not None:
        from tunelake.metalearn.features import FEATURE_SET, meta_features

        features = {"set": FEATURE_SET, "values": meta_features(table.to_pandas(), dataset.target, task)}
    lake.append(DATASETS, [{
        "dataset_id": dataset_id,
        "name": path.stem,
        "source": str(path),
        "target": dataset.target,
        "task": task,
        "n_rows": table.num_rows,
        "n_features": table.num_columns - (1 if dataset.target else 0),
        "meta_features": json.dumps(features["values"]) if features else None,
        "feature_set": features["set"] if features else None,
    }])
    return dataset_id
