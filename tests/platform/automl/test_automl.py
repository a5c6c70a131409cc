"""AutoML end to end on real datasets (tests/data), and warm starts from a real lake."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DATASETS, TEST_INSTANCE_TYPE
from tunelake.metalearn import zoo
from tunelake.metalearn.ensemble import Ensemble
from tunelake.platform.automl.run import STOPPED
from tunelake.platform.cli.main import main
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow


def test_automl_then_recommend_then_warm_start(ray_cluster, lake_uri, tmp_path: Path, capsys,
                                              monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUNELAKE_PRIOR", "none")  # the lake alone: the nearest-neighbour baseline over its searches
    # a small history: two classification datasets searched cold
    for name, final in (("appendicitis", ["--ensemble"]), ("hepatitis", [])):
        assert main(["automl", str(DATASETS / f"{name}.parquet"), "--target", "target", "--trials", "6",
                     "--no-warm-start", "--lake", lake_uri, "--quiet", *final]) == 0
    out = capsys.readouterr().out
    assert "leaderboard" in out and "model.pkl" in out
    lake = Lake(lake_uri)
    experiments = query(lake, "SELECT experiment_id, dataset_id, status, primary_metric FROM experiments").to_pylist()
    assert len(experiments) == 2 and all(e["status"] == "completed" and e["dataset_id"] for e in experiments)
    trials = query(lake, "SELECT params, value, model_uri, status FROM trials").to_pylist()
    assert len(trials) == 12 and all(json.loads(t["params"])["family"] in zoo.FAMILIES for t in trials)
    # every fold lands as a result as it ends; ASHA may stop a trial after its first folds
    folds = query(lake, "SELECT t.trial_id, any_value(t.status) AS status, any_value(t.reason) AS reason, "
                  "any_value(t.iterations) AS iterations, count(r.step) AS steps FROM trials t "
                  "LEFT JOIN results r USING (experiment_id, trial_id) GROUP BY t.trial_id").to_pylist()
    for t in folds:
        if t["status"] == "completed":
            assert t["steps"] == t["iterations"] == 3, t
        else:
            assert t["status"] == "stopped" and t["reason"] == STOPPED and t["steps"] == t["iterations"] < 3, t
    best_models = [t["model_uri"] for t in trials if t["model_uri"]]
    assert len(best_models) == 2
    (uri,) = [r["model_uri"] for r in query(
        lake, "SELECT t.model_uri FROM trials t JOIN experiments e USING (experiment_id) "
        "WHERE e.name = 'automl-appendicitis' AND t.model_uri IS NOT NULL").to_pylist()]
    with open(Path(uri, "model.pkl"), "rb") as f:
        model = pickle.load(f)
    frame = pd.read_parquet(DATASETS / "appendicitis.parquet")
    assert len(model.predict(zoo.prepare_frame(frame.drop(columns=["target"])))) == len(frame)
    # the final model is what members.json says: finished trials of this search, weights summing to one
    members = json.loads(Path(uri, "members.json").read_text())
    finished = {r["trial_id"]: json.loads(r["params"]) for r in query(
        lake, "SELECT t.trial_id, t.params FROM trials t JOIN experiments e USING (experiment_id) "
        "WHERE e.name = 'automl-appendicitis' AND t.status = 'completed'").to_pylist()}
    assert members and all(finished[m["trial_id"]] == m["params"] for m in members)
    assert sum(m["weight"] for m in members) == pytest.approx(1.0, abs=1e-3)
    assert isinstance(model, Ensemble) == (len(members) > 1)
    if len(members) > 1:
        assert [w for w, _ in model.members] == pytest.approx([m["weight"] for m in members], abs=1e-3)
    # without --ensemble: the best trial's pipeline alone
    (alone,) = query(lake, "SELECT t.trial_id, t.model_uri FROM trials t JOIN experiments e USING (experiment_id) "
                     "WHERE e.name = 'automl-hepatitis' AND t.model_uri IS NOT NULL").to_pylist()
    assert [m["trial_id"] for m in json.loads(Path(alone["model_uri"], "members.json").read_text())] == \
        [alone["trial_id"]]

    # recommend for a third dataset: diverse families, the robust default among them, evidence attached
    assert main(["recommend", str(DATASETS / "haberman.parquet"), "--target", "target", "-k", "4",
                 "--lake", lake_uri, "--format", "json"]) == 0
    proposals = json.loads(capsys.readouterr().out)
    families = [p["config"]["family"] for p in proposals]
    assert 2 <= len(proposals) <= 4 and len(set(families)) >= 2
    assert {"family": "hgb", **zoo.FAMILIES["hgb"].default} in [p["config"] for p in proposals]
    assert any(p["evidence"] and "distance" in p["evidence"][0] for p in proposals)

    # the warm search starts from those proposals (Tune's points_to_evaluate)
    assert main(["automl", str(DATASETS / "haberman.parquet"), "--target", "target", "--trials", "5",
                 "--lake", lake_uri, "--quiet"]) == 0
    (warm,) = query(lake, "SELECT experiment_id, spec FROM experiments WHERE name = 'automl-haberman'").to_pylist()
    proposed = json.loads(warm["spec"])["automl"]["proposals"]
    assert 2 <= len(proposed) <= 5  # no more proposals than trials, though the default asks for 10
    first = query(lake, "SELECT params FROM trials WHERE experiment_id = ? ORDER BY started_at LIMIT ?",
                  [warm["experiment_id"], len(proposed)]).to_pylist()
    tried = [json.loads(r["params"]) for r in first]
    for config in proposed:
        assert any(t["family"] == config["family"] and all(
            t.get(k) == pytest.approx(v) if isinstance(v, float) else t.get(k) == v for k, v in config.items())
            for t in tried), (config, tried)


def test_bad_automl_input_is_exit_2(tmp_path: Path, lake_uri, capsys):
    assert main(["automl", str(tmp_path / "missing.csv"), "--target", "y", "--lake", lake_uri]) == 2
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    assert main(["automl", str(data), "--target", "nope", "--lake", lake_uri]) == 2
    assert "column 'nope' is not in d.csv" in capsys.readouterr().err


@pytest.mark.parametrize("budget", [10, 1])
def test_a_time_budget_always_ends_with_a_stored_model(ray_cluster, lake_uri, tmp_path: Path, capsys, budget):
    """At 1 s no search trial can finish: the default the driver fits while the search starts is the model."""
    import pickle

    import pandas as pd

    data = DATASETS / "haberman.parquet"
    assert main(["automl", str(data), "--target", "target", "--time-budget", str(budget), "--lake", lake_uri,
                 "--quiet"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("model ")]
    path = Path(line.split()[1])
    assert path.name == "model.pkl" and "nan" not in str(path)
    frame = pd.read_parquet(data)
    model = pickle.loads(path.read_bytes())
    assert len(model.predict(frame.drop(columns=["target"]).head(5))) == 5
    trials = {r["trial_id"]: r for r in query(Lake(lake_uri), "SELECT trial_id, status, model_uri FROM trials")
              .to_pylist()}
    assert trials["default"]["status"] == "completed"  # the driver's default is a trial like the others
    assert [t for t, r in trials.items() if r["model_uri"]] != []
    if budget == 1:
        assert trials["default"]["model_uri"] and str(path).startswith(trials["default"]["model_uri"])


def test_families_limit_the_search_and_the_torch_family_delivers_a_model(ray_cluster, lake_uri, capsys):
    pytest.importorskip("torch")
    data = DATASETS / "cylinder_bands.parquet"  # categorical columns: the network embeds them
    # the test cluster's two GPUs are fake (torch sees none and trains on the CPU): the resource logic is real
    assert main(["automl", str(data), "--target", "target", "--families", "torch", "--trials", "2",
                 "--gpus-per-trial", "0.5", "--no-warm-start", "--lake", lake_uri, "--quiet"]) == 0, \
        capsys.readouterr().err
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("model ")]
    rows = query(Lake(lake_uri), "SELECT t.* FROM trials t JOIN experiments e USING (experiment_id) "
                 "WHERE e.name = 'automl-cylinder_bands' AND t.trial_id != 'default'").to_pylist()
    assert len(rows) == 2 and {json.loads(r["params"])["family"] for r in rows} == {"torch"}
    # each search trial reserved half a GPU of the test cluster's (it says it is a g4dn.12xlarge): priced
    assert all((r["gpus"], r["instance_type"]) == (0.5, TEST_INSTANCE_TYPE) and r["cost_usd"] > 0 for r in rows)
    (spent,) = [x for x in out.splitlines() if x.startswith("cost ")]
    assert "GPU-hours" in spent and "on-demand" in spent
    model = pickle.loads(Path(line.split()[1]).read_bytes())
    frame = pd.read_parquet(data)
    assert len(model.predict(zoo.prepare_frame(frame.drop(columns=["target"]).head(7)))) == 7
    assert main(["automl", str(data), "--target", "target", "--families", "lgbm,nope", "--lake", lake_uri]) == 2
    assert "families: 'nope' is not a model family" in capsys.readouterr().err
    # more GPUs than any node has: refused at once, not left pending forever
    assert main(["automl", str(data), "--target", "target", "--families", "torch", "--gpus-per-trial", "4",
                 "--lake", lake_uri, "--quiet"]) == 2
    assert "a trial needs 1 CPUs and 4 GPUs, but no node of the Ray cluster has that much" in \
        capsys.readouterr().err


def _csv(path: Path, target: list) -> Path:
    lines = ["a,b,y"] + [f"{i},{i % 3},{'' if v is None else v}" for i, v in enumerate(target)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("case, target, flags, says", [
    ("regression metric", [i * 0.5 for i in range(40)], ["--metric", "f1_macro"],
     "--metric 'f1_macro' does not fit this regression target 'y'"),
    ("binary metric, 3 classes", [i % 3 for i in range(40)], ["--metric", "f1"],
     "--metric 'f1' does not fit this classification target 'y'"),
    ("clustering metric", [i % 2 for i in range(40)], ["--metric", "adjusted_rand_score"], "compares clusterings"),
    ("unknown metric", [i % 2 for i in range(40)], ["--metric", "nope"], "'nope' is not a scikit-learn scorer"),
    ("constant target", [1] * 40, [], "has the same value (1) in every row"),
    ("all-NaN target", [None] * 40, [], "0 of 40 rows have a value"),
    ("3 rows", [0, 1, 0], [], "3 of 3 rows have a value; cross-validation with 3 folds needs at least 10"),
])
def test_data_the_search_cannot_learn_from_is_exit_2_before_any_trial(tmp_path: Path, lake_uri, capsys, case,
                                                                        target, flags, says):
    data = _csv(tmp_path / "d.csv", target)
    assert main(["automl", str(data), "--target", "y", "--lake", lake_uri, *flags]) == 2, case
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and "tl_objective" not in err
    assert not Path(lake_uri, "trials").exists() and not Path(lake_uri, "experiments").exists()


def test_automl_reads_its_data_from_s3(ray_cluster, bucket, lake_uri, capsys):
    import boto3

    from tunelake.metalearn.dataset import fingerprint

    local = DATASETS / "appendicitis.parquet"
    boto3.client("s3").upload_file(str(local), bucket, "data/appendicitis.parquet")
    uri = f"s3://{bucket}/data/appendicitis.parquet"
    assert main(["automl", uri, "--target", "target", "--trials", "2", "--no-warm-start", "--lake", lake_uri,
                 "--quiet"]) == 0
    (exp,) = query(Lake(lake_uri), "SELECT dataset_id, spec, status FROM experiments").to_pylist()
    assert exp["status"] == "completed" and json.loads(exp["spec"])["automl"]["data"] == uri
    assert exp["dataset_id"] == fingerprint(local)  # the same bytes, wherever they live
    capsys.readouterr()
    assert main(["automl", f"s3://{bucket}/data/missing.parquet", "--target", "target", "--lake", lake_uri]) == 2
    assert "could not be read" in capsys.readouterr().err
