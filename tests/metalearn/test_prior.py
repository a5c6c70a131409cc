"""Bootstrap a tiny corpus, build the prior from it, and start warm from the prior alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import DATASETS
from tunelake.metalearn.features import meta_features
from tunelake.metalearn.prior import Prior, load_prior
from tunelake.metalearn.recommend import recommend
from tunelake.platform.cli.main import main
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


def test_bootstrap_is_resumable_and_the_prior_warms_an_empty_lake(ray_cluster, tmp_path: Path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("iris", "wine_recognition"):
        shutil.copy(DATASETS / f"{name}.parquet", corpus)
    lake = str(tmp_path / "lake")
    assert main(["metalearn", "bootstrap", str(corpus), "--trials", "3", "--limit", "1", "--lake", lake]) == 0
    assert query(Lake(lake), "SELECT count(*) AS n FROM experiments").to_pylist() == [{"n": 1}]
    assert main(["metalearn", "bootstrap", str(corpus), "--trials", "3", "--lake", lake]) == 0  # picks up the rest
    assert main(["metalearn", "bootstrap", str(corpus), "--trials", "3", "--lake", lake]) == 0  # nothing left
    assert query(Lake(lake), "SELECT count(*) AS n FROM experiments").to_pylist() == [{"n": 2}]

    prior_path = tmp_path / "prior.json"
    assert main(["metalearn", "prior", "--lake", lake, "-o", str(prior_path)]) == 0
    prior = Prior.model_validate_json(prior_path.read_text())
    assert sorted(d.name for d in prior.datasets) == ["iris", "wine_recognition"]
    assert all(1 <= len(d.trials) <= 3 and d.meta_features["n_rows"] > 0 for d in prior.datasets)

    monkeypatch.setenv("TUNELAKE_PRIOR", str(prior_path))
    assert load_prior() == prior
    empty = Lake(str(tmp_path / "empty"))
    frame = __import__("pandas").read_parquet(DATASETS / "appendicitis.parquet")
    proposals = recommend(empty, meta_features(frame, "target", "classification"), "classification", k=3)
    assert len(proposals) >= 2 and any(p.evidence and "distance" in p.evidence[0] for p in proposals)
    monkeypatch.setenv("TUNELAKE_PRIOR", "none")
    assert len(recommend(empty, meta_features(frame, "target", "classification"), "classification", k=3)) == 1


def test_evaluate_leave_one_group_out(ray_cluster, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("TUNELAKE_PRIOR", "none")  # so the best score ever seen is one of these searches
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("iris", "wine_recognition"):
        shutil.copy(DATASETS / f"{name}.parquet", corpus)
    out = tmp_path / "eval"
    assert main(["metalearn", "evaluate", str(corpus), "--trials", "3", "--lake", str(tmp_path / "lake"),
                 "--out", str(out)]) == 0
    result = __import__("json").loads((out / "evaluate.json").read_text())
    assert result["summary"]["datasets"] == 2 and result["summary"]["checkpoints"] == [1, 3]
    for curves in result["datasets"]:
        for mode in ("warm", "cold"):
            regret = curves[mode]
            assert all(0 <= r <= 1 for r in regret) and regret == sorted(regret, reverse=True)
        assert min(curves["warm"][-1], curves["cold"][-1]) == 0  # one of them found the best
    assert (out / "evaluate.png").read_bytes()[:4] == b"\x89PNG"
    experiments = query(Lake(str(tmp_path / "lake")), "SELECT count(*) AS n FROM experiments").to_pylist()
    assert experiments == [{"n": 4}]
