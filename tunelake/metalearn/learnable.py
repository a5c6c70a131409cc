"""Whether a dataset, its target and a metric make a problem a search can learn, asked before any trial.

A metric that does not fit the task (``f1_macro`` on a regression), a target
with one value or none, or a handful of rows used to fail every trial one by
one (``KeyError: 'tl_objective'``) or end with no model. The metric is tried
for real, on a trivial model fitted to a sample of the data, so whatever the
scorer cannot do with this target (a binary-only metric on many classes, a
log error on negative values) is refused with scikit-learn's own reason.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from tunelake.errors import UserInputError

CLUSTERING = frozenset({"adjusted_rand_score", "rand_score", "homogeneity_score", "completeness_score",
                        "v_measure_score", "mutual_info_score", "adjusted_mutual_info_score",
                        "normalized_mutual_info_score", "fowlkes_mallows_score"})
"""Scorers that compare clusterings: they accept any labels and mean nothing for a supervised model."""

SAMPLE_ROWS = 2000

DEFAULT_METRIC = {"classification": "accuracy", "regression": "r2"}


def min_rows(folds: int) -> int:
    """Rows with a target needed to cross-validate with ``folds`` folds and still fit each one."""
    return max(10, 2 * folds)


def check_learnable(table: pa.Table, target: str, task: str, metric: str, folds: int = 3) -> None:
    """Raise :class:`UserInputError` naming the problem and the fix unless the search can learn here."""
    from sklearn.metrics import get_scorer

    y = table.column(target).to_pandas().dropna()
    need = min_rows(folds)
    if len(y) < need:
        raise UserInputError(f"--target {target!r}: {len(y)} of {table.num_rows} rows have a value; "
                             f"cross-validation with {folds} folds needs at least {need}: use more data")
    if y.nunique() < 2:
        raise UserInputError(f"--target {target!r} has the same value ({y.iloc[0]}) in every row: "
                             "there is nothing to learn; choose another column")
    if metric in CLUSTERING:
        raise UserInputError(f"--metric {metric!r} compares clusterings, not predictions: use "
                             f"{_examples(task)}")
    try:
        scorer = get_scorer(metric)
    except ValueError:
        raise UserInputError(f"--metric: {metric!r} is not a scikit-learn scorer (e.g. {_examples(task)})") from None
    sample = y.sample(min(len(y), SAMPLE_ROWS), random_state=0)
    labels = sample.astype(str) if task == "classification" else sample.astype(float)
    model = _trivial(task, labels)
    try:
        scorer(model, _features(len(labels)), labels)
    except Exception as exc:  # whatever the scorer cannot do with this target
        raise UserInputError(f"--metric {metric!r} does not fit this {task} target {target!r} "
                             f"({type(exc).__name__}: {str(exc)[:200]}): use {_examples(task)}") from None


def _trivial(task: str, labels: Any) -> Any:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    model = DummyClassifier(strategy="stratified", random_state=0) if task == "classification" else DummyRegressor()
    return model.fit(_features(len(labels)), labels)


def _features(n: int) -> Any:
    import numpy as np

    return np.zeros((n, 1))


def _examples(task: str) -> str:
    if task == "classification":
        return "accuracy, balanced_accuracy, f1_macro, roc_auc_ovr or neg_log_loss for a classification"
    return "r2, neg_root_mean_squared_error or neg_mean_absolute_error for a regression"


def check_file(path: str, target: str, metric: str | None, folds: int = 3) -> bool:
    """:func:`check_learnable` on a local data file (the service's check before it starts a job);
    False when the file is not on this machine, for the job to check where it runs."""
    from pathlib import Path

    from tunelake.metalearn.dataset import infer_task, read_table

    file = Path(path).expanduser()
    if "://" in path or not file.is_file():
        return False
    table = read_table(file)
    if target not in table.column_names:
        raise UserInputError(f"target: column {target!r} is not in {file.name}; columns: "
                             f"{', '.join(table.column_names[:20])}")
    task = infer_task(table.column(target))
    check_learnable(table, target, task, metric or DEFAULT_METRIC[task], folds)
    return True
