"""The same model-store tests over every store: a local folder and S3."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from tunelake.errors import UserInputError
from tunelake.platform.models.store import (
    LocalModelStore,
    ModelStore,
    S3ModelStore,
    UnsafeModelError,
    inside,
    model_store,
    store_for_uri,
)
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


HOSTILE_NAMES = ["/tmp/owned.txt", "a//b", "x/../../owned.txt", "..", ".", "a/./b", "a\\..\\b", "a\x00b", "a\nb", ""]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_that_leaves_the_destination_is_refused(tmp_path: Path, name: str):
    with pytest.raises(UnsafeModelError, match="would be written outside"):
        inside(tmp_path, name, "s3://b/k")


def test_plain_names_stay_inside(tmp_path: Path):
    assert inside(tmp_path, "sub/model.pkl", "k") == tmp_path / "sub" / "model.pkl"
    assert inside(tmp_path, "..hidden", "k") == tmp_path / "..hidden"


def test_a_link_already_in_the_destination_is_not_followed_out(store: ModelStore, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    uri = store.save(model_dir(tmp_path / "m"), "e", "t")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)  # sub/meta.json would land in outside/
    with pytest.raises(UnsafeModelError, match="sub/meta.json"):
        store.fetch(uri, dest)
    assert list(outside.iterdir()) == [] and not (dest / "weights.bin").exists()


@pytest.mark.parametrize("key_tail", ["/{victim}", "/../../{victim_rel}", "sub\\..\\..\\x"])
def test_s3_keys_that_escape_are_refused_and_nothing_is_written(bucket: str, tmp_path: Path, key_tail: str):
    victim = tmp_path / "victim.txt"
    store = S3ModelStore(bucket, "models")
    trial = tmp_path.name  # the bucket is shared by the parameters of this test
    uri = store.save(model_dir(tmp_path / "m"), "e", trial)
    dest = tmp_path / "a" / "b" / "dest"
    tail = key_tail.format(victim=victim, victim_rel=os.path.relpath(victim, dest))
    boto3.client("s3").put_object(Bucket=bucket, Key=f"models/e/{trial}/{tail}", Body=b"owned")
    with pytest.raises(UnsafeModelError, match="would be written outside") as caught:
        store.fetch(uri, dest)
    assert repr(f"models/e/{trial}/{tail}")[1:-1] in str(caught.value)
    assert not victim.exists() and list(dest.rglob("*")) == []


def test_local_store_refuses_links_inside_a_stored_model(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    store = LocalModelStore(tmp_path / "models")
    uri = store.save(model_dir(tmp_path / "m"), "e", "t")
    (Path(uri) / "peek").symlink_to(secret)
    with pytest.raises(UnsafeModelError, match="'peek'.*link"):
        store.fetch(uri, tmp_path / "dest")
    assert not (tmp_path / "dest" / "peek").exists()


@pytest.mark.slow
def test_a_trial_cannot_make_models_get_write_outside_the_folder(ray_cluster, bucket, tmp_path: Path, capsys):
    """The attack for real: a trial uses its node's S3 credentials to put a key with ``//`` under its own
    model prefix, naming an absolute path; ``tunelake models get`` must refuse it and write nothing there."""
    import json

    from tests.conftest import write_repo
    from tunelake.platform.cli.main import main

    victim = tmp_path / "home" / "owned.txt"
    repo = write_repo(tmp_path / "repo", {"evil.py": f"""
        import os, pathlib, boto3
        key = "models/" + os.environ["TUNELAKE_EXPERIMENT_ID"] + "/" + os.environ["TUNELAKE_TRIAL_ID"] + "/"
        boto3.client("s3").put_object(Bucket={bucket!r}, Key=key + "/" + {str(victim)!r}, Body=b"owned")
        pathlib.Path(os.environ["TUNELAKE_MODEL_DIR"], "model.txt").write_text("fine")
        print("score=1")
        """})
    spec = {"code_github": str(repo), "command": "python evil.py", "primary_result_key": "score",
            "search": {"x": {"type": "grid", "values": [1]}}, "optimizer": {"algorithm": "grid"},
            "model_storage": {"type": "s3", "bucket": bucket, "prefix": "models"}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    lake = str(tmp_path / "lake")
    assert main(["run", str(path), "--lake", lake, "--quiet"]) == 0
    victim.parent.mkdir()
    from tunelake.store.lake import Lake
    from tunelake.store.query import query

    (exp,) = query(Lake(lake), "SELECT experiment_id FROM experiments").to_pylist()
    capsys.readouterr()
    assert main(["models", "get", exp["experiment_id"], "--to", str(tmp_path / "to"), "--lake", lake]) == 2
    err = capsys.readouterr().err
    assert "would be written outside" in err and str(victim) in err
    assert not victim.exists() and not (tmp_path / "to" / "model.txt").exists()
