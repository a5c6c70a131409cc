"""AutoML quality at equal wall-clock budgets: tunelake warm and cold, FLAML, AutoGluon, untuned defaults.

    pip install "flaml[automl]"    # the peer; not a tunelake dependency
    python -m venv ag && ag/bin/pip install "autogluon.tabular[lightgbm,xgboost,catboost]==1.6.3"
    python benchmarks/automl.py ../shared/datasets --datasets 8 --budgets 10 30 60 --autogluon-python ag/bin/python \
        --out benchmarks/results/automl.json

Besides the searches, two untimed contenders per split: the untuned
HistGradientBoosting (the zoo's default configuration) and the meta-model's
first proposal, each fitted once on the training part (is the first
proposal at least as good as the default?). ``tunelake-warm-k5`` starts from
5 proposals instead of the default 10. ``tunelake-nearest`` is warm
tunelake with the artifact's ordering set to the nearest-neighbour lookup
that shipped before the meta-model. AutoGluon runs in its own Python (its
pins clash with tunelake's); its wall time includes that Python's start.

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
import os
import pickle
import statistics
import subprocess
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
                 held_out: frozenset[str], seed: int, ensemble: bool, k: int | None = None) -> dict:
    spec = AutoMLSpec(data=str(train), target="target", trials=10_000, time_budget_s=budget, warm_start=warm,
                      seed=seed, ensemble=ensemble, **({"k": k} if k else {}))
    result = automl(spec, lake=lake.uri, exclude=held_out)
    # the stored model's trial: the best one's, or the default's when its refit would have overrun the budget
    (row,) = query(lake, "SELECT model_uri FROM trials WHERE experiment_id = ? AND model_uri IS NOT NULL",
                   [result.experiment_id], result.experiment_id).to_pylist()
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


def run_autogluon(python: str, train: Path, test: pd.DataFrame, task: str, budget: float, seed: int) -> dict:
    test_path = train.with_name(train.stem + "-test.parquet")
    test.to_parquet(test_path)
    done = subprocess.run([python, str(Path(__file__).with_name("peers") / "autogluon_fit.py"), str(train),
                           str(test_path), task, str(budget), str(seed)], capture_output=True, text=True,
                          timeout=budget * 5 + 300)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_one(config: dict, train: Path, test: pd.DataFrame, task: str, seed: int) -> dict:
    """One zoo configuration fitted on the training part, scored on the test part."""
    x, y = xy(pd.read_parquet(train), task)
    model = zoo.build_pipeline(task, zoo.complete(config), x, seed).fit(x, y)
    tx, ty = xy(test, task)
    return {"score": score(task, ty, model.predict(tx)), "configurations": 1}


def first_proposal(train: Path, task: str, lake: Lake, held_out: frozenset[str]) -> dict:
    from tunelake.metalearn.dataset import describe
    from tunelake.metalearn.recommend import recommend

    info = describe(str(train), "target")
    return recommend(lake, info.meta_features, task, k=1, exclude=held_out)[0].config


def compare(dataset: str, task: str, seed: int, contenders: dict[str, Callable[[], dict]]) -> dict:
    """One split: every contender's test score, wall time, configurations tried, final model size and rank
    (a contender that fails or delivers no model scores nothing, and ranks last)."""
    scores, walls, tried, members = {}, {}, {}, {}
    for name, run in contenders.items():
        start = time.perf_counter()
        try:
            outcome = run()
        except Exception as exc:  # a contender without a model: recorded, and the benchmark goes on
            print(f"{dataset} {seed} {name}: no model ({type(exc).__name__}: {str(exc)[:300]})", flush=True)
            outcome = {"score": float("nan"), "configurations": 0}
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
    """1 = best; ties share the mean of their places; no score is the worst."""
    scores = {n: (-1e9 if v != v else v) for n, v in scores.items()}
    out = {}
    for name, value in scores.items():
        better = sum(v > value + TIE for v in scores.values())
        same = sum(abs(v - value) <= TIE for v in scores.values())
        out[name] = better + (same + 1) / 2
    return out


def nearest_artifact(workdir: Path) -> str | None:
    """The shipped artifact with its ordering set to the nearest-neighbour lookup (the baseline it replaced)."""
    from tunelake.metalearn.artifact import load_artifact

    artifact = load_artifact()
    if artifact is None:
        return None
    for history in artifact.tasks.values():
        history.strategy = "nearest"
    path = workdir / "nearest-artifact.json"
    path.write_text(artifact.model_dump_json())
    return str(path)


def searches(args: argparse.Namespace, train: Path, test: pd.DataFrame, task: str, lake: Lake,
             held_out: frozenset[str], seed: int, budget: float, nearest: str | None) -> dict[str, Callable]:
    def warm_with(artifact: str) -> dict:
        before = os.environ.get("TUNELAKE_PRIOR")
        os.environ["TUNELAKE_PRIOR"] = artifact
        try:
            return run_tunelake(train, test, task, budget, True, lake, held_out, seed, args.ensemble)
        finally:
            os.environ.pop("TUNELAKE_PRIOR") if before is None else os.environ.update(TUNELAKE_PRIOR=before)

    contenders = {
        "tunelake-warm": lambda: run_tunelake(train, test, task, budget, True, lake, held_out, seed, args.ensemble),
        "tunelake-warm-k5": lambda: run_tunelake(train, test, task, budget, True, lake, held_out, seed, args.ensemble,
                                                 k=5),
        "tunelake-cold": lambda: run_tunelake(train, test, task, budget, False, lake, held_out, seed, args.ensemble),
        "flaml": lambda: run_flaml(train, test, task, budget, seed),
    }
    if nearest:
        contenders["tunelake-nearest"] = lambda: warm_with(nearest)
    if args.autogluon_python:
        contenders["autogluon"] = lambda: run_autogluon(args.autogluon_python, train, test, task, budget, seed)
    return {n: c for n, c in contenders.items() if not args.only or n in args.only}


def summarize(rows: list[dict], budget: float | None) -> dict:
    rows = [r for r in rows if r["budget_s"] == budget]
    names = list(rows[0]["scores"]) if rows else []
    out: dict = {"budget_s": budget, "splits": len(rows),
                 "mean_rank": {n: round(statistics.mean(r["ranks"][n] for r in rows), 3) for n in names},
                 "models_delivered": {n: sum(r["scores"][n] == r["scores"][n] for r in rows) for n in names}}
    lead = "tunelake-warm" if "tunelake-warm" in names else "first-proposal"
    for peer in names:
        if peer != lead:
            wins = sum(r["scores"][lead] > r["scores"][peer] + TIE for r in rows)
            losses = sum(r["scores"][lead] < r["scores"][peer] - TIE for r in rows)
            out[f"{lead}_vs_{peer}"] = {"wins": wins, "ties": len(rows) - wins - losses, "losses": losses}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--datasets", type=int, default=8)
    parser.add_argument("--min-rows", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3, help="splits per dataset, each with its own seed")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="the first split's seed (to add seeds to an earlier run in a file of their own)")
    parser.add_argument("--budgets", type=float, nargs="+", default=[30.0],
                        help="seconds of search per contender and dataset (each budget is a run of its own)")
    parser.add_argument("--only", nargs="+", help="only these searching contenders")
    parser.add_argument("--autogluon-python", help="a Python with autogluon.tabular installed (see above)")
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
        nearest = nearest_artifact(workdir)
        for path in pick(args.directory, args.datasets, args.min_rows):
            task, group = index[path.name]["task"], index[path.name]["group"]
            held_out = frozenset(d for d, g in groups.items() if g == group)
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                train, test = split(path, task, workdir, seed)
                held_out |= {fingerprint(train)}
                proposal = first_proposal(train, task, lake, held_out)
                rows.append({**compare(path.stem, task, seed, {
                    "hgb-default": lambda: fit_one(zoo.active(zoo.default_config()), train, test, task, seed),
                    "first-proposal": lambda: fit_one(proposal, train, test, task, seed)}),
                    "budget_s": None, "first_proposal": proposal})
                for budget in args.budgets:
                    rows.append({**compare(path.stem, task, seed, searches(
                        args, train, test, task, lake, held_out, seed, budget, nearest)), "budget_s": budget})
            write(args, rows)  # after each dataset: a run cut short keeps what it measured
    print(json.dumps(write(args, rows), indent=2))


def write(args: argparse.Namespace, rows: list[dict]) -> dict:
    summary = {"datasets": len({r["dataset"] for r in rows}), "seeds": args.seeds, "first_seed": args.first_seed,
               "ensemble": args.ensemble, "by_budget": [summarize(rows, b) for b in [None, *args.budgets]]}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"summary": summary, "datasets": rows}, indent=2))
    return summary


if __name__ == "__main__":
    main()
