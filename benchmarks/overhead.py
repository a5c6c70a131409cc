"""Orchestration overhead: N trivial trials, 2 at a time, four ways, in one process.

    python benchmarks/overhead.py --sizes 50 200 --out benchmarks/results/overhead.json

Every contender runs the same command (``/bin/sh -c 'echo score=<x>'``) with
2 trials at a time:

- bare: a pool of 2 threads spawning the subprocesses (the floor);
- optuna: an Optuna study, ``n_jobs=2``, random sampler;
- ray-tune: Ray Tune as its docs show it (a function trainable running the
  subprocess and calling ``tune.report``, default settings);
- tunelake: ``tunelake.run`` with random search, every trial logged to a lake.

Ray starts once, before any timing, and both Ray-based contenders share it.
Figures: trials/s, and overhead per trial over the bare pool. Medians over
``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

COMMAND = "echo score={x}"


def run_command(x: float) -> float:
    out = subprocess.run(["/bin/sh", "-c", COMMAND.format(x=x)], capture_output=True, text=True, check=True).stdout
    return float(out.strip().split("=")[1])


def bare(n: int) -> None:
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(run_command, [i / n for i in range(n)]))


def optuna_study(n: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: run_command(t.suggest_float("x", 0, 1)), n_trials=n, n_jobs=2)


def ray_tune(n: int) -> None:
    from ray import tune

    def trainable(config: dict) -> None:
        tune.report({"score": run_command(config["x"])})

    with tempfile.TemporaryDirectory() as storage:
        tune.Tuner(
            trainable,
            param_space={"x": tune.uniform(0, 1)},
            tune_config=tune.TuneConfig(num_samples=n, max_concurrent_trials=2, metric="score", mode="max"),
            run_config=tune.RunConfig(storage_path=storage, verbose=0),
        ).fit()


def tunelake_run(n: int) -> None:
    import tunelake

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp, "repo")
        repo.mkdir()
        spec = {"code_github": str(repo), "command": COMMAND, "primary_result_key": "score",
                "search": {"x": {"type": "uniform", "low": 0, "high": 1}},
                "optimizer": {"algorithm": "random", "num_samples": n, "max_concurrent_trials": 2, "seed": 0}}
        result = tunelake.run(spec, lake=str(Path(tmp, "lake")))
        assert result.counts == {"completed": n}, result.counts


def _without_actor_reuse(**kwargs):  # type: ignore[no-untyped-def]
    from ray.tune import TuneConfig

    return TuneConfig(**{**kwargs, "reuse_actors": False})


def undoing(change):  # type: ignore[no-untyped-def]
    """tunelake with one of its speed-ups undone: what that change buys is the difference."""
    def run(n: int) -> None:
        with change():
            tunelake_run(n)
    return run


CONTENDERS = {"bare": bare, "optuna": optuna_study, "ray-tune": ray_tune, "tunelake": tunelake_run}
ABLATIONS = {
    "tunelake, a new actor per trial":
        undoing(lambda: mock.patch("tunelake.platform.tune.runner.TuneConfig", _without_actor_reuse)),
    "tunelake, no start gate (trials shorter than an actor start share one actor)":
        undoing(lambda: mock.patch("tunelake.platform.tune.runner.start_gate", lambda *args, **kwargs: None)),
    "tunelake, Tune's CSV/JSON/TensorBoard loggers on":
        undoing(lambda: mock.patch.dict(os.environ, {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "0"})),
    "tunelake, lake written every Tune step":
        undoing(lambda: mock.patch("tunelake.platform.tune.recorder.LakeRecorder.FLUSH_INTERVAL_S", 0.0)),
    "tunelake, Tune state saved every 10 s, not 2 s":
        undoing(lambda: mock.patch.dict(os.environ, {"TUNE_GLOBAL_CHECKPOINT_S": "10"})),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="+", choices=sorted(CONTENDERS), help="run only these contenders")
    parser.add_argument("--ablations", action="store_true",
                        help="also run tunelake with each of its speed-ups undone, one at a time")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    if args.ablations:
        CONTENDERS.update(ABLATIONS)

    import ray

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    os.environ.setdefault("TUNELAKE_CACHE", tempfile.mkdtemp(prefix="tunelake-bench-cache-"))
    chosen = args.only or [c for c in CONTENDERS if c not in ABLATIONS]
    names = ["bare", *[c for c in chosen if c != "bare"], *(ABLATIONS if args.ablations else [])]
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for n in args.sizes:
        figures[str(n)] = {}
        for name in names:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                CONTENDERS[name](n)
                times.append(time.perf_counter() - start)
            median = statistics.median(times)
            figures[str(n)][name] = {"seconds": round(median, 3), "trials_per_s": round(n / median, 2)}
        floor = figures[str(n)]["bare"]["seconds"]
        print(f"\nN = {n} trials, 2 at a time (median of {args.repeats})")
        print(f"{'contender':50s} {'seconds':>9s} {'trials/s':>9s} {'overhead/trial':>15s} {'x bare':>7s}")
        for name, fig in figures[str(n)].items():
            over = (fig["seconds"] - floor) / n * 1000
            fig["overhead_ms_per_trial"] = round(over, 2)
            fig["x_bare"] = round(fig["seconds"] / floor, 2)
            print(f"{name:50s} {fig['seconds']:9.2f} {fig['trials_per_s']:9.1f} {over:12.1f} ms {fig['x_bare']:7.1f}",
                  flush=True)
    ray.shutdown()
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        meta = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "ray": ray.__version__}
        Path(args.out).write_text(json.dumps({"machine": meta, "figures": figures}, indent=2))


if __name__ == "__main__":
    main()
