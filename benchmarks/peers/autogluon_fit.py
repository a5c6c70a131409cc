"""AutoGluon on one split, in its own Python (its pins clash with tunelake's pandas and pyarrow).

    python -m venv ag && ag/bin/pip install "autogluon.tabular[lightgbm,xgboost,catboost]==1.6.3"
    ag/bin/python benchmarks/peers/autogluon_fit.py TRAIN.parquet TEST.parquet TASK BUDGET_S SEED

Fits ``TabularPredictor`` with its default preset and ``time_limit`` on the
training part and prints one JSON line: the test score (accuracy or R², what
the predictor also optimizes) and how many models it trained.
"""

from __future__ import annotations

import json
import sys
import tempfile

import pandas as pd
from autogluon.tabular import TabularPredictor
from sklearn.metrics import accuracy_score, r2_score


def main() -> None:
    train_path, test_path, task, budget, seed = sys.argv[1:6]
    train, test = pd.read_parquet(train_path), pd.read_parquet(test_path)
    if task == "classification":
        train["target"], test["target"] = train["target"].astype(str), test["target"].astype(str)
    metric = "accuracy" if task == "classification" else "r2"
    with tempfile.TemporaryDirectory(prefix="ag-") as path:
        predictor = TabularPredictor(label="target", eval_metric=metric, path=path, verbosity=0).fit(
            train, time_limit=float(budget), ag_args_fit={"num_cpus": 2}, ag_args={"seed": int(seed)})
        predicted = predictor.predict(test.drop(columns=["target"]))
        models = len(predictor.model_names())
    score = accuracy_score(test["target"], predicted) if task == "classification" else \
        r2_score(test["target"].astype(float), predicted.astype(float))
    print(json.dumps({"score": float(score), "configurations": models}))


if __name__ == "__main__":
    main()
