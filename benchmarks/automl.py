"""AutoML quality at equal wall-clock budgets: tunelake warm vs tunelake cold vs FLAML.

    pip install "flaml[automl]"    # the peer; not a tunelake dependency
    python benchmarks/automl.py ../shared/datasets --datasets 8 --budget 30 \
        --out benchmarks/results/automl.json

For each dataset (the corpus' smallest-first order, those with at least
``--min-rows`` rows, then every k-th so that ``--datasets`` of them span the
sizes) and each of ``--seeds`` seeds: a stratified 75/25 split drawn with that
seed (which also seeds both systems' searches); each contender searches on
the training part for ``--budget`` seconds and its final model is scored on
the held-out part (accuracy for classification, R² for regression, the
default metric of both systems). tunelake warm may learn from the shipped
prior but never from the held-out dataset's group (nor from its own runs on
the dataset's other splits); cold starts from the robust default. Ray starts
once, before any timing. Reported per split: test scores, each contender's
real wall time, how many configurations it tried and (tunelake) how many
pipelines its final model holds (an ensemble with ``--ensemble``);
over all splits: mean rank (1 = best of three, ties share) and
wins/ties/losses of warm tunelake against FLAML. One split of a small
dataset is mostly noise (a test part of a few hundred rows), so the ranks
are only worth reading over several seeds.
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import pandas as pd
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from tunelake.metalearn import zoo
from tunelake.metalearn.dataset import fingerprint
from tunelake.platform.automl.offline.bootstrap import corpus
from tunelake.platform.automl.run import automl
from tunelake.platform.spec import AutoMLSpec
from tunelake.store.lake import Lake
from tunelake.store.query import query

TIE = 1e-9


def pick(directory: Path, count: int, min_rows: int) -> list[Path]:
    rows = {r["file"]: (int(r["n_rows"]), r["task"], r["group"]) for r in csv.DictReader(open(directory / "index.csv"))}
    files = [p for p in corpus(directory) if rows[p.name][0] >= min_rows]
    step = max(1, len(files) // count)
    return files[::step][:count]


def split(path: Path, task: str, workdir: Path, seed: int) -> tuple[Path, pd.DataFrame]:
    frame = pd.read_parquet(path)
    frame = frame[frame["target"].notna()]
    stratify = frame["target"] if task == "classification" and frame["target"].value_counts().min() >= 2 else None
    train, test = train_test_split(frame, test_size=0.25, random_state=seed, stratify=stratify)
    train_path = workdir / f"{path.stem}-{seed}.parquet"
    train.to_parquet(train_path)
    return train_path, test


def score(task: str, y_true, y_pred) -> float:  # type: ignore[no-untyped-def]
    return float(accuracy_score(y_true, y_pred) if task == "classification" else r2_score(y_true, y_pred))


def xy(frame: pd.DataFrame, task: str) -> tuple[pd.DataFrame, pd.Series]:
    x = zoo.prepare_frame(frame.drop(columns=["target"]))
    y = frame["target"].astype(str) if task == "classification" else frame["target"].astype(float)
    return x, y


def run_tunelake(train: Path, test: pd.DataFrame, task: str, budget: float, warm: bool, lake: Lake,
                 held_out: frozenset[str], seed: int, ensemble: bool) -> dict:
    spec = AutoMLSpec(data=str(train), target="target", trials=10_000, time_budget_s=budget, warm_start=warm,
                      seed=seed, ensemble=ensemble)
    result = automl(spec, lake=lake.uri, exclude=held_out)
    (row,) = query(lake, "SELECT model_uri FROM trials WHERE experiment_id = ? AND trial_id = ?",
                   [result.experiment_id, result.best_trial_id], result.experiment_id).to_pylist()
    with open(Path(row["model_uri"]) / "model.pkl", "rb") as f:
        model = pickle.load(f)
    x, y = xy(test, task)
    return {"score": score(task, y, model.predict(x)), "configurations": len(result.trials),
            "members": len(result.members)}


def run_flaml(train: Path, test: pd.DataFrame, task: str, budget: float, seed: int) -> dict:
    from flaml import AutoML

    x, y = xy(pd.read_parquet(train), task)
    model = AutoML()
    model.fit(x, y, task=task, time_budget=budget, metric="accuracy" if task == "classification" else "r2",
              seed=seed, n_jobs=2, verbose=0)
    tx, ty = xy(test, task)
    # every configuration FLAML fitted (its config_history keeps only the improvements)
    return {"score": score(task, ty, model.predict(tx)), "configurations": sum(model._iter_per_learner.values())}


def compare(dataset: str, task: str, seed: int, contenders: dict[str, Callable[[], dict]]) -> dict:
    """One split: every contender's test score, wall time, configurations tried, final model size and rank."""
    scores, walls, tried, members = {}, {}, {}, {}
    for name, run in contenders.items():
        start = time.perf_counter()
        outcome = run()
        walls[name] = round(time.perf_counter() - start, 1)
        scores[name] = round(outcome["score"], 4)
        tried[name] = outcome["configurations"]
        if "members" in outcome:
            members[name] = outcome["members"]
    print(f"{dataset:40s} {seed} {task:14s} " + "  ".join(f"{n} {s:.4f} ({walls[n]:.0f}s)"
                                                         for n, s in scores.items()), flush=True)
    return {"dataset": dataset, "task": task, "seed": seed, "scores": scores, "wall_s": walls,
            "configurations": tried, "members": members, "ranks": ranks(scores)}


def ranks(scores: dict[str, float]) -> dict[str, float]:
    """1 = best; ties share the mean of their places."""
    out = {}
    for name, value in scores.items():
        better = sum(v > value + TIE for v in scores.values())
        same = sum(abs(v - value) <= TIE for v in scores.values())
        out[name] = better + (same + 1) / 2
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--datasets", type=int, default=8)
    parser.add_argument("--min-rows", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3, help="splits per dataset, each with its own seed")
    parser.add_argument("--budget", type=float, default=30.0, help="seconds of search per contender and dataset")
    parser.add_argument("--ensemble", action="store_true",
                        help="tunelake's final model: an ensemble (automl --ensemble)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=2, logging_level="ERROR", log_to_driver=False)
    index = {r["file"]: r for r in csv.DictReader(open(args.directory / "index.csv"))}
    groups = {fingerprint(p): index[p.name]["group"] for p in corpus(args.directory)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="tunelake-automl-bench-") as tmp:
        workdir = Path(tmp)
        lake = Lake(str(workdir / "lake"))
        for path in pick(args.directory, args.datasets, args.min_rows):
            task, group = index[path.name]["task"], index[path.name]["group"]
            held_out = frozenset(d for d, g in groups.items() if g == group)
            for seed in range(args.seeds):
                train, test = split(path, task, workdir, seed)
                held_out |= {fingerprint(train)}
                rows.append(compare(path.stem, task, seed, {
                    "tunelake-warm": lambda: run_tunelake(train, test, task, args.budget, True, lake, held_out, seed,
                                                          args.ensemble),
                    "tunelake-cold": lambda: run_tunelake(train, test, task, args.budget, False, lake, held_out, seed,
                                                          args.ensemble),
                    "flaml": lambda: run_flaml(train, test, task, args.budget, seed),
                }))
    names = ["tunelake-warm", "tunelake-cold", "flaml"]
    mean_rank = {n: round(statistics.mean(r["ranks"][n] for r in rows), 3) for n in names}
    wins = sum(r["scores"]["tunelake-warm"] > r["scores"]["flaml"] + TIE for r in rows)
    losses = sum(r["scores"]["tunelake-warm"] < r["scores"]["flaml"] - TIE for r in rows)
    summary = {"datasets": len({r["dataset"] for r in rows}), "splits": len(rows), "seeds": args.seeds,
               "budget_s": args.budget, "ensemble": args.ensemble, "mean_rank": mean_rank,
               "warm_vs_flaml": {"wins": wins, "ties": len(rows) - wins - losses, "losses": losses}}
    print(json.dumps(summary, indent=2))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "datasets": rows}, indent=2))


if __name__ == "__main__":
    main()
