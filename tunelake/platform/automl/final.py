"""AutoML's final model: the best pipeline (or a weighted ensemble) refit on all rows and stored."""

from __future__ import annotations

import json
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tunelake.metalearn import zoo
from tunelake.metalearn.ensemble import Ensemble, judge, select
from tunelake.platform.automl.budget import refit_estimate
from tunelake.platform.models.store import ModelStore
from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.schema import TRIALS


def blend_weights(predictions: dict[str, np.ndarray], y: Any, metric: str,
                  task: str) -> tuple[dict[str, float], float]:
    """Ensemble weights chosen on the finished trials' out-of-fold predictions, and the blend's score there."""
    from sklearn.metrics import get_scorer

    classes = np.unique(y) if task == "classification" else None
    return select(predictions, judge(get_scorer(metric), y, classes))


def refit(members: list[dict[str, Any]], task: str, x: Any, y: Any, seed: int,
          deadline: float | None) -> tuple[Any, list[dict[str, Any]]]:
    """The final model fitted on all rows: the heaviest member first, the others whose refit fits the budget.

    A member's refit is estimated from its cross-validation time, as the
    search's deadline does. A lone member is stored as its plain
    scikit-learn pipeline. Members left out are dropped and the others'
    weights renormalised, so the model on disk is exactly what ``members``
    describes.
    """
    fitted: list[tuple[float, Any]] = []
    kept: list[dict[str, Any]] = []
    for member in members:
        if fitted and deadline is not None and time.time() + member["refit_s"] >= deadline:
            continue
        config = zoo.complete(member["params"])
        assert config is not None
        fitted.append((member["weight"], zoo.build_pipeline(task, config, x, seed).fit(x, y)))
        kept.append(member)
    total = sum(w for w, _ in fitted)
    kept = [{k: v for k, v in m.items() if k != "refit_s"} | {"weight": round(w / total, 4)}
            for m, (w, _) in zip(kept, fitted)]
    if len(fitted) == 1:
        return fitted[0][1], kept
    return Ensemble(fitted, np.unique(y) if task == "classification" else None), kept


def store_final(lake: Lake, store: ModelStore, experiment_id: str, best_trial_id: str, weights: dict[str, float],
                task: str, x: Any, y: Any, seed: int, folds: int, deadline: float | None) -> list[dict[str, Any]]:
    """Refit the final model, store it (``model.pkl``, ``members.json``) and point the best trial's row at it."""
    rows = trial_rows(lake, experiment_id)
    members = [{"trial_id": t, "weight": w, "params": json.loads(rows[t]["params"]),
                "refit_s": refit_estimate(rows[t]["duration_s"] or 0.0, folds)}
               for t, w in sorted(weights.items(), key=lambda kv: -kv[1])]
    model, members = refit(members, task, x, y, seed, deadline)
    save_model(lake, store, rows[best_trial_id], model, members)
    return members


def trial_rows(lake: Lake, experiment_id: str) -> dict[str, dict[str, Any]]:
    return {r["trial_id"]: r for r in catalog.trials(lake, experiment_id)}


def save_model(lake: Lake, store: ModelStore, row: dict[str, Any], model: Any, members: list[dict[str, Any]]) -> None:
    """Store a fitted model (``model.pkl``, ``members.json``) as trial ``row``'s, and point the row at it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp).resolve()
        with open(folder / "model.pkl", "wb") as f:
            pickle.dump(model, f)
        (folder / "members.json").write_text(json.dumps(members, indent=2, default=str))
        model_uri = store.save(folder, row["experiment_id"], row["trial_id"])
    row = {k: v for k, v in row.items() if k not in ("version", "updated_at", "schema_version")}
    lake.append(TRIALS, [{**row, "model_uri": model_uri}])
