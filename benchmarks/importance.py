"""How long the dashboard's importance takes, and whether fewer fANOVA trees change the answer.

    PYTHONPATH=. python benchmarks/importance.py --sizes 100 1000

A lake under a temp dir holds one svm-shaped experiment of N completed trials whose accuracy depends mostly on
the kernel and a little on log10(C), plus noise; each evaluator (fANOVA with 64 trees, Optuna's default, and
with 32, the dashboard's; PED-ANOVA; MDI) scores it through ``param_importance``, as the API does, after one
untimed call that imports Optuna and scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tunelake.platform.reports import importance
from tunelake.store.lake import Lake

EXPERIMENT = "svm-20250102-000000-bench"
KERNELS = {"rbf": 0.9, "linear": 0.8, "poly": 0.6, "sigmoid": 0.5}


def fill(lake: Lake, n: int) -> None:
    spec = json.loads((Path(__file__).parents[1] / "examples" / "svm" / "experiment.json").read_text())
    t0 = datetime(2025, 1, 2, tzinfo=timezone.utc)
    lake.append("experiments", [{"experiment_id": EXPERIMENT, "status": "completed", "primary_metric": "accuracy",
                                 "mode": "max", "spec": json.dumps(spec), "created_at": t0}])
    rng = random.Random(0)
    rows = []
    for i in range(n):
        exponent, kernel = rng.uniform(-3, 3), rng.choice(list(KERNELS))
        rows.append({"experiment_id": EXPERIMENT, "trial_id": f"t{i:05d}", "status": "completed",
                     "params": json.dumps({"C": 10 ** exponent, "kernel": kernel}),
                     "value": KERNELS[kernel] + 0.02 * abs(exponent) + 0.05 * rng.random(),
                     "started_at": t0 + timedelta(seconds=i)})
    lake.append("trials", rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    print("| trials | evaluator | seconds | kernel | C |")
    print("|---|---|---|---|---|")
    for n in args.sizes:
        lake = Lake(tempfile.mkdtemp(prefix="tl-importance-") + "/lake")
        fill(lake, n)
        importance.param_importance(lake, EXPERIMENT, importance.Evaluator.MDI)  # imports and caches, untimed
        for name, evaluator, trees in (("fANOVA, 64 trees", importance.Evaluator.FANOVA, 64),
                                       ("fANOVA, 32 trees", importance.Evaluator.FANOVA, 32),
                                       ("PED-ANOVA", importance.Evaluator.PED_ANOVA, None),
                                       ("MDI", importance.Evaluator.MDI, None)):
            importance.FANOVA_TREES = trees or importance.FANOVA_TREES
            start = time.perf_counter()
            scores = {d["param"]: d["importance"] for d in importance.param_importance(lake, EXPERIMENT,
                                                                                       evaluator)["data"]}
            print(f"| {n} | {name} | {time.perf_counter() - start:.2f} | {scores['kernel']:.3f} | "
                  f"{scores['C']:.3f} |")


if __name__ == "__main__":
    main()
