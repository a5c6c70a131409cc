"""Ensemble selection: the greedy blend, the stored model, and out-of-fold predictions from real trials."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import get_scorer

from tests.conftest import DATASETS
from tunelake.metalearn import zoo
from tunelake.metalearn.ensemble import Ensemble, judge, response, select

CLASSES = np.array(["a", "b", "c"])


def votes(labels: str) -> np.ndarray:
    """One-hot rows for a string of class letters."""
    return np.eye(3)[[list(CLASSES).index(c) for c in labels]]


def test_a_blend_of_models_wrong_on_different_rows_beats_each_of_them():
    y = np.array(list("abcabc"))
    # each is wrong on two rows of its own; on every row the other two out-vote the one that is wrong
    predictions = {"one": votes("bacabc") * 0.9 + 0.1 / 3, "two": votes("abacbc") * 0.8 + 0.2 / 3,
                   "three": votes("abcaca") * 0.7 + 0.3 / 3, "weak": votes("cccccc")}
    score = judge(get_scorer("accuracy"), y, CLASSES)
    assert max(score(p)[0] for p in predictions.values()) == pytest.approx(4 / 6)
    weights, blended = select(predictions, score)
    assert blended == 1.0
    assert set(weights) == {"one", "two", "three"} and sum(weights.values()) == pytest.approx(1.0)


def test_the_blend_is_the_best_single_model_when_nothing_beats_it():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    predictions = {"exact": y.copy(), "off": y + 1.0}
    weights, blended = select(predictions, judge(get_scorer("r2"), y, None))
    assert weights == {"exact": 1.0} and blended == pytest.approx(1.0)


@pytest.mark.parametrize("metric", ["roc_auc", "neg_log_loss", "f1_macro", "balanced_accuracy"])
def test_any_scorer_judges_a_blend_as_it_judges_a_model(metric):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = np.where(x[:, 0] + rng.normal(scale=0.5, size=60) > 0, "yes", "no")
    model = LogisticRegression().fit(x, y)
    classes = np.unique(y)
    assert judge(get_scorer(metric), y, classes)(response(model, x, classes))[0] == \
        pytest.approx(get_scorer(metric)(model, x, y))


def test_an_ensemble_averages_its_members_and_models_without_probabilities_vote():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 2))
    y = np.array(["a", "b", "c"])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)]
    soft, hard = LogisticRegression().fit(x, y), SVC().fit(x, y)
    model = Ensemble([(3.0, soft), (1.0, hard)], np.unique(y))
    expected = 0.75 * soft.predict_proba(x) + 0.25 * np.eye(3)[np.searchsorted(np.unique(y), hard.predict(x))]
    np.testing.assert_allclose(model.predict_proba(x), expected)
    assert list(model.predict(x)) == list(np.unique(y)[expected.argmax(axis=1)])


@pytest.mark.slow
def test_finished_trials_send_their_out_of_fold_predictions(ray_cluster, tmp_path):
    import ray
    from ray import tune

    from tunelake.platform.automl.trial import OutOfFold, automl_trial
    from tunelake.platform.trial.result import OBJECTIVE

    frame = pd.read_parquet(DATASETS / "hepatitis.parquet")
    x, y = zoo.prepare_frame(frame.drop(columns=["target"])), frame["target"].astype(str)
    keeper = OutOfFold.remote(2)  # keeps the best two of three
    families = ["hgb", "linear", "knn"]
    defaults = {k: v for f in families for k, v in zoo.default_config(f).items() if k != "family"}
    grid = tune.Tuner(
        tune.with_parameters(automl_trial, data=(x, y), task="classification", metric="accuracy", folds=3, seed=0,
                             out_of_fold=keeper),
        param_space={**defaults, "family": tune.grid_search(families)},
        tune_config=tune.TuneConfig(metric=OBJECTIVE, mode="max"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0)).fit()
    scores = {r.metrics["trial_id"]: r.metrics[OBJECTIVE] for r in grid}
    kept = ray.get(keeper.take.remote())
    (dropped,) = set(scores) - set(kept)
    assert len(scores) == 3 and len(kept) == 2 and scores[dropped] <= min(scores[t] for t in kept)
    classes = np.unique(y)
    for trial_id, predictions in kept.items():
        assert predictions.shape == (len(y), len(classes))
        np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)  # each row predicted once, out of fold
        # accuracy over all out-of-fold rows is the mean of the fold accuracies, up to unequal fold sizes
        assert (classes[predictions.argmax(axis=1)] == y).mean() == pytest.approx(scores[trial_id], abs=0.02)
