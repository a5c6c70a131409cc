"""Lake at scale: log N trials (10 results each), compact, and time five queries.

    python benchmarks/lake.py --sizes 10000 100000 1000000 --out benchmarks/results/lake.json

Writes go through ``Lake.append_arrow`` in per-experiment batches (1,000
trials per experiment), the way a bulk import or a long-running driver's
batched flushes land. Each trial gets two row versions (running, then its
end state), so the latest-version views do real work. Queries run cold
(fresh connection, first run) and warm (median of 5 runs on new connections,
after the OS cache is warm): before compaction, after it, and after 1% more
experiments have landed in delta files on top of the compacted base.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from tunelake.store.compact import compact
from tunelake.store.lake import Lake
from tunelake.store.query import query

TRIALS_PER_EXPERIMENT = 1000
RESULTS_PER_TRIAL = 10

QUERIES = {
    "best trial per experiment": """
        SELECT experiment_id, arg_max(trial_id, value) AS trial_id, max(value) AS best
        FROM trials WHERE status = 'completed' GROUP BY 1""",
    "top 10 configs on datasets near a given one": """
        WITH near AS (
          SELECT dataset_id FROM datasets
          ORDER BY abs((meta_features->>'n_rows')::DOUBLE - 5000) / 5000
                 + abs((meta_features->>'class_entropy')::DOUBLE - 0.9) LIMIT 5)
        SELECT t.params, avg(t.value) AS score, count(*) AS n
        FROM trials t JOIN near USING (dataset_id) WHERE t.status = 'completed'
        GROUP BY 1 ORDER BY score DESC LIMIT 10""",
    "mean score per bin of a parameter": """
        SELECT floor(log10((params->>'lr')::DOUBLE)) AS lr_decade, avg(value) AS mean, count(*) AS n
        FROM trials WHERE status = 'completed' GROUP BY 1 ORDER BY 1""",
    "failures by reason": """
        SELECT reason, count(*) AS n FROM trials WHERE status = 'failed' GROUP BY 1 ORDER BY n DESC""",
    "learning curve of one trial": """
        SELECT step, value FROM results WHERE experiment_id = 'exp-00007' AND trial_id = 't-000123'
        ORDER BY step""",
}


def make_experiment(e: int, rng: np.random.Generator) -> tuple[pa.Table, pa.Table, pa.Table]:
    n = TRIALS_PER_EXPERIMENT
    exp = f"exp-{e:05d}"
    ids = pa.array([f"t-{i:06d}" for i in range(n)])
    lr = 10 ** rng.uniform(-5, -1, n)
    layers = rng.integers(1, 5, n)
    params = pa.array([f'{{"lr": {a:.6g}, "layers": {b}}}' for a, b in zip(lr, layers)])
    value = rng.normal(0.8, 0.05, n) - 0.02 * np.abs(np.log10(lr) + 3)
    status = rng.choice(["completed", "completed", "completed", "stopped", "failed"], n)
    reasons = rng.choice(["exited with code 1", "timed out after 600s (trial_timeout_s)", "killed by SIGSEGV"], n)
    dataset = f"ds-{e % 200:03d}"
    running = pa.table({
        "experiment_id": pa.array([exp] * n), "trial_id": ids, "status": pa.array(["running"] * n),
        "params": params, "dataset_id": pa.array([dataset] * n),
    })
    ended = pa.table({
        "experiment_id": pa.array([exp] * n), "trial_id": ids, "status": pa.array(status),
        "params": params, "value": pa.array(value), "dataset_id": pa.array([dataset] * n),
        "reason": pa.array(np.where(status == "failed", reasons, None).tolist(), pa.string()),
        "iterations": pa.array([RESULTS_PER_TRIAL] * n, pa.int64()),
    })
    steps = np.tile(np.arange(1, RESULTS_PER_TRIAL + 1), n)
    curve = np.repeat(value, RESULTS_PER_TRIAL) * (1 - np.exp(-steps / 3))
    results = pa.table({
        "experiment_id": pa.array([exp] * (n * RESULTS_PER_TRIAL)),
        "trial_id": pa.array(np.repeat(np.array([f"t-{i:06d}" for i in range(n)]), RESULTS_PER_TRIAL)),
        "step": pa.array(steps, pa.int64()),
        "value": pa.array(curve),
    })
    return running, ended, results


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_queries(lake: Lake) -> dict[str, dict[str, float]]:
    out = {}
    for name, sql in QUERIES.items():
        cold = timed(lambda: query(lake, sql))
        warm = statistics.median(timed(lambda: query(lake, sql)) for _ in range(5))
        out[name] = {"cold_s": round(cold, 4), "warm_s": round(warm, 4)}
        print(f"  {name:45s} cold {cold * 1000:8.1f} ms   warm {warm * 1000:8.1f} ms", flush=True)
    return out


def one_size(trials: int, root: str) -> dict:
    lake = Lake(root)
    rng = np.random.default_rng(0)
    n_exp = max(1, trials // TRIALS_PER_EXPERIMENT)
    datasets = pa.table({
        "dataset_id": [f"ds-{d:03d}" for d in range(200)],
        "meta_features": [json.dumps({"n_rows": int(rng.integers(100, 100_000)),
                                      "class_entropy": float(rng.uniform(0, 1))}) for _ in range(200)],
    })
    lake.append_arrow("datasets", datasets)

    def write(first: int, count: int) -> float:
        seconds = 0.0
        for e in range(first, first + count):
            running, ended, results = make_experiment(e, rng)
            seconds += timed(lambda: (lake.append_arrow("trials", running), lake.append_arrow("results", results),
                                      lake.append_arrow("trials", ended)))
        return seconds

    write_s = write(0, n_exp)
    trials = n_exp * TRIALS_PER_EXPERIMENT
    print(f"{trials:,} trials ({2 * trials:,} trial row versions) and {trials * RESULTS_PER_TRIAL:,} results "
          f"in {write_s:.1f}s: {trials / write_s:,.0f} trials/s, "
          f"{trials * RESULTS_PER_TRIAL / write_s:,.0f} results/s", flush=True)
    print("queries before compaction:")
    before = run_queries(lake)
    compact_s = timed(lambda: compact(lake))
    print(f"compaction: {compact_s:.1f}s")
    print("queries after compaction:")
    after = run_queries(lake)
    extra = max(1, n_exp // 100)
    write(n_exp, extra)
    print(f"queries after compaction and {extra:,} more experiment(s) ({extra * TRIALS_PER_EXPERIMENT:,} trials "
          "in delta files):")
    mixed = run_queries(lake)
    return {"trials": trials, "results": trials * RESULTS_PER_TRIAL, "write_s": round(write_s, 2),
            "compact_s": round(compact_s, 2), "before_compaction": before, "after_compaction": after,
            "after_compaction_plus_1pct": mixed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="trials to log, one fresh lake per size")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    figures = []
    for trials in args.sizes:
        with tempfile.TemporaryDirectory(prefix="tunelake-bench-") as root:
            figures.append(one_size(trials, root))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
