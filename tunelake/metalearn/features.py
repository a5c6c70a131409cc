"""Meta-features of a tabular dataset: what the meta-model knows about data it has not seen.

Four families, each computed on a seeded sample so that large data costs
bounded time and the same data always gives the same numbers:

- simple: size, shape, feature types, missing values, classes;
- statistical: skewness, kurtosis, correlations;
- information-theoretic: class entropy, mutual information with the target;
- landmarkers: cross-validated scores of cheap models (a stump, naive Bayes
  or a linear model, 1-nearest-neighbour).

The set is versioned (:data:`FEATURE_SET`): a change in what a feature means
gets a new name, so meta-features from different versions never mix.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

FEATURE_SET = "tunelake-mf-1"
STAT_ROWS = 10_000
LANDMARK_ROWS = 2_000
MAX_CORR_FEATURES = 50
SEED = 0


def _sample(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    return frame if len(frame) <= rows else frame.sample(n=rows, random_state=SEED)


def _finite(value: float) -> float:
    return float(value) if value is not None and math.isfinite(value) else 0.0


def split_types(x: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical columns (strings, booleans, categories are categorical)."""
    numeric = [c for c in x.columns if pd.api.types.is_numeric_dtype(x[c]) and not pd.api.types.is_bool_dtype(x[c])]
    return numeric, [c for c in x.columns if c not in numeric]


def _encode(x: pd.DataFrame, categorical: list[str]) -> np.ndarray:
    """Numbers for every column: category codes, missing values as the column median (or -1)."""
    out = x.copy()
    for c in categorical:
        out[c] = out[c].astype("category").cat.codes.astype(float)
    out = out.astype(float)
    return out.fillna(out.median(numeric_only=True)).fillna(-1.0).to_numpy()


def simple(x: pd.DataFrame, y: pd.Series, task: str) -> dict[str, float]:
    numeric, categorical = split_types(x)
    n, d = x.shape
    feats = {
        "n_rows": float(n),
        "n_features": float(d),
        "log_rows": math.log10(max(n, 1)),
        "log_features": math.log10(max(d, 1)),
        "dimensionality": d / max(n, 1),
        "ratio_categorical": len(categorical) / max(d, 1),
        "missing_ratio": float(x.isna().to_numpy().mean()) if d else 0.0,
        "rows_with_missing_ratio": float(x.isna().any(axis=1).mean()) if d else 0.0,
        "max_levels": float(max((x[c].nunique() for c in categorical), default=0)),
    }
    if task == "classification":
        counts = y.value_counts()
        feats["n_classes"] = float(len(counts))
        feats["class_imbalance"] = float(counts.min() / counts.max())
    else:
        feats["n_classes"] = 0.0
        feats["class_imbalance"] = 0.0
    return feats


def statistical(x: pd.DataFrame, y: pd.Series, task: str) -> dict[str, float]:
    numeric, _ = split_types(x)
    sample = _sample(x[numeric], STAT_ROWS) if numeric else pd.DataFrame()
    feats = {"skew_mean": 0.0, "skew_max": 0.0, "kurtosis_mean": 0.0, "corr_mean": 0.0, "corr_max": 0.0,
             "target_corr_max": 0.0}
    if sample.shape[1] == 0:
        return feats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skew = sample.skew().abs().replace([np.inf, -np.inf], np.nan).dropna()
        kurt = sample.kurtosis().replace([np.inf, -np.inf], np.nan).dropna()
        feats["skew_mean"], feats["skew_max"] = _finite(skew.mean()), _finite(skew.max())
        feats["kurtosis_mean"] = _finite(kurt.mean())
        cols = sample.iloc[:, :MAX_CORR_FEATURES]
        if cols.shape[1] > 1:
            corr = cols.corr().abs().to_numpy()
            upper = corr[np.triu_indices_from(corr, k=1)]
            upper = upper[np.isfinite(upper)]
            if upper.size:
                feats["corr_mean"], feats["corr_max"] = float(upper.mean()), float(upper.max())
        if task == "regression":
            target = pd.to_numeric(y.loc[sample.index], errors="coerce")
            tc = cols.corrwith(target).abs().replace([np.inf, -np.inf], np.nan).dropna()
            feats["target_corr_max"] = _finite(tc.max()) if len(tc) else 0.0
    return feats


def information(x: pd.DataFrame, y: pd.Series, task: str) -> dict[str, float]:
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    feats = {"class_entropy": 0.0, "mi_mean": 0.0, "mi_max": 0.0}
    if task == "classification":
        p = y.value_counts(normalize=True).to_numpy()
        feats["class_entropy"] = float(-(p * np.log2(p)).sum() / math.log2(len(p))) if len(p) > 1 else 0.0
    if x.shape[1] == 0:
        return feats
    sample = _sample(x, STAT_ROWS)
    _, categorical = split_types(sample)
    data = _encode(sample, categorical)
    discrete = np.array([c in categorical for c in sample.columns])
    target = y.loc[sample.index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "classification":
            mi = mutual_info_classif(data, target.astype(str), discrete_features=discrete, random_state=SEED)
        else:
            mi = mutual_info_regression(data, target.astype(float), discrete_features=discrete, random_state=SEED)
    feats["mi_mean"], feats["mi_max"] = float(np.mean(mi)), float(np.max(mi))
    return feats


def landmarkers(x: pd.DataFrame, y: pd.Series, task: str) -> dict[str, float]:
    """3-fold scores of cheap models: accuracy (classification) or R² clipped at 0 (regression)."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    sample = _sample(x, LANDMARK_ROWS)
    target = y.loc[sample.index]
    _, categorical = split_types(sample)
    data = _encode(sample, categorical)
    if task == "classification":
        counts = target.astype(str).value_counts()
        keep = target.astype(str).isin(counts[counts >= 3].index).to_numpy()
        data, labels = data[keep], target.astype(str).to_numpy()[keep]
        folds = StratifiedKFold(3, shuffle=True, random_state=SEED)
        models = {"lm_stump": DecisionTreeClassifier(max_depth=1, random_state=SEED), "lm_naive_bayes": GaussianNB(),
                  "lm_1nn": make_pipeline(StandardScaler(), KNeighborsClassifier(1))}
        scoring = "accuracy"
    else:
        labels = target.astype(float).to_numpy()
        folds = KFold(3, shuffle=True, random_state=SEED)
        models = {"lm_stump": DecisionTreeRegressor(max_depth=1, random_state=SEED),
                  "lm_linear": make_pipeline(StandardScaler(), Ridge(1.0)),
                  "lm_1nn": make_pipeline(StandardScaler(), KNeighborsRegressor(1))}
        scoring = "r2"
    feats = {"lm_stump": 0.0, "lm_naive_bayes": 0.0, "lm_linear": 0.0, "lm_1nn": 0.0}
    if len(labels) < 6 or data.shape[1] == 0:
        return feats
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in models.items():
            try:
                score = float(np.mean(cross_val_score(model, data, labels, cv=folds, scoring=scoring)))
            except ValueError:
                score = 0.0
            feats[name] = max(0.0, _finite(score))
    return feats


def meta_features(frame: pd.DataFrame, target: str, task: str) -> dict[str, float]:
    """All meta-features of ``frame`` (features and ``target``) for ``task``."""
    y = frame[target]
    keep = y.notna()
    x, y = frame.loc[keep].drop(columns=[target]), y[keep]
    out: dict[str, float] = {}
    for family in (simple, statistical, information, landmarkers):
        out.update(family(x, y, task))
    return {k: round(v, 6) for k, v in out.items()}
