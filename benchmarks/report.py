"""Rewrite the tables of ``docs/benchmarks.md`` (and the README's headline) from the JSON results.

    python benchmarks/report.py          # tables from benchmarks/results/*.json
    python benchmarks/report.py --run    # run every benchmark first (about two hours on 2 cores)

Each table sits between ``<!-- table:NAME -->`` and ``<!-- /table -->`` in
the document; the prose around it is kept. A table whose JSON is missing is
left as it is.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Callable

from tunelake.metalearn.build import overall_error

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
META_DOC = ROOT / "docs" / "metalearning.md"
ARTIFACT = ROOT / "tunelake" / "metalearn" / "artifact.json"
README = ROOT / "README.md"
DATASETS = "../shared/datasets"

RUNS = [
    ["benchmarks/overhead.py", "--sizes", "50", "200", "--repeats", "1", "--out", "benchmarks/results/overhead.json"],
    ["benchmarks/overhead.py", "--sizes", "1000", "--repeats", "1", "--only", "tunelake", "optuna",
     "--out", "benchmarks/results/overhead-1000.json"],
    ["benchmarks/overhead.py", "--sizes", "100", "--repeats", "3", "--only", "tunelake", "--ablations",
     "--out", "benchmarks/results/overhead-ablations.json"],
    ["benchmarks/lake.py", "--sizes", "10000", "100000", "1000000", "--out", "benchmarks/results/lake.json"],
    ["benchmarks/lake_mlflow.py", "--sizes", "1000", "10000", "--out", "benchmarks/results/lake-mlflow.json"],
    ["benchmarks/lake_mlflow.py", "--sizes", "100000", "--out", "benchmarks/results/lake-mlflow-100k.json"],
    ["benchmarks/automl.py", DATASETS, "--datasets", "8", "--seeds", "3", "--budget", "30",
     "--out", "benchmarks/results/automl.json"],
    ["benchmarks/automl.py", DATASETS, "--datasets", "8", "--seeds", "3", "--budget", "30", "--ensemble",
     "--out", "benchmarks/results/automl-ensemble.json"],
    ["benchmarks/automl.py", DATASETS, "--datasets", "8", "--seeds", "1", "--budgets", "10", "30",
     "--autogluon-python", "ag/bin/python", "--out", "benchmarks/results/automl-v2.json"],
    ["benchmarks/automl.py", DATASETS, "--datasets", "8", "--seeds", "1", "--budgets", "10", "60",
     "--only", "tunelake-warm", "tunelake-cold", "flaml", "autogluon",
     "--autogluon-python", "ag/bin/python", "--out", "benchmarks/results/automl-v3.json"],
    ["benchmarks/automl.py", DATASETS, "--datasets", "8", "--seeds", "2", "--first-seed", "1", "--budgets", "10",
     "--only", "tunelake-warm", "tunelake-cold", "flaml", "autogluon",
     "--autogluon-python", "ag/bin/python", "--out", "benchmarks/results/automl-v3-10s.json"],
    ["benchmarks/automl.py", DATASETS, "--datasets", "8", "--seeds", "1", "--first-seed", "1", "--budgets", "30",
     "--only", "tunelake-warm", "tunelake-cold", "flaml", "autogluon",
     "--autogluon-python", "ag/bin/python", "--out", "benchmarks/results/automl-v3-30s.json"],
    ["benchmarks/automl.py", DATASETS, "--datasets", "8", "--seeds", "2", "--budgets", "30",
     "--only", "tunelake-warm", "tunelake-warm-k5", "tunelake-cold", "flaml", "autogluon",
     "--autogluon-python", "ag/bin/python", "--out", "benchmarks/results/automl-v4-30s.json"],
    ["-m", "tunelake", "metalearn", "evaluate", DATASETS, "--trials", "25", "--sample", "20", "--max-rows", "2000",
     "--lake", "eval-lake", "--out", "benchmarks/results/metalearn"],
    ["-m", "tunelake", "metalearn", "evaluate", DATASETS, "--trials", "25", "--sample", "20", "--max-rows", "2000",
     "-k", "5", "--lake", "eval-lake-k5", "--out", "benchmarks/results/metalearn-k5"],
]

TIE = 1e-9

CONTENDERS = {"bare": "bare pool of 2 threads", "optuna": "Optuna, `n_jobs=2`",
              "ray-tune": "Ray Tune, documented defaults", "tunelake": "tunelake (lake logging on)"}


def load(name: str) -> dict | list | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def overhead() -> str | None:
    runs = [r for r in (load("overhead.json"), load("overhead-1000.json"), load("overhead-ablations.json")) if r]
    if not runs:
        return None
    rows = []
    for run in runs:
        for n, by in sorted(run["figures"].items(), key=lambda kv: int(kv[0])):
            for key, f in by.items():
                extra = "—" if key == "bare" else f"{f['overhead_ms_per_trial']:,.1f} ms"
                rows.append([n, CONTENDERS.get(key, key), f"{f['seconds']:,.2f}", f"{f['trials_per_s']:,.1f}", extra,
                             f"{f['x_bare']:,.1f}"])
    return table(["N", "contender", "seconds", "trials/s", "overhead per trial over bare", "× bare"], rows)


def lake_queries() -> str | None:
    sizes = load("lake.json")
    if not sizes:
        return None
    names = list(sizes[0]["after_compaction"])
    header = ["query"] + [f"{s['trials']:,}, compacted" for s in sizes] + \
        [f"{sizes[-1]['trials']:,}, not compacted", f"{sizes[-1]['trials']:,}, compacted + 1% new"]
    rows = [[q] + [ms(s["after_compaction"][q]["warm_s"]) for s in sizes]
            + [ms(sizes[-1]["before_compaction"][q]["warm_s"]), ms(sizes[-1]["after_compaction_plus_1pct"][q]["warm_s"])]
            for q in names]
    writes = table(["trials (results)", "write", "compaction"],
                   [[f"{s['trials']:,} ({s['results']:,})", f"{s['write_s']:.1f} s", f"{s['compact_s']:.1f} s"]
                    for s in sizes])
    return writes + "\n\nWarm query time (median of 5, fresh connection each):\n\n" + table(header, rows)


def mlflow_sizes() -> list[dict]:
    """Every size measured against MLflow: 100k runs is a separate, long run (about 40 minutes of logging)."""
    return [s for name in ("lake-mlflow.json", "lake-mlflow-100k.json") for s in (load(name) or [])]


def lake_mlflow() -> str | None:
    sizes = mlflow_sizes()
    if not sizes:
        return None
    rows = []
    for s in sizes:
        rows.append([f"{s['trials']:,}", "log every trial", f"{s['tunelake_write_s']:.2f} s", "—",
                     f"{s['mlflow_write_s']:.1f} s", f"{s['mlflow_write_s'] / s['tunelake_write_s']:,.0f}x", "—"])
        for q, f in s["queries"].items():
            packed = f.get("tunelake_compacted")
            rows.append([f"{s['trials']:,}", q, ms(f["tunelake"]["warm_s"]), ms(packed["warm_s"]) if packed else "—",
                         ms(f["mlflow"]["warm_s"]), f"{f['ratio_warm']:,.1f}x",
                         f"{f['ratio_warm_compacted']:,.1f}x" if packed else "—"])
    return table(["trials", "task", "tunelake", "tunelake, compacted", "MLflow (SQLite)", "MLflow / tunelake",
                  "MLflow / tunelake compacted"], rows)


def automl() -> str | None:
    data = load("automl.json")
    if not data:
        return None
    names = ["tunelake-warm", "tunelake-cold", "flaml"]
    by_dataset: dict[str, list[dict]] = {}
    for d in data["datasets"]:
        by_dataset.setdefault(d["dataset"], []).append(d)

    def cell(splits: list[dict], n: str) -> str:
        scores = [d["scores"][n] for d in splits]
        tried = [d["configurations"][n] for d in splits if d.get("configurations", {}).get(n)]
        members = [d["members"][n] for d in splits if n in d.get("members", {})]
        wall = max(d["wall_s"][n] for d in splits)
        spread = f" ({min(scores):.3f}-{max(scores):.3f})" if len(scores) > 1 else ""
        return (f"{statistics.mean(scores):.4f}{spread}; {statistics.mean(r['ranks'][n] for r in splits):.2f}; "
                f"<= {wall:.0f} s" + (f", {statistics.mean(tried):.0f} configs" if tried else "")
                + (f", {statistics.mean(members):.1f} in the model" if members else ""))

    rows = [[name, splits[0]["task"]] + [cell(splits, n) for n in names] for name, splits in by_dataset.items()]
    s = data["summary"]
    rows.append(["**mean rank**", ""] + [f"**{s['mean_rank'][n]:.2f}**" for n in names])
    w = s["warm_vs_flaml"]
    splits = s.get("splits", s["datasets"])
    return (table(["dataset", "task", "tunelake warm", "tunelake cold", "FLAML"], rows)
            + "\n\nEach cell: mean test score over the splits (lowest-highest); mean rank; longest wall time; "
              "mean configurations tried; for tunelake, mean pipelines in the final model."
            + f"\n\nWarm tunelake against FLAML: {w['wins']} wins, {w['ties']} ties, {w['losses']} losses "
              f"({splits} splits of {s['datasets']} datasets, {s['budget_s']:.0f} s each).")


def counts(diffs: list[float]) -> list[str]:
    """How many differences are above, at and below zero."""
    return [str(sum(x > TIE for x in diffs)), str(sum(abs(x) <= TIE for x in diffs)), str(sum(x < -TIE for x in diffs))]


def ensemble_ablation() -> str | None:
    """The same splits with the best pipeline alone, same code otherwise: what the ensemble bought, split by split."""
    with_, alone = load("automl-ensemble.json"), load("automl-ensemble-base.json")
    if not with_ or not alone:
        return None
    by_split = {(d["dataset"], d["seed"]): d["scores"] for d in alone["datasets"]}
    pairs = [(d["scores"], by_split[(d["dataset"], d["seed"])]) for d in with_["datasets"]
             if (d["dataset"], d["seed"]) in by_split]
    rows = []
    for name, label in (("tunelake-warm", "warm"), ("tunelake-cold", "cold")):
        diffs = [ens[name] - base[name] for ens, base in pairs]
        before = statistics.mean(base[name] for _, base in pairs)
        rows.append([label, str(len(pairs)), f"{before:.4f}", f"{before + statistics.mean(diffs):.4f}",
                     f"{statistics.mean(diffs):+.4f}", *counts(diffs)])
    flaml = [ens["flaml"] - base["flaml"] for ens, base in pairs]
    rows.append(["FLAML, the same splits run twice (noise)", str(len(pairs)), "", "", f"{statistics.mean(flaml):+.4f}",
                 *counts(flaml)])
    return table(["tunelake", "splits", "mean test score, best alone", "mean test score, ensemble", "mean difference",
                  "ensemble better", "same", "ensemble worse"], rows)


def metalearn(folder: str = "metalearn") -> str | None:
    data = load(f"{folder}/evaluate.json")
    if not data:
        return None
    s = data["summary"]
    rows = [[label] + [f"{v:.3f}" for v in s[key]] for label, key in
            (("warm, median regret", "warm_median"), ("cold, median regret", "cold_median"),
             ("warm, mean regret", "warm_mean"), ("cold, mean regret", "cold_mean"))]
    return (table(["trials"] + [str(c) for c in s["checkpoints"]], rows)
            + f"\n\n{s['datasets']} datasets; warm worse than cold after 5 trials on "
              f"{s['warm_worse_than_cold_share']:.0%} of them.")


def warm_compared(first: str, second: str, labels: tuple[str, str] | None = None) -> str | None:
    """Two ``metalearn evaluate`` runs' warm searches (by default labelled by how many proposals each started
    from) and the first run's cold one, on one scale per dataset: regret 0 is the best score any of the four
    searches reached, 1 the worst trial of any."""
    a, b = load(f"{first}/evaluate.json"), load(f"{second}/evaluate.json")
    if not a or not b or "warm_scores" not in a["datasets"][0]:
        return None
    one, two = labels or (f"{a.get('k')} proposals", f"{b.get('k')} proposals")
    pairs = [(x, y) for x in a["datasets"] for y in b["datasets"] if x["dataset"] == y["dataset"]]
    points = a["summary"]["checkpoints"]
    regret: dict[str, list[list[float]]] = {"one": [], "two": [], "cold": []}
    for x, y in pairs:
        searches = {"one": x["warm_scores"], "two": y["warm_scores"], "cold": x["cold_scores"]}
        seen = [v for vs in (*searches.values(), y["cold_scores"]) for v in vs if v is not None]
        best, span = max(seen), (max(seen) - min(seen)) or 1.0
        for name, values in searches.items():
            regret[name].append([(best - max([v for v in values[:n] if v is not None] or [min(seen)])) / span
                                 for n in points])
    rows = []
    for i, n in enumerate(points):
        one_, two_, cold_ = ([r[i] for r in regret[name]] for name in ("one", "two", "cold"))
        rows.append([str(n), *(f"{statistics.mean(v):.3f} / {statistics.median(v):.3f}" for v in (one_, two_, cold_)),
                     _duel(one_, two_), _duel(one_, cold_), _duel(two_, cold_)])
    return table(["trials", f"warm, {one}: mean / median regret", f"warm, {two}", "cold",
                  f"{one} against {two}: W / T / L", f"{one} against cold", f"{two} against cold"],
                 rows) + f"\n\n{len(pairs)} datasets."


def _duel(regret: list[float], other: list[float]) -> str:
    """Wins / ties / losses of the first (lower regret wins)."""
    return " / ".join(counts([o - r for r, o in zip(regret, other)]))


def headline() -> str | None:
    sizes, mlflow, over, auto, meta = (load("lake.json"), mlflow_sizes(), load("overhead.json"),
                                       load("automl.json"), load("metalearn/evaluate.json"))
    lines = []
    if over:
        n = max(over["figures"], key=int)
        f = over["figures"][n]
        if "ray-tune" in f:
            lines.append(f"- {f['ray-tune']['seconds'] / f['tunelake']['seconds']:.0f}x faster than Ray Tune's "
                         f"defaults on {n} trivial trials")
    if sizes:
        big = sizes[-1]
        worst = max(v["warm_s"] for v in big["after_compaction"].values())
        lines.append(f"- every benchmark query under {worst * 1000:.0f} ms on a compacted lake of "
                     f"{big['trials']:,} trials and {big['results']:,} results (2 cores)")
    if mlflow:
        top = mlflow[-1]
        ratios = [q.get("ratio_warm_compacted", q["ratio_warm"]) for q in top["queries"].values()]
        lines.append(f"- against MLflow's SQLite store at {top['trials']:,} runs: logging "
                     f"{top['mlflow_write_s'] / top['tunelake_write_s']:,.0f}x faster; MLflow answers the same "
                     f"questions in {min(ratios):.1f}x to {max(ratios):,.0f}x tunelake's time (scans gain most, "
                     "point lookups least)")
    latest = load("automl-v3.json")
    if latest:
        lines.append(_budgets_headline(latest["summary"]))
    elif auto:
        s = auto["summary"]
        splits = f", {s['splits']} splits" if "splits" in s else ""
        lines.append(f"- AutoML at equal budgets ({s['datasets']} datasets{splits}, {s['budget_s']:.0f} s): mean rank "
                     f"warm {s['mean_rank']['tunelake-warm']:.2f}, cold {s['mean_rank']['tunelake-cold']:.2f}, "
                     f"FLAML {s['mean_rank']['flaml']:.2f}")
    if meta:
        s = meta["summary"]
        at = s["checkpoints"].index(5)
        lines.append(f"- warm starts: mean regret after 5 trials {s['warm_mean'][at]:.3f} against "
                     f"{s['cold_mean'][at]:.3f} cold ({s['datasets']} held-out datasets)")
    return "\n".join(lines) if lines else None


def _budgets_headline(s: dict) -> str:
    names = {"tunelake-warm": "warm", "flaml": "FLAML", "autogluon": "AutoGluon"}
    parts = [f"at {b['budget_s']:.0f} s " + ", ".join(f"{label} {b['mean_rank'][n]:.2f}" for n, label in names.items()
                                                      if n in b["mean_rank"])
             for b in s["by_budget"] if b["budget_s"] is not None]
    first = next(b for b in s["by_budget"] if b["budget_s"] is None)["first-proposal_vs_hgb-default"]
    return (f"- AutoML against FLAML and AutoGluon ({s['datasets']} datasets, {s['seeds']} split(s) each), mean rank "
            f"(1 = best) {'; '.join(parts)}; the first proposal beats or ties the untuned default on "
            f"{first['wins'] + first['ties']} of {first['wins'] + first['ties'] + first['losses']} test splits")


def automl_budgets(name: str) -> str | None:
    """A run of the budgets benchmark (AutoGluon, the first proposal): mean rank and wins of warm tunelake (or,
    untimed, of the first proposal) per budget."""
    data = load(name)
    if not data:
        return None
    s = data["summary"]
    return (table(["budget", "contender", "mean rank", "models", "warm (or first proposal) vs it: W / T / L"],
                  _budget_rows(data)) + f"\n\n{s['datasets']} datasets, {s['seeds']} seed(s) each.")


def _budget_rows(data: dict) -> list[list[str]]:
    rows = []
    for b in data["summary"]["by_budget"]:
        budget = "untimed" if b["budget_s"] is None else f"{b['budget_s']:.0f} s"
        lead = "tunelake-warm" if "tunelake-warm" in b["mean_rank"] else "first-proposal"
        for name, rank in sorted(b["mean_rank"].items(), key=lambda kv: kv[1]):
            duel = b.get(f"{lead}_vs_{name}")
            rows.append([budget, name, f"{rank:.2f}", f"{b['models_delivered'][name]}/{b['splits']}",
                         f"{duel['wins']} / {duel['ties']} / {duel['losses']}" if duel else "—"])
    return rows


def loo() -> str | None:
    """The shipped artifact's leave-one-group-out figures, per task and ordering."""
    if not ARTIFACT.is_file():
        return None
    artifact = json.loads(ARTIFACT.read_text())
    parts = []
    for task, history in sorted(artifact["tasks"].items()):
        figures = history["evaluation"]
        if not figures:
            continue
        rows = [[("**" + name + "** (ships)") if name == history["strategy"] else name,
                 *(f"{f[f'mean_error_k{k}']:.3f}" for k in (1, 3, 5, 10, 25)),
                 f"{overall_error(f):.3f}",
                 f"{f['first_wins']} / {f['first_ties']} / {f['first_losses']}",
                 f"{f['first_beats_or_ties_default']:.0%}"]
                for name, f in figures.items() if isinstance(f, dict)]
        parts.append(f"**{task}**, {figures['datasets']} datasets, {len(history['config_ids'])} configurations\n\n"
                     + table(["ordering", "error after 1", "3", "5", "10", "25", "mean of 1-10 (decides)",
                              "first vs default: W / T / L",
                              "first beats or ties the default"], rows))
    return "\n\n".join(parts) if parts else None


TABLES: dict[str, Callable[[], str | None]] = {
    "overhead": overhead, "lake": lake_queries, "lake-mlflow": lake_mlflow, "automl": automl,
    "automl-ensemble": ensemble_ablation, "metalearn": metalearn, "metalearn-k5": lambda: metalearn("metalearn-k5"),
    "metalearn-proposals": lambda: warm_compared("metalearn-single-guard", "metalearn-k5"),
    "metalearn-single-guard": lambda: metalearn("metalearn-single-guard"),
    "metalearn-guards": lambda: warm_compared("metalearn", "metalearn-single-guard",
                                              ("this artifact", "the one before")),
    "automl-v2": lambda: automl_budgets("automl-v2.json"),
    "automl-v3": lambda: automl_budgets("automl-v3.json"),
    "automl-v3-busy": lambda: automl_budgets("automl-v3-busy.json"),
    "automl-v3-10s": lambda: automl_budgets("automl-v3-10s.json"),
    "automl-v3-30s": lambda: automl_budgets("automl-v3-30s.json"),
    "automl-v4-30s": lambda: automl_budgets("automl-v4-30s.json"),
}


def fill(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- table:{re.escape(name)} -->\n)(?:(?!<!-- ).)*?(<!-- /table -->)", re.S)
    if not pattern.search(text):
        print(f"no <!-- table:{name} --> marker; skipped", file=sys.stderr)
        return text
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="store_true", help="run every benchmark first")
    args = parser.parse_args()
    if args.run:
        for command in RUNS:
            print("$ python " + " ".join(command), flush=True)
            subprocess.run([sys.executable, *command], cwd=ROOT, check=True)
    doc = DOC.read_text()
    for name, make in TABLES.items():
        body = make()
        if body is not None:
            doc = fill(doc, name, body)
    DOC.write_text(doc)
    body = loo()
    if body is not None:
        META_DOC.write_text(fill(META_DOC.read_text(), "loo", body))
    line = headline()
    if line is not None:
        README.write_text(fill(README.read_text(), "headline", line))
    print(f"wrote {DOC.relative_to(ROOT)} and the README's headline")


if __name__ == "__main__":
    main()
