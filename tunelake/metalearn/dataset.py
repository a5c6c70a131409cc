"""Datasets as the lake knows them: a content fingerprint and a basic description.

The fingerprint (of the file's bytes) is the ``dataset_id``, so the same data
under another name or path is recognised as the same dataset by every later
search.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tunelake.errors import UserInputError
from tunelake.paths import cache_root
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


def local_copy(uri: str) -> Path:
    """An ``s3://`` object as a local file, fetched once per object version (its ETag) into
    the cache, so reading it again (meta-features, the search, the refit) costs nothing."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key or key.endswith("/"):
        raise UserInputError(f"dataset {uri!r}: name one object, as s3://bucket/path/data.parquet")
    s3 = boto3.client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        tag = hashlib.sha256(f"{uri}\0{head['ETag']}".encode()).hexdigest()[:16]
        path = cache_root() / "datasets" / tag / posixpath.basename(key)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            s3.download_file(bucket, key, str(tmp))
            os.replace(tmp, path)
    except (BotoCoreError, ClientError) as exc:
        raise UserInputError(f"dataset {uri!r} could not be read ({exc}); check the key, the AWS credentials "
                             "and AWS_ENDPOINT_URL") from None
    return path


def where(data: str) -> str:
    """``data`` as recorded: an ``s3://`` URI as given, a local path made absolute."""
    return data if data.startswith("s3://") else str(Path(data).expanduser().resolve())


def read_table(path: Path) -> pa.Table:
    """A CSV or Parquet file as an Arrow table."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pq.read_table(path)
        if suffix in (".csv", ".tsv", ".txt"):
            return pacsv.read_csv(path, parse_options=_csv_parsing(suffix))
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserInputError(f"dataset {str(path)!r} could not be read: {exc}") from None
    raise UserInputError(f"dataset {str(path)!r}: use a .csv, .tsv or .parquet file")


def table_shape(path: Path) -> tuple[int, list[str]]:
    """The rows and column names of what :func:`read_table` reads, with one batch in memory at a time.

    Every row is parsed, so a file :func:`read_table` refuses is refused here
    too; CSV values are kept as text, since types inferred from the first
    batch alone could refuse a column that a whole read would make a string.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            parquet = pq.ParquetFile(path)
            return sum(batch.num_rows for batch in parquet.iter_batches()), parquet.schema_arrow.names
        if suffix in (".csv", ".tsv", ".txt"):
            names = pacsv.open_csv(path, parse_options=_csv_parsing(suffix)).schema.names
            as_text = pacsv.ConvertOptions(column_types={name: pa.string() for name in names})
            batches = pacsv.open_csv(path, parse_options=_csv_parsing(suffix), convert_options=as_text)
            return sum(batch.num_rows for batch in batches), names
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserInputError(f"dataset {str(path)!r} could not be read: {exc}") from None
    raise UserInputError(f"dataset {str(path)!r}: use a .csv, .tsv or .parquet file")


def _csv_parsing(suffix: str) -> pacsv.ParseOptions:
    return pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")


def infer_task(column: pa.ChunkedArray) -> str:
    """Classification for strings, booleans and small sets of integers; else regression."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_dictionary(kind):
        return "classification"
    if pa.types.is_integer(kind) and len(column.unique()) <= MAX_CLASSES:
        return "classification"
    return "regression"


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset read once: its fingerprint, table, task and meta-features."""

    dataset_id: str
    path: Path
    table: pa.Table
    target: str | None
    task: str | None
    meta_features: dict[str, float] | None


def describe(uri: str, target: str | None, task: str | None = None, base_dir: Path | None = None,
             fields: tuple[str, str] = ("dataset.uri", "dataset.target"),
             check: Callable[[pa.Table, str], None] | None = None) -> DatasetInfo:
    """Read the data at ``uri`` (a local file or an ``s3://`` object) and describe it; ``task`` is
    inferred from ``target`` unless given; ``fields`` name the inputs in error messages; ``check``
    sees the table and the task before the meta-features are computed (it raises to refuse them)."""
    path = local_copy(uri) if uri.startswith("s3://") else Path(uri).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not path.is_file():
        raise UserInputError(f"{fields[0]}: {uri!r} is not a file (looked at {path}); "
                             "pass a CSV or Parquet file")
    table = read_table(path)
    features = None
    if target is not None:
        if target not in table.column_names:
            raise UserInputError(
                f"{fields[1]}: column {target!r} is not in {path.name}; columns: "
                f"{', '.join(table.column_names[:20])}"
            )
        task = task or infer_task(table.column(target))
        if check is not None:
            check(table, task)
        from tunelake.metalearn.features import meta_features

        features = meta_features(table.to_pandas(), target, task)
    return DatasetInfo(fingerprint(path), path, table, target, task, features)


def record(lake: Lake, info: DatasetInfo) -> None:
    """Add ``info`` to the lake's ``datasets`` table."""
    from tunelake.metalearn.features import FEATURE_SET

    lake.append(DATASETS, [{
        "dataset_id": info.dataset_id,
        "name": info.path.stem,
        "source": str(info.path),
        "target": info.target,
        "task": info.task,
        "n_rows": info.table.num_rows,
        "n_features": info.table.num_columns - (1 if info.target else 0),
        "meta_features": json.dumps(info.meta_features) if info.meta_features is not None else None,
        "feature_set": FEATURE_SET if info.meta_features is not None else None,
    }])


