"""An SVM tuned by tunelake, written as any user's training script would be.

It reads its hyperparameters from the command line, reports cross-validated
accuracy after each fold as a JSON line on stdout (tunelake's trial protocol),
and saves the fitted model to the directory tunelake gives it.
"""

import argparse
import json
import os
import pickle

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--C", type=float, required=True)
    parser.add_argument("--kernel", choices=["linear", "rbf", "poly", "sigmoid"], required=True)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    scores = []
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
    for fold, (train, test) in enumerate(folds.split(X, y), start=1):
        model = make_pipeline(StandardScaler(), SVC(C=args.C, kernel=args.kernel))
        model.fit(X[train], y[train])
        scores.append(model.score(X[test], y[test]))
        print(json.dumps({"fold": fold, "accuracy": sum(scores) / len(scores)}), flush=True)

    model = make_pipeline(StandardScaler(), SVC(C=args.C, kernel=args.kernel)).fit(X, y)
    model_dir = os.environ.get("TUNELAKE_MODEL_DIR", "saved_model")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "model.pkl"), "wb") as f:
        pickle.dump(model, f)


if __name__ == "__main__":
    main()
