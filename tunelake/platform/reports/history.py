"""An experiment's trials as charts read them: every trial in start order with its value and the best so far,
the points of the map over two parameters, learning curves, and experiments side by side.

The API returns these as they are and ``tunelake plot`` draws them, so the page and the command line show the
same numbers. Every trial is here, whatever its status: a stopped trial's value is its last report, and a failed
one has none; only completed trials move the best so far (as the experiment's best does).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from tunelake.errors import NotFound, UserInputError
from tunelake.platform.reports.space import Axis, axes
from tunelake.store import browse, catalog
from tunelake.store.lake import Lake


def finite(value: Any) -> Any:
    """``value``, or ``None`` for a NaN or an infinity (JSON has neither)."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


def experiment_duration(row: dict[str, Any]) -> float | None:
    """Seconds from an experiment's creation to its end, or to now while it runs."""
    start, end = row.get("created_at"), row.get("finished_at")
    if start is None:
        return None
    if end is None and row.get("status") in ("running", "lost"):
        end = datetime.now(timezone.utc)
    return (end - start).total_seconds() if end is not None else None


def experiment_row(lake: Lake, experiment_id: str) -> dict[str, Any]:
    row = catalog.experiment(lake, experiment_id)
    if row is None:
        raise NotFound(f"experiment {experiment_id!r} is not in the lake {lake.uri}; "
                             "`tunelake experiments list` shows those it holds")
    return row


def history(lake: Lake, experiment_id: str) -> dict[str, Any]:
    """The experiment's metric and mode, an axis per parameter, and every trial as a point (see the module)."""
    row = experiment_row(lake, experiment_id)
    maximize = row.get("mode") != "min"
    rows = browse.trials_in_start_order(lake, experiment_id)
    best: float | None = None
    points = []
    for number, r in enumerate(rows):
        value = finite(r["value"])
        if r["status"] == "completed" and value is not None and catalog.better(value, best, "max" if maximize else "min"):
            best = value
        points.append({"number": number, "trial_id": r["trial_id"], "status": r["status"], "value": value,
                       "best": best, "params": json.loads(r["params"] or "{}"), "started_at": r["started_at"],
                       "finished_at": r["finished_at"], "duration_s": finite(r["duration_s"])})
    return {"experiment_id": experiment_id, "metric": row.get("primary_metric"), "mode": row.get("mode") or "max",
            "params": [a.public() for a in axes(row.get("spec"), [p["params"] for p in points])], "data": points}


def _axis(found: list[dict[str, Any]], name: str, experiment_id: str) -> Axis:
    for a in found:
        if a["name"] == name:
            return Axis.from_public(a)
    names = ", ".join(a["name"] for a in found) or "none yet"
    raise UserInputError(f"{name!r} is not a parameter of {experiment_id}; its parameters: {names}")


def metric_map(lake: Lake, experiment_id: str, x: str, y: str, bins: int = 0) -> dict[str, Any]:
    """The map of the metric over parameters ``x`` and ``y``: both axes, and each trial with a value (completed
    or stopped) that has both parameters, at its place on each axis; with ``bins``, a heat map too: the best
    value in each cell of a ``bins`` x ``bins`` grid (a category axis has a cell per category)."""
    seen = history(lake, experiment_id)
    ax, ay = _axis(seen["params"], x, experiment_id), _axis(seen["params"], y, experiment_id)
    points = []
    for p in seen["data"]:
        px, py = ax.position(p["params"].get(x)), ay.position(p["params"].get(y))
        if p["value"] is not None and px is not None and py is not None:
            points.append({"trial_id": p["trial_id"], "status": p["status"], "x": px, "y": py, "value": p["value"]})
    return {"experiment_id": experiment_id, "metric": seen["metric"], "mode": seen["mode"],
            "x": ax.public(), "y": ay.public(), "data": points,
            "grid": _grid(ax, ay, points, bins, seen["mode"]) if bins else None}


def _grid(ax: Axis, ay: Axis, points: list[dict[str, Any]], bins: int, mode: str) -> dict[str, Any]:
    """Cell bounds on each axis and, for each cell holding a trial, [x cell, y cell, best value, trials]."""
    x_bins, y_bins = ax.bins(bins, [p["x"] for p in points]), ay.bins(bins, [p["y"] for p in points])
    cells: dict[tuple[int, int], list[Any]] = {}
    for p in points:
        key = (ax.cell(x_bins, p["x"]), ay.cell(y_bins, p["y"]))
        if key not in cells:
            cells[key] = [*key, p["value"], 0]
        elif catalog.better(p["value"], cells[key][2], mode):
            cells[key][2] = p["value"]
        cells[key][3] += 1
    return {"x": x_bins, "y": y_bins, "cells": sorted(cells.values())}


def learning_curves(lake: Lake, experiment_id: str, trial_ids: list[str], limit: int = 50) -> dict[str, Any]:
    """Each trial's reports of the primary metric by step, for ``trial_ids`` (else the ``limit`` trials with
    the most reports), with each trial's status, so a chart can show where a scheduler stopped it."""
    row = experiment_row(lake, experiment_id)
    chosen = trial_ids or browse.curve_trials(lake, experiment_id, limit)
    statuses = {p["trial_id"]: p["status"] for p in browse.trials_in_start_order(lake, experiment_id)}
    curves: dict[str, list[list[float | None]]] = {t: [] for t in chosen}
    for r in browse.learning_curves(lake, experiment_id, chosen):
        curves[r["trial_id"]].append([r["step"], finite(r["value"])])
    return {"experiment_id": experiment_id, "metric": row.get("primary_metric"), "mode": row.get("mode") or "max",
            "data": [{"trial_id": t, "status": statuses.get(t), "points": curves[t]} for t in chosen]}


def compare(lake: Lake, experiment_ids: list[str]) -> list[dict[str, Any]]:
    """Each experiment's history without params (for one chart of all), its best value, trial and params."""
    if not 2 <= len(experiment_ids) <= 5 or len(set(experiment_ids)) != len(experiment_ids):
        raise UserInputError(f"compare takes 2 to 5 different experiments; got {len(experiment_ids)}: "
                             f"{', '.join(experiment_ids)}")
    found = []
    for experiment_id in experiment_ids:
        seen = history(lake, experiment_id)
        best = catalog.best_trial(lake, experiment_id)
        found.append({
            "experiment_id": experiment_id, "metric": seen["metric"], "mode": seen["mode"],
            "best_value": finite(best["value"]) if best else None, "best_trial_id": best and best["trial_id"],
            "best_params": json.loads(best["params"] or "{}") if best else None,
            "data": [{k: p[k] for k in ("number", "trial_id", "status", "value", "best")} for p in seen["data"]],
        })
    return found
