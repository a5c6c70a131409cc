"""The AutoML search space: scikit-learn pipelines, one family ("architecture") each.

A configuration is a flat dict: ``family`` picks the estimator and the
``<family>__<name>`` keys hold that family's hyperparameters, so one
conditional search space (the family first, then its own parameters) holds
the whole zoo, and a search can start from any family's configuration.
Parameters added to a family take defaults equal to what the estimator did
without them, so configurations learned before still mean the same model.
Preprocessing lives inside each pipeline: median/most-frequent imputation,
one-hot encoding of categoricals (rare levels grouped, so a column with
hundreds of levels stays small), and scaling for the families that need it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from tunelake.metalearn.features import split_types


@dataclass(frozen=True)
class Param:
    kind: str  # uniform | loguniform | int | logint | choice
    low: float = 0.0
    high: float = 1.0
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Family:
    name: str
    params: dict[str, Param]
    default: dict[str, Any]
    needs_scaling: bool
    build: Callable[[str, dict[str, Any], int], Any]
    max_rows: int | None = None  # slower than this size allows: left out of the search
    requires: str | None = None  # the module an optional family needs (left out of searches without it)
    embeds: bool = False  # categoricals as ordinal codes for the model to embed, not one-hot columns

    def available(self) -> bool:
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


def _hgb(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    return cls(learning_rate=p["learning_rate"], max_iter=int(p["max_iter"]), max_leaf_nodes=int(p["max_leaf_nodes"]),
               min_samples_leaf=int(p["min_samples_leaf"]), l2_regularization=p["l2_regularization"],
               max_features=p["max_features"], random_state=seed)


def _forest(extra: bool) -> Callable[[str, dict[str, Any], int], Any]:
    def build(task: str, p: dict[str, Any], seed: int) -> Any:
        from sklearn import ensemble

        name = ("ExtraTrees" if extra else "RandomForest") + ("Classifier" if task == "classification" else "Regressor")
        return getattr(ensemble, name)(n_estimators=int(p["n_estimators"]), max_features=p["max_features"],
                                       min_samples_leaf=int(p["min_samples_leaf"]), n_jobs=1, random_state=seed)
    return build


def _linear(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "classification":
        return LogisticRegression(C=p["C"], max_iter=2000)
    return Ridge(alpha=1.0 / p["C"])


def _svm(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.svm import SVC, SVR

    return (SVC if task == "classification" else SVR)(C=p["C"], gamma=p["gamma"])


def _knn(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if task == "classification" else KNeighborsRegressor
    return cls(n_neighbors=int(p["n_neighbors"]), weights=p["weights"])


def _lgbm(task: str, p: dict[str, Any], seed: int) -> Any:
    import lightgbm

    cls = lightgbm.LGBMClassifier if task == "classification" else lightgbm.LGBMRegressor
    return cls(learning_rate=p["learning_rate"], n_estimators=int(p["n_estimators"]), num_leaves=int(p["num_leaves"]),
               min_child_samples=int(p["min_child_samples"]), colsample_bytree=p["colsample_bytree"],
               reg_lambda=p["reg_lambda"], subsample=p["subsample"], subsample_freq=1 if p["subsample"] < 1 else 0,
               n_jobs=1, random_state=seed, verbose=-1)


def _xgb(task: str, p: dict[str, Any], seed: int) -> Any:
    import xgboost

    args = {"learning_rate": p["learning_rate"], "n_estimators": int(p["n_estimators"]),
            "max_depth": int(p["max_depth"]), "min_child_weight": p["min_child_weight"], "subsample": p["subsample"],
            "colsample_bytree": p["colsample_bytree"], "reg_lambda": p["reg_lambda"], "tree_method": "hist",
            "n_jobs": 1, "random_state": seed}
    if task == "classification":  # XGBoost wants labels 0..n-1; the zoo's targets are strings
        from tunelake.metalearn.encoded import LabelEncoded

        return LabelEncoded(xgboost.XGBClassifier(**args))
    return xgboost.XGBRegressor(**args)


def _mlp(task: str, p: dict[str, Any], seed: int) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == "classification" else MLPRegressor
    layers = tuple([int(p["width"])] * int(p["layers"]))
    return cls(hidden_layer_sizes=layers, alpha=p["alpha"], learning_rate_init=p["learning_rate_init"],
               max_iter=300, early_stopping=True, random_state=seed)


def _torch(task: str, p: dict[str, Any], seed: int) -> Any:
    from tunelake.metalearn.tabular_net import TabularNetClassifier, TabularNetRegressor

    cls = TabularNetClassifier if task == "classification" else TabularNetRegressor
    return cls(arch=p["arch"], layers=int(p["layers"]), width=int(p["width"]), dropout=p["dropout"],
               embed_dim=int(p["embed_dim"]), learning_rate=p["learning_rate"], weight_decay=p["weight_decay"],
               epochs=int(p["epochs"]), batch_size=int(p["batch_size"]), seed=seed)


FAMILIES: dict[str, Family] = {f.name: f for f in [
    # A few large steps (learning rate near 1, tens of iterations) or many small ones: both ends win somewhere.
    Family("hgb", {"learning_rate": Param("loguniform", 0.01, 1.0), "max_iter": Param("logint", 10, 1000),
                   "max_leaf_nodes": Param("logint", 4, 256), "min_samples_leaf": Param("logint", 2, 200),
                   "l2_regularization": Param("loguniform", 1e-6, 1.0), "max_features": Param("uniform", 0.2, 1.0)},
           {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31, "min_samples_leaf": 20,
            "l2_regularization": 1e-6, "max_features": 1.0},
           False, _hgb),
    # LightGBM's and XGBoost's own defaults are each family's default.
    Family("lgbm", {"learning_rate": Param("loguniform", 0.005, 0.5), "n_estimators": Param("logint", 16, 1000),
                    "num_leaves": Param("logint", 4, 256), "min_child_samples": Param("logint", 2, 100),
                    "colsample_bytree": Param("uniform", 0.3, 1.0), "subsample": Param("uniform", 0.5, 1.0),
                    "reg_lambda": Param("loguniform", 1e-3, 10.0)},
           {"learning_rate": 0.1, "n_estimators": 100, "num_leaves": 31, "min_child_samples": 20,
            "colsample_bytree": 1.0, "subsample": 1.0, "reg_lambda": 1e-3}, False, _lgbm),
    Family("xgb", {"learning_rate": Param("loguniform", 0.005, 0.5), "n_estimators": Param("logint", 16, 1000),
                   "max_depth": Param("int", 2, 12), "min_child_weight": Param("loguniform", 0.5, 50.0),
                   "subsample": Param("uniform", 0.5, 1.0), "colsample_bytree": Param("uniform", 0.3, 1.0),
                   "reg_lambda": Param("loguniform", 1e-2, 10.0)},
           {"learning_rate": 0.3, "n_estimators": 100, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0,
            "colsample_bytree": 1.0, "reg_lambda": 1.0}, False, _xgb, requires="xgboost"),
    Family("rf", {"n_estimators": Param("int", 50, 300), "max_features": Param("uniform", 0.1, 1.0),
                  "min_samples_leaf": Param("logint", 1, 20)},
           {"n_estimators": 100, "max_features": 0.5, "min_samples_leaf": 1}, False, _forest(False)),
    Family("et", {"n_estimators": Param("int", 50, 300), "max_features": Param("uniform", 0.1, 1.0),
                  "min_samples_leaf": Param("logint", 1, 20)},
           {"n_estimators": 100, "max_features": 0.5, "min_samples_leaf": 1}, False, _forest(True)),
    Family("linear", {"C": Param("loguniform", 1e-3, 1e3)}, {"C": 1.0}, True, _linear),
    Family("svm", {"C": Param("loguniform", 1e-2, 1e3), "gamma": Param("loguniform", 1e-4, 1.0)},
           {"C": 1.0, "gamma": 0.1}, True, _svm, max_rows=10_000),
    Family("knn", {"n_neighbors": Param("logint", 1, 50), "weights": Param("choice", values=("uniform", "distance"))},
           {"n_neighbors": 5, "weights": "uniform"}, True, _knn),
    Family("mlp", {"layers": Param("int", 1, 3), "width": Param("logint", 16, 256),
                   "alpha": Param("loguniform", 1e-6, 1e-1), "learning_rate_init": Param("loguniform", 1e-4, 1e-2)},
           {"layers": 1, "width": 100, "alpha": 1e-4, "learning_rate_init": 1e-3}, True, _mlp),
    # PyTorch (the [torch] extra): the architecture itself is searched, an MLP or a residual network.
    Family("torch", {"arch": Param("choice", values=("mlp", "resnet")), "layers": Param("int", 1, 4),
                     "width": Param("logint", 32, 512), "dropout": Param("uniform", 0.0, 0.5),
                     "embed_dim": Param("logint", 2, 32), "learning_rate": Param("loguniform", 1e-4, 1e-2),
                     "weight_decay": Param("loguniform", 1e-6, 1e-2), "epochs": Param("logint", 10, 200),
                     "batch_size": Param("logint", 32, 512)},
           {"arch": "mlp", "layers": 2, "width": 128, "dropout": 0.1, "embed_dim": 8, "learning_rate": 1e-3,
            "weight_decay": 1e-5, "epochs": 50, "batch_size": 128}, True, _torch, requires="torch", embeds=True),
]}

DEFAULT_FAMILY = "hgb"


def key(family: str, name: str) -> str:
    return f"{family}__{name}"


def families_for(n_rows: int, only: list[str] | None = None) -> list[str]:
    """The families a search on ``n_rows`` rows may use: installed, fast enough at that size, and among
    ``only`` when the user named some (all of ``only`` when none of them fits the size: asked is asked)."""
    fit = [f.name for f in FAMILIES.values() if (f.max_rows is None or n_rows <= f.max_rows) and f.available()]
    if only is None:
        return fit
    return [f for f in fit if f in only] or [f for f in FAMILIES if f in only and FAMILIES[f].available()]


def default_config(family: str = DEFAULT_FAMILY) -> dict[str, Any]:
    """A family's defaults as a flat configuration (the hedge every warm start includes)."""
    return {"family": family, **{key(family, name): value for name, value in FAMILIES[family].default.items()}}


def active(config: dict[str, Any]) -> dict[str, Any]:
    """Only what matters for the configuration's family: ``{"family": ..., <name>: value}``."""
    family = config["family"]
    prefix = f"{family}__"
    return {"family": family, **{k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}}


def complete(partial: dict[str, Any]) -> dict[str, Any] | None:
    """A flat configuration from an active one (``family`` + its names, defaults for the rest); ``None`` if it
    does not fit."""
    family = partial.get("family")
    if family not in FAMILIES:
        return None
    config = default_config(family)
    for name, value in partial.items():
        if name == "family":
            continue
        if name not in FAMILIES[family].params:
            return None
        config[key(family, name)] = value
    return config


def build_pipeline(task: str, config: dict[str, Any], frame: pd.DataFrame, seed: int = 0) -> Any:
    """The scikit-learn pipeline for ``config``, with preprocessing fitted to ``frame``'s column types."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    family = FAMILIES[config["family"]]
    params = active(config)
    numeric, categorical = split_types(frame)
    num_steps: list[Any] = [SimpleImputer(strategy="median")]
    if family.needs_scaling:
        num_steps.append(StandardScaler())
    transformers = []
    if numeric:
        transformers.append(("num", make_pipeline(*num_steps), numeric))
    if categorical:
        encoder = (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1) if family.embeds else
                   OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=32, sparse_output=False))
        transformers.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), encoder), categorical))
    pre = ColumnTransformer(transformers, remainder="drop")
    model = family.build(task, params, seed)
    if family.embeds:
        model.set_params(n_numeric=len(numeric))  # the transformer puts the numeric columns first
    return Pipeline([("pre", pre), ("model", model)])


def prepare_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings (mixed types and None confuse the encoders)."""
    out = frame.copy()
    _, categorical = split_types(out)
    for c in categorical:
        out[c] = out[c].astype("string").astype(object).where(out[c].notna(), np.nan)
    return out
