"""The lake against MLflow's tracking store: log the same trials, ask the same five questions.

    pip install mlflow-skinny alembic   # the peer; not a tunelake dependency
    python benchmarks/lake_mlflow.py --sizes 1000 10000 --out benchmarks/results/lake-mlflow.json

MLflow gets its SQLite tracking store (``sqlite:///.../mlflow.db``) and is
driven the way its docs show: one run per trial (``create_run``, one
``log_batch`` with the parameters, the 10-step metric history and the tags,
``set_terminated`` with the status), and its questions answered through
``search_runs`` / ``get_metric_history`` plus pandas where MLflow has no
aggregation. tunelake answers as logged, then again after ``compact``.
tunelake logs the same trials (same generator as
``benchmarks/lake.py``: 1,000 trials per experiment, a running and an end row
per trial, 10 results each) and answers with SQL. Queries are timed cold
(first run) and warm (median of 3).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from lake import QUERIES, RESULTS_PER_TRIAL, TRIALS_PER_EXPERIMENT, make_experiment, timed

from tunelake.store.compact import compact
from tunelake.store.lake import Lake
from tunelake.store.query import query

NEAR = {"n_rows": 5000, "class_entropy": 0.9}
STATUS = {"completed": "FINISHED", "stopped": "KILLED", "failed": "FAILED"}


def datasets_table(rng: np.random.Generator) -> pa.Table:
    return pa.table({
        "dataset_id": [f"ds-{d:03d}" for d in range(200)],
        "meta_features": [json.dumps({"n_rows": int(rng.integers(100, 100_000)),
                                      "class_entropy": float(rng.uniform(0, 1))}) for _ in range(200)],
    })


def log_tunelake(lake: Lake, n_exp: int, datasets: pa.Table, seed: int) -> float:
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    lake.append_arrow("datasets", datasets)
    for e in range(n_exp):
        running, ended, results = make_experiment(e, rng)
        lake.append_arrow("trials", running)
        lake.append_arrow("results", results)
        lake.append_arrow("trials", ended)
    return time.perf_counter() - start


def log_mlflow(client, n_exp: int, seed: int) -> tuple[float, dict[str, str]]:  # type: ignore[no-untyped-def]
    from mlflow.entities import Metric, Param, RunTag

    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    experiments: dict[str, str] = {}
    for e in range(n_exp):
        _, ended, results = make_experiment(e, rng)
        name = ended.column("experiment_id")[0].as_py()
        experiments[name] = client.create_experiment(name)
        curves = results.column("value").to_numpy().reshape(-1, RESULTS_PER_TRIAL)
        for i, row in enumerate(ended.to_pylist()):
            params = json.loads(row["params"])
            tags = {"trial_id": row["trial_id"], "dataset_id": row["dataset_id"]}
            if row["reason"]:
                tags["reason"] = row["reason"]
            run = client.create_run(experiments[name], tags=tags)
            now = int(time.time() * 1000)
            metrics = [Metric("score", float(v), now, s + 1) for s, v in enumerate(curves[i])]
            if row["value"] is not None:
                metrics.append(Metric("value", float(row["value"]), now, 0))
            client.log_batch(run.info.run_id, metrics=metrics,
                             params=[Param(k, str(v)) for k, v in params.items()],
                             tags=[RunTag(k, v) for k, v in tags.items()])
            client.set_terminated(run.info.run_id, STATUS[row["status"]])
    return time.perf_counter() - start, experiments


def mlflow_questions(client, experiments: dict[str, str], datasets: pa.Table):  # type: ignore[no-untyped-def]
    """The five questions of ``benchmarks/lake.py``, answered the MLflow way."""
    import mlflow

    ids = list(experiments.values())

    def best_per_experiment():  # type: ignore[no-untyped-def]
        return [client.search_runs([i], "attributes.status = 'FINISHED'", order_by=["metrics.value DESC"],
                                   max_results=1) for i in ids]

    def near_configs():  # type: ignore[no-untyped-def]
        meta = [(d, json.loads(m)) for d, m in zip(datasets.column("dataset_id").to_pylist(),
                                                    datasets.column("meta_features").to_pylist())]
        meta.sort(key=lambda dm: abs(dm[1]["n_rows"] - NEAR["n_rows"]) / NEAR["n_rows"]
                  + abs(dm[1]["class_entropy"] - NEAR["class_entropy"]))
        # MLflow's filter has neither OR nor IN for tags: one search per dataset
        frames = [mlflow.search_runs(ids, f"attributes.status = 'FINISHED' AND tags.dataset_id = '{d}'")
                  for d, _ in meta[:5]]
        runs = pd.concat([f for f in frames if not f.empty]) if any(not f.empty for f in frames) else frames[0]
        if runs.empty:
            return runs
        return (runs.groupby(["params.lr", "params.layers"])["metrics.value"].agg(["mean", "count"])
                .sort_values("mean", ascending=False).head(10))

    def per_bin():  # type: ignore[no-untyped-def]
        runs = mlflow.search_runs(ids, "attributes.status = 'FINISHED'")
        decade = np.floor(np.log10(runs["params.lr"].astype(float)))
        return runs.groupby(decade)["metrics.value"].agg(["mean", "count"])

    def failures():  # type: ignore[no-untyped-def]
        runs = mlflow.search_runs(ids, "attributes.status = 'FAILED'")
        return runs.groupby("tags.reason").size().sort_values(ascending=False)

    exp7 = experiments.get("exp-00007", ids[-1])

    def curve():  # type: ignore[no-untyped-def]
        (run,) = client.search_runs([exp7], "tags.trial_id = 't-000123'", max_results=1)
        return client.get_metric_history(run.info.run_id, "score")

    return dict(zip(QUERIES, (best_per_experiment, near_configs, per_bin, failures, curve)))


def time_question(fn) -> dict[str, float]:  # type: ignore[no-untyped-def]
    cold = timed(fn)
    warm = statistics.median(timed(fn) for _ in range(3))
    return {"cold_s": round(cold, 4), "warm_s": round(warm, 4)}


def after_compaction(lake: Lake, rows: dict[str, dict]) -> None:
    """tunelake's side again once ``tunelake lake compact`` has run (what a large lake should do)."""
    compact(lake)
    for name, sql in QUERIES.items():
        ours = time_question(lambda: query(lake, sql))
        rows[name]["tunelake_compacted"] = ours
        rows[name]["ratio_warm_compacted"] = round(rows[name]["mlflow"]["warm_s"] / ours["warm_s"], 1)
        print(f"  {name:45s} tunelake, compacted {ours['warm_s'] * 1000:8.1f} ms   "
              f"{rows[name]['ratio_warm_compacted']:7.1f}x", flush=True)


def one_size(trials: int, workdir: Path) -> dict:
    import mlflow

    n_exp = max(1, trials // TRIALS_PER_EXPERIMENT)
    datasets = datasets_table(np.random.default_rng(1))
    lake = Lake(str(workdir / f"lake-{trials}"))
    lake_write = log_tunelake(lake, n_exp, datasets, seed=0)
    mlflow.set_tracking_uri(f"sqlite:///{workdir}/mlflow-{trials}.db")
    client = mlflow.MlflowClient()
    mlflow_write, experiments = log_mlflow(client, n_exp, seed=0)
    print(f"{trials:,} trials: written by tunelake in {lake_write:.1f}s, by MLflow in {mlflow_write:.1f}s "
          f"({mlflow_write / lake_write:.0f}x)", flush=True)
    questions = mlflow_questions(client, experiments, datasets)
    rows = {}
    for name, sql in QUERIES.items():
        ours = time_question(lambda: query(lake, sql))
        theirs = time_question(questions[name])
        ratio = theirs["warm_s"] / ours["warm_s"]
        rows[name] = {"tunelake": ours, "mlflow": theirs, "ratio_warm": round(ratio, 1)}
        print(f"  {name:45s} tunelake {ours['warm_s'] * 1000:8.1f} ms   MLflow {theirs['warm_s'] * 1000:9.1f} ms"
              f"   {ratio:7.1f}x", flush=True)
    after_compaction(lake, rows)
    return {"trials": n_exp * TRIALS_PER_EXPERIMENT, "tunelake_write_s": round(lake_write, 2),
            "mlflow_write_s": round(mlflow_write, 2), "queries": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    workdir = Path(tempfile.mkdtemp(prefix="tunelake-mlflow-"))
    figures = [one_size(n, workdir) for n in args.sizes]
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
