"""``tunelake metalearn evaluate``: does warm starting help? Leave-one-group-out, in numbers.

For each held-out dataset, two searches with the same searcher, seed and
budget: cold (the robust default first, then TPE) and warm (the meta-model's
proposals, learned without the held-out dataset's group, then TPE). Each
curve is the best score after n trials as normalized regret: 0 is the best
score ever seen on that dataset (by either search, or by the bootstrap runs
the artifact's matrix holds), 1 the worst score either search found.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tunelake.cluster.connect import ray_session
from tunelake.metalearn.dataset import fingerprint
from tunelake.metalearn.artifact import load_artifact
from tunelake.platform.automl.offline.bootstrap import corpus, index_rows, seed_for
from tunelake.platform.automl.run import automl
from tunelake.platform.spec import PROPOSALS, AutoMLSpec
from tunelake.store import catalog
from tunelake.store.lake import Lake

CHECKPOINTS = (1, 3, 5, 10, 25)


@dataclass(frozen=True)
class Curves:
    dataset: str
    warm: list[float]  # normalized regret after each checkpoint
    cold: list[float]
    warm_scores: list[float | None]  # every trial's score in start order (None: no score), so that runs with
    cold_scores: list[float | None]  # other settings can be compared on one scale (benchmarks/report.py)


def _best_so_far(values: list[float], n: int) -> float:
    seen = [v for v in values[:n] if v == v]
    return max(seen) if seen else float("nan")


def _choose(files: list[Path], limit: int | None, sample: int | None) -> list[Path]:
    """The first ``limit`` (smallest first), or ``sample`` spread evenly over the sizes."""
    if sample:
        step = len(files) / sample
        return [files[int(i * step)] for i in range(min(sample, len(files)))]
    return files[:limit] if limit else files


def _best_known() -> dict[str, float]:
    """The best pool score of each dataset in the artifact's history."""
    artifact = load_artifact()
    if artifact is None:
        return {}
    return {d.dataset_id: max(s for s in d.scores if s is not None) for h in artifact.tasks.values()
            for d in h.datasets if any(s is not None for s in d.scores)}


def evaluate(directory: Path, lake_uri: str | None, trials: int, limit: int | None,
             say: Callable[[str], None] = print, sample: int | None = None,
             max_rows: int | None = None, k: int = PROPOSALS) -> list[Curves]:
    lake = Lake(lake_uri)
    index = index_rows(directory)
    sizes = {r["file"]: int(r.get("n_rows") or 0) for r in index}
    groups = {r["file"]: r.get("group") or r["name"] for r in index}
    candidates = [p for p in corpus(directory) if max_rows is None or sizes.get(p.name, 0) <= max_rows]
    files = _choose(candidates, limit, sample)
    ids = {p: fingerprint(p) for p in corpus(directory)}
    known = _best_known()
    curves = []
    with ray_session(None):
        for path in files:
            group = groups.get(path.name, path.stem)
            held_out = frozenset(ids[p] for p in ids if groups.get(p.name, p.stem) == group)
            runs = {}
            for mode in ("cold", "warm"):
                spec = AutoMLSpec(data=str(path), target="target", trials=trials, warm_start=(mode == "warm"),
                                  seed=seed_for(ids[path]), early_stop=False, k=k)
                result = automl(spec, lake=lake.uri, exclude=held_out)
                ordered = catalog.values_in_start_order(lake, result.experiment_id)
                runs[mode] = [v if v is not None else float("nan") for v in ordered]
            everything = [v for vs in runs.values() for v in vs if v == v]
            if not everything:
                continue
            best, worst = max(everything + [known.get(ids[path], float("-inf"))]), min(everything)
            span = best - worst or 1.0
            points = [n for n in CHECKPOINTS if n <= trials]
            curve = {m: [round((best - _best_so_far(v, n)) / span, 4) for n in points] for m, v in runs.items()}
            scores = {m: [v if v == v else None for v in vs] for m, vs in runs.items()}
            curves.append(Curves(path.stem, curve["warm"], curve["cold"], scores["warm"], scores["cold"]))
            say(f"{path.stem}: warm {curve['warm']}  cold {curve['cold']}")
    return curves


def summary(curves: list[Curves], trials: int) -> dict[str, object]:
    points = [n for n in CHECKPOINTS if n <= trials]
    out: dict[str, object] = {"datasets": len(curves), "checkpoints": points}
    for mode in ("warm", "cold"):
        columns = list(zip(*(getattr(c, mode) for c in curves)))
        out[f"{mode}_median"] = [round(statistics.median(col), 4) for col in columns]
        out[f"{mode}_mean"] = [round(statistics.mean(col), 4) for col in columns]
    at = points.index(5) if 5 in points else len(points) - 1
    out["warm_worse_than_cold_share"] = round(
        sum(c.warm[at] > c.cold[at] for c in curves) / max(1, len(curves)), 3)
    out["warm_at_5_vs_cold_at_last_median"] = [out["warm_median"][at], out["cold_median"][-1]]  # type: ignore[index]
    return out


def plot(curves: list[Curves], trials: int, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    points = [n for n in CHECKPOINTS if n <= trials]
    fig, ax = plt.subplots(figsize=(6.5, 4.5), dpi=120)
    for mode, colour in (("warm", "tab:orange"), ("cold", "tab:blue")):
        columns = list(zip(*(getattr(c, mode) for c in curves)))
        ax.plot(points, [statistics.median(c) for c in columns], "o-", color=colour, label=f"{mode} (median)")
        ax.plot(points, [statistics.mean(c) for c in columns], "--", color=colour, alpha=0.6, label=f"{mode} (mean)")
    ax.set_xlabel("trials")
    ax.set_ylabel("normalized regret (0 = best found)")
    ax.set_title(f"Warm vs cold start, leave-one-group-out, {len(curves)} datasets", fontsize=10)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_json(curves: list[Curves], trials: int, path: Path, k: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"summary": summary(curves, trials), "k": k,
                                "datasets": [c.__dict__ for c in curves]}, indent=1))
