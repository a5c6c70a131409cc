"""The same model-store tests over every store: a local folder and S3."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from tunelake.errors import UserInputError
from tunelake.platform.models.files import ModelFiles
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


def _plant(model: Path, attack: str, secret: Path) -> None:
    """What a hostile trial does to its model dir, done by a process of its own."""
    script = {
        "dir_is_link": f"import os; os.symlink({str(secret.parent)!r}, {str(model)!r})",
        "file_link": f"import os; os.makedirs({str(model)!r}); os.symlink({str(secret)!r}, {str(model / 'model.pkl')!r})",
        "folder_link": f"import os; os.makedirs({str(model)!r}); open({str(model / 'ok.txt')!r}, 'w').write('ok');"
                       f"os.symlink({str(secret.parent)!r}, {str(model / 'sub')!r})",
    }[attack]
    subprocess.run([sys.executable, "-c", script], check=True)


def _stored_bytes(store: ModelStore, tmp_path: Path) -> bytes:
    if isinstance(store, LocalModelStore):
        return b"".join(p.read_bytes() for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else b""
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    return b"".join(s3.get_object(Bucket=store.bucket, Key=o["Key"])["Body"].read() for o in listed)


@pytest.mark.parametrize("attack", ["dir_is_link", "file_link", "folder_link"])
def test_a_link_in_the_model_dir_is_refused_and_no_secret_is_stored(store: ModelStore, tmp_path: Path, attack: str):
    secret = tmp_path / "home" / "id_rsa"
    secret.parent.mkdir()
    secret.write_bytes(b"SECRET-KEY-BYTES-" + tmp_path.name.encode())
    model = tmp_path / "trial" / "model"
    model.parent.mkdir()
    _plant(model, attack, secret)
    link = {"dir_is_link": model, "file_link": model / "model.pkl", "folder_link": model / "sub"}[attack]
    with pytest.raises(UnsafeModelError, match=f"{link} is a link \\(to {secret.parent if attack != 'file_link' else secret}\\)"):
        store.save(model, "e", tmp_path.name)
    assert b"SECRET-KEY-BYTES-" + tmp_path.name.encode() not in _stored_bytes(store, tmp_path)


def test_a_folder_above_the_model_dir_that_is_a_link_is_refused(store: ModelStore, tmp_path: Path):
    secret = tmp_path / "home" / "out" / "key"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"SECRET-ABOVE")
    (tmp_path / "trial").symlink_to(tmp_path / "home")  # model_dir "trial/out" now leads to home/out
    with pytest.raises(UnsafeModelError, match="trial is a link"):
        store.save(tmp_path / "trial" / "out", "e", tmp_path.name)
    assert b"SECRET-ABOVE" not in _stored_bytes(store, tmp_path)


def test_a_folder_swapped_for_a_link_after_the_check_is_not_read_through(tmp_path: Path):
    secret = tmp_path / "home" / "meta.json"
    secret.parent.mkdir()
    secret.write_text("SECRET")
    model = model_dir(tmp_path / "m")
    with ModelFiles(model) as files:
        assert sorted(files.sizes) == ["sub/meta.json", "weights.bin"]
        shutil.rmtree(model / "sub")
        (model / "sub").symlink_to(secret.parent)
        with pytest.raises(UnsafeModelError, match="sub is a link"):
            files.open("sub/meta.json")


def test_a_pipe_in_the_model_dir_is_refused_not_waited_on(store: ModelStore, tmp_path: Path):
    model = model_dir(tmp_path / "m")
    os.mkfifo(model / "pipe")
    with pytest.raises(UnsafeModelError, match="pipe is not a folder"):
        store.save(model, "e", "t")


@pytest.mark.slow
def test_a_trial_that_links_a_secret_into_its_model_dir_is_logged_with_the_reason(ray_cluster, tmp_path: Path):
    """For real: a Ray trial links a secret file into ``model_dir``; its row is logged, saying why no model
    was stored, and the store holds no byte of the secret."""
    import json

    from tests.conftest import write_repo
    from tunelake.platform.cli.main import main
    from tunelake.store.lake import Lake
    from tunelake.store.query import query

    secret = tmp_path / "home" / "token.txt"
    secret.parent.mkdir()
    secret.write_text("SECRET-OF-THE-NODE")
    repo = write_repo(tmp_path / "repo", {"evil.py": f"""
        import os
        os.symlink({str(secret)!r}, os.path.join(os.environ["TUNELAKE_MODEL_DIR"], "model.pkl"))
        print("score=1")
        """})
    spec = {"code_github": str(repo), "command": "python evil.py", "primary_result_key": "score",
            "search": {"x": {"type": "grid", "values": [1]}}, "optimizer": {"algorithm": "grid"}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    lake = tmp_path / "lake"
    assert main(["run", str(path), "--lake", str(lake), "--quiet"]) == 0
    (row,) = query(Lake(str(lake)), "SELECT status, reason, model_uri FROM trials").to_pylist()
    assert row["model_uri"] is None
    assert "model not saved" in row["reason"] and "model.pkl is a link" in row["reason"], row
    stored = [p.read_bytes() for p in (lake / "models").rglob("*") if p.is_file()] if (lake / "models").exists() else []
    assert not any(b"SECRET-OF-THE-NODE" in b for b in stored)
