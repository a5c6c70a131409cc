"""The svm example with its models and its lake on S3 (a real S3 API server on loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.conftest import EXAMPLES
from tunelake.platform.cli.main import main
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


def test_svm_with_models_and_lake_on_s3(ray_cluster, bucket, tmp_path: Path, capsys):
    spec = json.loads((EXAMPLES / "svm" / "experiment.json").read_text())
    spec.update(code_github=str(EXAMPLES / "svm"), name="svm-s3")
    spec["optimizer"].update(num_samples=4, scheduler="fifo")
    spec["model_storage"] = {"type": "s3", "bucket": bucket, "prefix": "models", "model_dir": "saved_model",
                             "clean_model_dir_flag": True}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    lake_uri = f"s3://{bucket}/lake"

    assert main(["run", str(path), "--lake", lake_uri, "--quiet"]) == 0
    lake = Lake(lake_uri)
    (exp,) = query(lake, "SELECT experiment_id, status, best_trial_id FROM experiments").to_pylist()
    assert exp["status"] == "completed"
    trials = query(lake, "SELECT trial_id, status, model_uri FROM trials").to_pylist()
    assert len(trials) == 4 and {t["status"] for t in trials} == {"completed"}
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="models/")["Contents"]}
    for t in trials:
        assert t["model_uri"] == f"s3://{bucket}/models/{exp['experiment_id']}/{t['trial_id']}"
        assert f"models/{exp['experiment_id']}/{t['trial_id']}/model.pkl" in keys
    lake_keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="lake/")["Contents"]}
    assert any(k.startswith(f"lake/trials/experiment_id={exp['experiment_id']}/") for k in lake_keys)
    assert query(lake, "SELECT count(*) AS n FROM results").to_pylist() == [{"n": 12}]

    capsys.readouterr()
    assert main(["sql", "SELECT status, count(*) AS n FROM trials GROUP BY 1", "--lake", lake_uri,
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"status": "completed", "n": 4}]
    assert main(["models", "get", exp["experiment_id"], "--to", str(tmp_path / "best"), "--lake", lake_uri]) == 0
    assert (tmp_path / "best" / "model.pkl").stat().st_size > 0
    assert exp["best_trial_id"] in capsys.readouterr().out
    assert main(["lake", "compact", "--lake", lake_uri]) == 0
    assert query(lake, "SELECT count(*) AS n FROM results").to_pylist() == [{"n": 12}]


def test_missing_model_bucket_fails_before_any_trial(ray_cluster, s3_server, lake_uri, tmp_path: Path):
    spec = json.loads((EXAMPLES / "svm" / "experiment.json").read_text())
    spec.update(code_github=str(EXAMPLES / "svm"))
    spec["model_storage"] = {"type": "s3", "bucket": "no-such-bucket"}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert main(["run", str(path), "--lake", lake_uri, "--quiet"]) == 2
    (exp,) = query(Lake(lake_uri), "SELECT status, error FROM experiments").to_pylist()
    assert exp["status"] == "failed" and "no-such-bucket" in exp["error"]
    assert query(Lake(lake_uri), "SELECT count(*) AS n FROM trials").to_pylist() == [{"n": 0}]


def test_s3_outage_of_30s_mid_run_loses_nothing(ray_cluster, s3_server, bucket, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch):
    """The lake's S3 endpoint goes away for 30 s while trials finish; every row lands once it is back."""
    import threading
    import time

    from tests.conftest import write_repo
    from tests.gate import Gate

    gate = Gate(int(s3_server.rsplit(":", 1)[1]))
    direct = boto3.client("s3", endpoint_url=s3_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", gate.endpoint)  # the driver's lake goes through the gate
    repo = write_repo(tmp_path / "repo", {"t.sh": "sleep 1\necho score=$1\n"})
    spec = {"code_github": str(repo), "command": "sh t.sh {x}", "primary_result_key": "score",
            "search": {"x": {"type": "grid", "values": list(range(12))}},
            "optimizer": {"algorithm": "grid", "max_concurrent_trials": 2}}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    outage: dict[str, float] = {}

    def shut_after_first_trial_file() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            listed = direct.list_objects_v2(Bucket=bucket, Prefix="lake/trials/").get("Contents", [])
            if len(listed) >= 2:
                break
            time.sleep(0.2)
        gate.shut()
        outage["start"] = time.monotonic()
        time.sleep(30)
        outage["before"] = len(direct.list_objects_v2(Bucket=bucket, Prefix="lake/").get("Contents", []))
        gate.open()
        outage["end"] = time.monotonic()

    injector = threading.Thread(target=shut_after_first_trial_file)
    injector.start()
    started = time.monotonic()
    code = main(["run", str(path), "--lake", f"s3://{bucket}/lake", "--quiet"])
    finished = time.monotonic()
    injector.join()
    assert code == 0
    assert started < outage["start"] and outage["end"] < finished  # the run spanned the whole outage
    after = len(direct.list_objects_v2(Bucket=bucket, Prefix="lake/").get("Contents", []))
    assert after > outage["before"]  # rows held during the outage were written after it
    lake = Lake(f"s3://{bucket}/lake")
    got = query(lake, "SELECT status, count(*) AS n FROM trials GROUP BY 1").to_pylist()
    assert got == [{"status": "completed", "n": 12}]
    assert query(lake, "SELECT count(*) AS n FROM results").to_pylist() == [{"n": 12}]
    assert query(lake, "SELECT count(*) AS n FROM trials_log").to_pylist() == [{"n": 24}]  # running + completed, once
    (exp,) = query(lake, "SELECT status, best_value FROM experiments").to_pylist()
    assert exp == {"status": "completed", "best_value": 11.0}
