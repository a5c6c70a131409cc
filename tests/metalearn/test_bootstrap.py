"""The dense bootstrap on a tiny corpus, the artifact built from it, and warm starts from that artifact."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATASETS
from tunelake.metalearn import zoo
from tunelake.metalearn.artifact import IN_LAKE, Artifact, load_artifact
from tunelake.metalearn.features import meta_features
from tunelake.metalearn.pool import candidates
from tunelake.metalearn.recommend import recommend
from tunelake.platform.cli.main import main
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow
CORPUS = ("iris", "appendicitis")


def test_the_pool_is_scored_everywhere_and_the_artifact_starts_automl_warm(ray_cluster, tmp_path: Path, capsys,
                                                                           monkeypatch: pytest.MonkeyPatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in CORPUS:
        shutil.copy(DATASETS / f"{name}.parquet", corpus)
    lake_uri = str(tmp_path / "lake")
    boot = ["metalearn", "bootstrap", str(corpus), "--lake", lake_uri, "--max-rows", "120"]
    assert main([*boot, "--limit", "1"]) == 0
    lake = Lake(lake_uri)
    assert query(lake, "SELECT count(*) AS n FROM experiments").to_pylist() == [{"n": 1}]
    assert main(boot) == 0 and main(boot) == 0  # picks up the rest, then finds nothing left
    experiments = query(lake, "SELECT name, status, spec FROM experiments ORDER BY name").to_pylist()
    assert [(e["name"], e["status"]) for e in experiments] == [(f"pool-{n}", "completed") for n in sorted(CORPUS)]
    rows = {e["name"]: (json.loads(e["spec"])["rows"], json.loads(e["spec"])["rows_in_data"]) for e in experiments}
    assert rows["pool-iris"] == (120, 150) and rows["pool-appendicitis"] == (106, 106)  # subsampled above 120
    pool = {json.dumps(c.config, sort_keys=True) for c in candidates()}
    for name in CORPUS:  # every configuration of the pool, once, on every dataset
        trials = query(lake, "SELECT t.params, t.status FROM trials t JOIN experiments e USING (experiment_id) "
                       "WHERE e.name = ?", [f"pool-{name}"]).to_pylist()
        assert {json.dumps(json.loads(t["params"]), sort_keys=True) for t in trials} == pool
        assert len(trials) == len(pool) and sum(t["status"] == "completed" for t in trials) >= len(pool) - 5

    built = tmp_path / "artifact.json"
    assert main(["metalearn", "build", "--lake", lake_uri, "--corpus", str(corpus), "-o", str(built)]) == 0
    artifact = Artifact.model_validate_json(built.read_text())
    history = artifact.tasks["classification"]
    assert sorted(d.name for d in history.datasets) == sorted(CORPUS) and len(history.config_ids) == len(pool)
    assert history.strategy in history.evaluation and len(history.portfolio) == 32
    assert "ships" in capsys.readouterr().out

    # recommend: the meta-model's order, the default among the proposals, each with its evidence
    monkeypatch.setenv("TUNELAKE_PRIOR", str(built))
    assert main(["recommend", str(DATASETS / "haberman.parquet"), "--target", "target", "-k", "4",
                 "--lake", lake_uri, "--format", "json"]) == 0
    proposals = json.loads(capsys.readouterr().out)
    assert len(proposals) == 4 and zoo.active(zoo.default_config()) in [p["config"] for p in proposals]
    evidence = proposals[0]["evidence"][0]
    assert 0 <= evidence["predicted_normalized_score"] <= 1.2 and "expected_accuracy" in evidence
    assert [d["dataset"] for d in evidence["nearest_datasets"]] and "portfolio_rank" in evidence
    assert 0 <= evidence["chance_beats_or_ties_default"] <= 1
    assert main(["recommend", str(DATASETS / "haberman.parquet"), "--target", "target", "-k", "2",
                 "--lake", lake_uri]) == 0
    shown = capsys.readouterr().out
    assert "vs default" in shown and f"{evidence['chance_beats_or_ties_default']:.0%}" in shown

    # a warm AutoML search runs the meta-model's top pick among its first trials (two start at once here)
    assert main(["automl", str(DATASETS / "haberman.parquet"), "--target", "target", "--trials", "5",
                 "--no-early-stop", "--lake", lake_uri, "--quiet"]) == 0
    (warm,) = query(lake, "SELECT experiment_id FROM experiments WHERE name = 'automl-haberman'").to_pylist()
    first = query(lake, "SELECT params FROM trials WHERE experiment_id = ? ORDER BY started_at LIMIT 2",
                  [warm["experiment_id"]]).to_pylist()
    assert proposals[0]["config"] in [json.loads(r["params"]) for r in first], (proposals[0], first)

    # the lake keeps teaching it: fit learns from the search above as well, and is what recommend uses next
    assert main(["metalearn", "fit", "--lake", lake_uri]) == 0
    fitted = load_artifact(lake)
    assert fitted is not None and fitted.tasks["classification"].extra_trials == 5
    assert lake.fs.read_text(IN_LAKE)
    frame = __import__("pandas").read_parquet(DATASETS / "wine_recognition.parquet")
    again = recommend(lake, meta_features(frame, "target", "classification"), "classification", k=3)
    assert len(again) == 3 and again[0].evidence[0]["nearest_datasets"]


def test_evaluate_leave_one_group_out(ray_cluster, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("TUNELAKE_PRIOR", "none")  # so the best score ever seen is one of these searches
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("iris", "wine_recognition"):
        shutil.copy(DATASETS / f"{name}.parquet", corpus)
    out = tmp_path / "eval"
    assert main(["metalearn", "evaluate", str(corpus), "--trials", "3", "-k", "2", "--lake", str(tmp_path / "lake"),
                 "--out", str(out)]) == 0
    result = json.loads((out / "evaluate.json").read_text())
    assert result["summary"]["datasets"] == 2 and result["summary"]["checkpoints"] == [1, 3]
    for curves in result["datasets"]:
        for mode in ("warm", "cold"):
            regret = curves[mode]
            assert all(0 <= r <= 1 for r in regret) and regret == sorted(regret, reverse=True)
        assert min(curves["warm"][-1], curves["cold"][-1]) == 0  # one of them found the best
    assert (out / "evaluate.png").read_bytes()[:4] == b"\x89PNG"
    specs = [json.loads(r["spec"])["automl"] for r in query(Lake(str(tmp_path / "lake")),
                                                            "SELECT spec FROM experiments").to_pylist()]
    assert len(specs) == 4 and sorted(s["warm_start"] for s in specs) == [False, False, True, True]
    assert all(s["k"] == 2 and 1 <= len(s["proposals"]) <= 2 for s in specs if s["warm_start"])
