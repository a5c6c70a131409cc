"""The zoo's PyTorch family on real tables (tests/data): it learns, embeds categoricals, survives unseen levels
and pickling, and the meta-model and the AutoML spec know it."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score

from tests.conftest import DATASETS
from tunelake.errors import SpecError
from tunelake.metalearn import zoo
from tunelake.metalearn.metamodel import FEATURE_NAMES, META_FEATURES, config_vector
from tunelake.platform.spec.automl import parse_automl

torch = pytest.importorskip("torch")


def _data(name: str) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_parquet(DATASETS / f"{name}.parquet")
    return zoo.prepare_frame(frame.drop(columns="target")), frame["target"]


@pytest.mark.parametrize("arch", ["mlp", "resnet"])
def test_the_torch_family_learns_a_real_classification_and_regression(arch: str):
    config = zoo.complete({"family": "torch", "arch": arch, "epochs": 60})
    x, y = _data("iris")
    accuracy = cross_val_score(zoo.build_pipeline("classification", config, x), x, y.astype(str), cv=3).mean()
    assert accuracy > 0.8, accuracy  # three balanced classes: chance is 0.33
    x, y = _data("autompg")
    r2 = cross_val_score(zoo.build_pipeline("regression", config, x), x, y, cv=3).mean()
    assert r2 > 0.2, r2  # the training mean scores 0 or below


def test_categoricals_are_embedded_and_a_level_never_seen_still_predicts_after_a_pickle():
    x, y = _data("cylinder_bands")
    numeric, categorical = zoo.split_types(x)
    assert categorical, "the test needs a table with categorical columns"
    pipeline = zoo.build_pipeline("classification", zoo.default_config("torch"), x).fit(x, y.astype(str))
    net = pipeline.named_steps["model"]
    assert net.n_numeric == len(numeric) and len(net.net_.embeddings) == len(categorical)
    unseen = x.head(5).copy()
    unseen[categorical[0]] = "a level no row had"
    before = pipeline.predict_proba(unseen)
    assert before.shape == (5, len(set(y.astype(str)))) and np.allclose(before.sum(axis=1), 1)
    again = pickle.loads(pickle.dumps(pipeline))
    assert np.allclose(again.predict_proba(unseen), before)


def test_the_meta_model_sees_the_architecture_and_the_spec_names_the_families():
    vector = config_vector({"family": "torch", "arch": "resnet", "layers": 3, "width": 256})
    names = FEATURE_NAMES[len(META_FEATURES):]
    assert vector[names.index("is_torch")] == 1.0 and vector[names.index("torch__arch")] == 1.0
    assert vector[names.index("torch__layers")] == 3.0
    assert zoo.families_for(100, ["torch", "lgbm"]) == ["lgbm", "torch"]
    assert zoo.families_for(50_000, ["svm"]) == ["svm"]  # asked for, though slow at that size
    with pytest.raises(SpecError, match="'forest' is not a model family; use some of: hgb"):
        parse_automl({"data": "d.csv", "target": "y", "families": ["forest"]})
    assert parse_automl({"data": "d.csv", "target": "y", "families": ["torch"]}).families == ["torch"]
