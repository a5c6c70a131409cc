"""The same model-store tests over every store: a local folder and S3."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from tunelake.errors import UserInputError
from tunelake.platform.modelstore import LocalModelStore, ModelStore, S3ModelStore, model_store, store_for_uri
from tunelake.platform.spec import ModelStorage


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ModelStore:
    if request.param == "local":
        return LocalModelStore(tmp_path / "models")
    return S3ModelStore(request.getfixturevalue("bucket"), "runs/models")


def model_dir(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(os.urandom(300_000))
    (root / "sub" / "meta.json").write_text('{"ok": true}')
    return root


def test_save_then_fetch_round_trips(store: ModelStore, tmp_path: Path):
    store.check()
    src = model_dir(tmp_path / "m")
    uri = store.save(src, "exp-1", "trial-1")
    assert uri == store.uri_for("exp-1", "trial-1") and "exp-1/trial-1" in uri
    files = store_for_uri(uri).fetch(uri, tmp_path / "back")
    assert [p.relative_to(tmp_path / "back").as_posix() for p in files] == ["sub/meta.json", "weights.bin"]
    assert (tmp_path / "back" / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()


def test_nothing_to_save(store: ModelStore, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    assert store.save(tmp_path / "empty", "e", "t") is None
    assert store.save(tmp_path / "absent", "e", "t") is None


def test_fetching_what_is_not_there(store: ModelStore, tmp_path: Path):
    with pytest.raises(UserInputError, match="is not there"):
        store.fetch(store.uri_for("e", "nope"), tmp_path / "x")


def test_s3_objects_land_under_the_prefix(bucket: str, tmp_path: Path):
    S3ModelStore(bucket, "p/q").save(model_dir(tmp_path / "m"), "e", "t")
    keys = sorted(o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["p/q/e/t/sub/meta.json", "p/q/e/t/weights.bin"]


def test_missing_bucket_and_bad_credentials_fail_before_trials(s3_server, bucket, monkeypatch):
    with pytest.raises(UserInputError, match="bucket 'absent-bucket' does not exist"):
        S3ModelStore("absent-bucket", "m").check()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(UserInputError, match="no AWS credentials"):
        S3ModelStore(bucket, "m").check()


def test_failing_upload_is_retried_then_reported(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    store = S3ModelStore("b", "m")
    store.attempts = 2
    with pytest.raises(OSError, match="after 2 attempts"):
        store.save(model_dir(tmp_path / "m"), "e", "t")


def test_default_is_the_lakes_models_folder(tmp_path: Path):
    local = model_store(ModelStorage(), str(tmp_path), tmp_path)
    assert isinstance(local, LocalModelStore) and local.root == tmp_path / "models"
    s3 = model_store(ModelStorage(), "s3://b/lake", None)
    assert isinstance(s3, S3ModelStore) and s3.uri_for("e", "t") == "s3://b/lake/models/e/t"
    explicit = model_store(ModelStorage(type="s3", bucket="bk", prefix="pre"), str(tmp_path), tmp_path)
    assert explicit.uri_for("e", "t") == "s3://bk/pre/e/t"
