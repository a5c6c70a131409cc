"""The pool, the matrix's normalization, the greedy portfolio, the meta-model and the artifact, without Ray."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from tunelake.metalearn import zoo
from tunelake.metalearn.artifact import ARTIFACT_VERSION, Artifact, load_artifact, save_to_lake
from tunelake.metalearn.build import build_artifact, matrix_of, merge, reaches_target
from tunelake.metalearn.loo import SHIPPABLE, STRATEGIES, leave_one_group_out
from tunelake.metalearn.matrix import Matrix, normalized_errors
from tunelake.metalearn.metamodel import FEATURE_NAMES, MetaModel, config_vector, design
from tunelake.metalearn.pool import DRAWS, POOL_VERSION, candidates
from tunelake.metalearn.portfolio import greedy, interleave, safe_first, sure_first
from tunelake.metalearn.propose import propose
from tunelake.store.lake import Lake


def test_the_pool_is_fixed_large_and_holds_every_familys_default():
    pool = candidates()
    assert pool == candidates()  # seeded: the same every time
    assert len(pool) >= 100 and len({c.config_id for c in pool}) == len(pool)
    configs = [c.config for c in pool]
    for family in DRAWS:  # pool-1's families; the torch family came later and joins a later pool
        assert zoo.active(zoo.default_config(family)) in configs, family
    assert set(DRAWS) == set(zoo.FAMILIES) - {"torch"}
    assert all(zoo.complete(c) is not None for c in configs)  # each one a configuration the zoo can build
    assert {c["family"] for c in configs} >= {"lgbm", "xgb", "mlp"}
    assert len({(c["layers"], c["width"]) for c in configs if c["family"] == "mlp"}) > 5  # architectures vary


def test_normalized_error_is_zero_at_the_best_one_at_the_median_and_for_failures():
    errors = normalized_errors(np.array([[0.9, 0.8, 0.7, 0.6, 0.5, np.nan], [0.5] * 6]))
    assert errors[0].tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0, 1.0, 1.0])  # the median of the runs is 0.7
    assert errors[1].tolist() == [0.0] * 6  # all equal: all as good as the best


def test_the_greedy_portfolio_covers_what_its_first_pick_misses():
    errors = np.array([[0.0, 0.2, 1.0], [1.0, 0.2, 0.0], [0.0, 0.2, 1.0], [1.0, 0.2, 0.0]])
    assert greedy(errors, 3)[:1] == [1]  # the best single configuration on average
    assert sorted(greedy(errors, 3)[1:]) == [0, 2]  # then the two specialists
    assert greedy(errors, 2, weights=np.array([1.0, 0.0, 1.0, 0.0]))[0] == 0  # weights: only rows 0 and 2 count
    assert interleave([5, 1, 2], [1, 7]) == [5, 1, 7, 2]
    assert greedy(errors, 3, start=[0]) == [0, 2, 1]  # after a specialist, the one covering what it misses
    assert greedy(errors, 2, start=[0]) == [0, 2] and greedy(errors, 1, start=[0, 2]) == [0]  # start counts


def test_the_default_goes_first_unless_a_pick_is_expected_to_beat_it_clearly():
    predicted = np.array([0.5, 0.9, 0.6, 0.55])  # index 0 is the default
    assert safe_first([1, 2, 0, 3], predicted, default=0, margin=0.3) == [1, 0, 2, 3]  # 0.4 ahead: it leads
    assert safe_first([1, 2, 0, 3], predicted, default=0, margin=0.5) == [0, 1, 2, 3]  # not clearly: the default
    assert safe_first([3, 2, 1], predicted, default=0, margin=0.0) == [3, 0, 2, 1]


def test_the_surest_of_the_first_picks_goes_first_only_when_the_guard_is_sure_enough():
    chance = np.array([1.0, 0.6, 0.95, 0.97, 0.99])  # index 0 is the default (it ties itself)
    assert sure_first([1, 2, 3, 0, 4], chance, default=0, threshold=0.9, among=3) == [3, 0, 1, 2, 4]
    assert sure_first([1, 2, 3, 4], chance, default=0, threshold=0.98, among=3) == [0, 1, 2, 3, 4]  # 4 is too far
    assert sure_first([1, 2], chance, default=0, threshold=0.9, among=10) == [2, 0, 1]
    assert sure_first([0], chance, default=0) == [0]


def _matrix(task: str = "classification", n: int = 12, seed: int = 0) -> Matrix:
    """A matrix where the best family depends on a meta-feature: linear on 'wide' data, forests elsewhere."""
    rng = np.random.default_rng(seed)
    pool = candidates()
    configs = [c.config for c in pool]
    metas, rows = [], []
    for i in range(n):
        wide = i % 2 == 0
        metas.append({"log_rows": 2.0 + rng.random(), "dimensionality": 1.0 if wide else 0.01, "lm_linear": 0.8})
        rows.append([(0.9 if (c["family"] == "linear") == wide else 0.6) + 0.01 * rng.random() for c in configs])
    return Matrix(task, [f"d{i}" for i in range(n)], [f"data{i}" for i in range(n)], metas,
                  [c.config_id for c in pool], configs, np.array(rows), [f"g{i}" for i in range(n)])


def test_the_meta_model_learns_which_family_fits_which_data():
    matrix = _matrix()
    artifact = build_artifact({"classification": matrix}, evaluate=False)
    model = artifact.model("classification")
    linear = zoo.active(zoo.default_config("linear"))
    forest = zoo.active(zoo.default_config("rf"))
    wide, narrow = {"log_rows": 2.5, "dimensionality": 1.0, "lm_linear": 0.8}, {**matrix.meta_features[1]}
    assert model.predict(wide, [linear, forest]).argmax() == 0
    assert model.predict(narrow, [linear, forest]).argmax() == 1
    assert design(wide, [linear]).shape == (1, len(FEATURE_NAMES))
    assert config_vector({"family": "linear", "C": 10.0})[len(zoo.FAMILIES):].count(1.0) == 1  # log10(10)


def _default_wins_on_narrow_data() -> tuple[Matrix, dict, Artifact]:
    """The matrix, the untuned default and an artifact built on it, where nothing beats the default on narrow
    data and a linear model beats it on wide data."""
    matrix = _matrix()
    default = zoo.active(zoo.default_config())
    matrix.scores[1::2, matrix.configs.index(default)] += 0.05
    return matrix, default, build_artifact({"classification": matrix}, evaluate=False)


def test_the_guard_knows_where_the_default_loses_and_keeps_it_first_elsewhere():
    matrix, default, artifact = _default_wins_on_narrow_data()
    history = artifact.tasks["classification"]
    guard = MetaModel(history.guard_model)
    linear = zoo.active(zoo.default_config("linear"))
    wide, narrow = {"log_rows": 2.5, "dimensionality": 1.0, "lm_linear": 0.8}, {**matrix.meta_features[1]}
    assert guard.predict(wide, [linear])[0] > 0.9 > 0.1 > guard.predict(narrow, [linear])[0]
    (first,) = propose(artifact, "classification", narrow, 1, [])
    assert first.config == default  # no pick is surely better than the default on narrow data: it goes first
    (first,) = propose(artifact, "classification", wide, 1, [])
    assert first.config["family"] == "linear" and first.evidence[0]["chance_beats_or_ties_default"] > 0.9


def test_the_guard_is_the_mean_of_several_seeded_fits_and_the_same_every_time():
    import lightgbm

    from tunelake.metalearn.metamodel import GUARD_SEEDS, SETTINGS, guard_examples

    matrix = _matrix()
    x, y = guard_examples(matrix.meta_features, matrix.configs, matrix.scores, 0)
    guard = MetaModel.fit(x, y, guard=True)
    assert guard == MetaModel.fit(x, y, guard=True)  # seeded: a rebuild gives the same text
    singles = [lightgbm.LGBMClassifier(**(SETTINGS | {"random_state": s})).fit(x, y).predict_proba(x[:50])[:, 1]
               for s in range(GUARD_SEEDS)]
    assert GUARD_SEEDS > 1 and MetaModel(guard.text).predict_rows(x[:50]) == pytest.approx(np.mean(singles, axis=0))
    regressor = MetaModel.fit(x, y.astype(float))  # one fit: the text is LightGBM's own, as artifacts kept before
    assert zlib.decompress(base64.b64decode(regressor.text)).startswith(b"tree")
    assert MetaModel(regressor.text).predict_rows(x[:5]).shape == (5,)


def test_the_shipped_ordering_and_the_guards_level_are_read_from_the_artifact():
    matrix, default, artifact = _default_wins_on_narrow_data()
    history = artifact.tasks["classification"]
    wide, narrow = {"log_rows": 2.5, "dimensionality": 1.0, "lm_linear": 0.8}, {**matrix.meta_features[1]}

    def families(strategy: str, meta: dict[str, float], k: int) -> list[str]:
        history.strategy = strategy
        return [p.config["family"] for p in propose(artifact, "classification", meta, k, [])]

    assert families("metamodel", wide, 3)[:2] == ["linear", "linear"]  # the meta-model's picks resemble its first
    history.strategy = "metamodel+greedy"
    top, second, _ = propose(artifact, "classification", wide, 3, [])
    assert top.config["family"] == "linear" and second.config["family"] != "linear"  # it covers the narrow data
    cover = greedy(matrix.errors(), 2, start=[matrix.configs.index(top.config)])
    assert second.config == matrix.configs[cover[1]]
    assert families("metamodel, sure 0.9", narrow, 2)[0] == default["family"]
    assert propose(artifact, "classification", narrow, 1, [])[0].config == default
    history.strategy = "metamodel, sure 0.0"  # any pick is sure enough: the surest goes before the default
    assert propose(artifact, "classification", narrow, 1, [])[0].config != default


def test_leave_one_group_out_shows_the_meta_model_beats_the_static_portfolio_where_data_differ():
    figures = leave_one_group_out(_matrix(n=10))
    assert figures["datasets"] == 10
    assert figures["metamodel"]["mean_error_k1"] < figures["portfolio"]["mean_error_k1"]
    # on the wide half the default (boosted trees) is beaten by a linear model, and the meta-model says so
    assert figures["metamodel"]["first_wins"] >= 4 and figures["default"]["first_wins"] == 0
    assert figures["metamodel, sure 0.9"]["first_wins"] >= 4  # the guard lets a pick that surely wins go first


def test_the_artifact_round_trips_and_refuses_another_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    matrix = _matrix()
    artifact = build_artifact({"classification": matrix}, evaluate=False)
    path = tmp_path / "artifact.json"
    path.write_text(artifact.model_dump_json())
    loaded = load_artifact(path=path)
    assert loaded == artifact and loaded.pool == POOL_VERSION
    meta, configs = matrix.meta_features[0], matrix.configs[:20]
    assert loaded.model("classification").predict(meta, configs) == pytest.approx(
        artifact.model("classification").predict(meta, configs))
    back = matrix_of(loaded.tasks["classification"], "classification", loaded.configs)
    assert np.allclose(back.scores, matrix.scores, atol=1e-6) and back.groups == matrix.groups
    assert sorted(merge(back, back.take([0])).dataset_ids) == sorted(back.dataset_ids)

    old = json.loads(path.read_text())
    for field, value in (("version", ARTIFACT_VERSION - 1), ("feature_set", "tunelake-mf-0")):
        path.write_text(json.dumps({**old, field: value}))
        assert load_artifact(path=path) is None, field
    monkeypatch.setenv("TUNELAKE_PRIOR", "none")
    assert load_artifact() is None
    monkeypatch.delenv("TUNELAKE_PRIOR")
    lake = Lake(str(tmp_path / "lake"))
    save_to_lake(lake, artifact)
    assert load_artifact(lake) == artifact  # the lake's own comes before the shipped one
    assert isinstance(MetaModel(artifact.tasks["classification"].meta_model).predict(meta, []), np.ndarray)


def test_the_shipped_artifact_loads_and_knows_both_tasks():
    artifact = load_artifact(path=Path(__file__).resolve().parents[2] / "tunelake" / "metalearn" / "artifact.json")
    assert isinstance(artifact, Artifact) and set(artifact.tasks) == {"classification", "regression"}
    for task, history in artifact.tasks.items():
        assert len(history.datasets) >= 30 and len(history.config_ids) >= 100, task
        assert history.evaluation and history.strategy in history.evaluation, task
        reached = [s for s in SHIPPABLE if reaches_target(history.evaluation[s])]
        assert not reached or history.strategy in reached, task  # the target, where an ordering reaches it
        assert history.guard_model, task
        assert artifact.model(task) is not None


def test_one_proposal_is_the_top_pick_and_more_include_the_default():
    matrix = _matrix()
    artifact = build_artifact({"classification": matrix}, evaluate=False)
    wide = {"log_rows": 2.5, "dimensionality": 1.0, "lm_linear": 0.8}
    default = zoo.active(zoo.default_config())
    (only,) = propose(artifact, "classification", wide, 1, [])
    assert only.config["family"] == "linear"  # the hedge must not replace the one proposal asked for
    several = propose(artifact, "classification", wide, 3, [])
    assert several[0].config["family"] == "linear" and default in [p.config for p in several]


def test_a_held_out_refit_is_made_once_and_keeps_each_callers_ordering():
    from tunelake.metalearn.propose import _without

    artifact = load_artifact()
    history = artifact.tasks["regression"]
    out = frozenset({history.datasets[0].dataset_id})
    first = _without(history, "regression", artifact, out)
    assert out.isdisjoint(d.dataset_id for d in first.datasets) and len(first.datasets) == len(history.datasets) - 1
    nearest = _without(history.model_copy(update={"strategy": "nearest"}), "regression", artifact, out)
    assert nearest.strategy == "nearest" and first.strategy == history.strategy
    assert nearest.datasets is first.datasets  # the same refit (copied shallowly), not a second one


def test_build_from_an_artifacts_own_matrix_needs_no_lake(tmp_path: Path, capsys):
    from tunelake.platform.cli.main import main

    matrix = _matrix(n=6)
    source, rebuilt = tmp_path / "artifact.json", tmp_path / "rebuilt.json"
    artifact = build_artifact({"classification": matrix}, evaluate=False)
    artifact.tasks["classification"].strategy = "nearest, safe"
    source.write_text(artifact.model_dump_json())
    assert main(["metalearn", "build", "--from-artifact", str(source), "--no-evaluate", "-o", str(rebuilt)]) == 0
    history = load_artifact(path=rebuilt).tasks["classification"]
    assert [d.dataset_id for d in history.datasets] == matrix.dataset_ids
    assert [d.group for d in history.datasets] == matrix.groups  # held out by group as the bootstrap said
    assert history.strategy == "nearest, safe"  # not judged again: the source's ordering stays
    assert main(["metalearn", "build", "--from-artifact", str(tmp_path / "none.json"), "-o", str(rebuilt)]) == 2
    assert "no file" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["metalearn", "build", "--from-artifact", str(tmp_path / "bad.json"), "-o", str(rebuilt)]) == 2
    assert "is not an artifact" in capsys.readouterr().err
    (tmp_path / "old.json").write_text(json.dumps({**json.loads(source.read_text()), "version": ARTIFACT_VERSION - 1}))
    assert main(["metalearn", "build", "--from-artifact", str(tmp_path / "old.json"), "-o", str(rebuilt)]) == 2
    assert "another version" in capsys.readouterr().err


@pytest.mark.parametrize("strategy", SHIPPABLE)
def test_what_ships_is_the_ordering_leave_one_group_out_judged(strategy: str):
    """propose (online) and loo (offline) order the pool alike for every ordering an artifact may ship."""
    matrix, default, artifact = _default_wins_on_narrow_data()
    train = matrix.take(list(range(1, len(matrix.dataset_ids))))  # held out: dataset 0
    artifact = build_artifact({"classification": train}, evaluate=False)
    artifact.tasks["classification"].strategy = strategy
    offline = [matrix.configs[i] for i in STRATEGIES[strategy](train, matrix.meta_features[0])[:9]]
    online = [p.config for p in propose(artifact, "classification", matrix.meta_features[0], 9, [])]
    assert online == offline or (default not in offline and online[:8] == offline[:8] and online[8] == default)


def test_an_artifact_naming_an_unknown_ordering_is_refused():
    history = build_artifact({"classification": _matrix(n=4)}, evaluate=False).tasks["classification"]
    with pytest.raises(ValueError, match="unknown ordering 'metamodel, very sure'"):
        type(history).model_validate({**history.model_dump(), "strategy": "metamodel, very sure"})
    assert type(history).model_validate({**history.model_dump(), "strategy": "nearest, sure"})  # older artifacts
