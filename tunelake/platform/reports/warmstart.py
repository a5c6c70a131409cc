"""What warm starting did, from the lake: the proposals an AutoML experiment started from (and how each one
scored there), and regret curves of warm-started against cold AutoML runs across datasets.

Regret on a dataset: (best score any of its runs reached - the best so far after n trials) / (that best - the
worst score seen there), so 0 is the best found and 1 the worst; a run's curve keeps its last value past its
last trial, and a dataset counts once (its warm runs averaged, its cold runs averaged) in the mean over datasets.
Only datasets with at least one warm and one cold completed run are compared.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tunelake.metalearn import zoo
from tunelake.platform.reports.history import experiment_row, finite, history
from tunelake.store import browse


def proposals(lake: Any, experiment_id: str) -> dict[str, Any]:
    """The configurations the meta-model proposed for an AutoML experiment, each with the trial that ran it and
    its evidence: the nearest datasets behind it, as the meta-model sees the lake now, leaving this dataset out
    (the lake keeps the proposals, not what backed them then)."""
    row = experiment_row(lake, experiment_id)
    options = (json.loads(row["spec"]) if row.get("spec") else {}).get("automl") or {}
    trials = history(lake, experiment_id)["data"]
    made = options.get("proposals") or []
    backing = _evidence(lake, row.get("dataset_id"), len(made)) if options.get("warm_start") else {}
    data = []
    for config in made:
        flat = zoo.complete(config) or config  # the default is proposed by its active names, the rest flat
        ran = next((t for t in trials if t["params"] == flat), None)
        predicted, evidence = backing.get(json.dumps(config, sort_keys=True), (None, []))
        data.append({"config": config, "trial_id": ran and ran["trial_id"], "status": ran and ran["status"],
                     "value": ran and ran["value"], "predicted": predicted, "evidence": evidence})
    return {"experiment_id": experiment_id, "automl": bool(options), "warm_start": bool(options.get("warm_start")),
            "data": data}


def _evidence(lake: Any, dataset_id: str | None, k: int) -> dict[str, tuple[float | None, list[dict[str, Any]]]]:
    """The meta-model's proposals for this dataset today, by configuration: (predicted, evidence)."""
    from tunelake.metalearn.features import FEATURE_SET
    from tunelake.metalearn.recommend import recommend

    described = browse.dataset(lake, dataset_id) if dataset_id else None
    if not described or described["feature_set"] != FEATURE_SET or not described["meta_features"]:
        return {}
    found = recommend(lake, json.loads(described["meta_features"]), described["task"], max(k, 1),
                      exclude=frozenset({dataset_id}))
    return {json.dumps(p.config, sort_keys=True): (p.predicted, p.evidence) for p in found}


def _best_so_far(values: list[float | None]) -> list[float | None]:
    best: float | None = None
    out = []
    for v in values:
        if v is not None and math.isfinite(v) and (best is None or v > best):
            best = v
        out.append(best)
    return out


def _regret(curve: list[float | None], best: float, worst: float, length: int) -> list[float]:
    span = best - worst
    values = [1.0 if b is None else (best - b) / span if span > 0 else 0.0 for b in curve]
    return (values + [values[-1] if values else 1.0] * length)[:length]


def _mean(curves: list[list[float]]) -> list[float]:
    return [sum(c[i] for c in curves) / len(curves) for i in range(len(curves[0]))]


def regret_curves(lake: Any) -> dict[str, Any]:
    """Mean normalized regret after each trial, warm against cold, over datasets run both ways."""
    runs = browse.automl_runs(lake)
    values = browse.values_by_experiment(lake, [r["experiment_id"] for r in runs]) if runs else {}
    by_dataset: dict[str, dict[str, Any]] = {}
    for r in runs:
        warm = bool(((json.loads(r["spec"]) if r["spec"] else {}).get("automl") or {}).get("warm_start"))
        entry = by_dataset.setdefault(r["dataset_id"], {"dataset_id": r["dataset_id"], "name": r["dataset"],
                                                        "warm": [], "cold": []})
        entry["warm" if warm else "cold"].append(r["experiment_id"])
    compared = [d for d in by_dataset.values() if d["warm"] and d["cold"]]
    length = max((len(values[e]) for d in compared for e in d["warm"] + d["cold"]), default=0)
    warm_curves, cold_curves = [], []
    for d in compared:
        seen = [v for e in d["warm"] + d["cold"] for v in values[e] if finite(v) is not None]
        best, worst = max(seen, default=0.0), min(seen, default=0.0)
        for side, into in (("warm", warm_curves), ("cold", cold_curves)):
            into.append(_mean([_regret(_best_so_far(values[e]), best, worst, length) for e in d[side]]))
    return {"datasets": [{k: d[k] for k in ("dataset_id", "name", "warm", "cold")} for d in compared],
            "warm": _mean(warm_curves) if warm_curves else [], "cold": _mean(cold_curves) if cold_curves else []}
