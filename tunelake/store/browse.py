"""Named read queries for looking through experiments: trial pages that sort and filter in SQL, the trials in
the order they started, one trial, learning curves, AutoML families.

They sit beside :mod:`tunelake.store.catalog` (the queries the runs themselves ask) because the web page, the
API and ``tunelake plot`` share them; like the catalog, they take bound parameters only, and a sort key or a
filter that is not allowed is a ``ValueError`` naming the choices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tunelake.store.lake import Lake
from tunelake.store.query import query

TRIAL_COLUMNS = ("value", "started_at", "finished_at", "trial_id", "status", "duration_s", "iterations", "node",
                 "cost_usd", "gpu_hours")
"""Trial columns a page may sort by; ``param.<name>`` and ``metric.<name>`` sort by one parameter or metric."""

TRIAL_STATUSES = ("running", "completed", "stopped", "failed")

_NAME = re.compile(r"[A-Za-z0-9_.:/\-]{1,200}")


@dataclass(frozen=True)
class TrialFilter:
    """Which trials a page shows: some statuses (all when empty), and a text every shown trial holds in its id,
    params, node or reason (case-insensitive)."""

    statuses: tuple[str, ...] = ()
    text: str = ""

    def __post_init__(self) -> None:
        wrong = [s for s in self.statuses if s not in TRIAL_STATUSES]
        if wrong:
            raise ValueError(f"status {wrong[0]!r} is not a trial status; use one of {', '.join(TRIAL_STATUSES)}")


@dataclass(frozen=True)
class TrialOrder:
    """A page's order: a column of :data:`TRIAL_COLUMNS` or ``param.<name>`` / ``metric.<name>``, NULLs last."""

    key: str = "finished_at"
    descending: bool = False

    def __post_init__(self) -> None:
        self.sql()  # a key that is not allowed fails here, naming the choices

    def sql(self) -> tuple[str, list[Any]]:
        """The ORDER BY terms and their bound parameters (a JSON field sorts as a number, then as text)."""
        direction = "DESC" if self.descending else "ASC"
        for prefix, column in (("param.", "params"), ("metric.", "metrics")):
            if self.key.startswith(prefix):
                name = self.key[len(prefix):]
                if not _NAME.fullmatch(name):
                    raise ValueError(f"sort: {name!r} is not a parameter or metric name")
                return (f"TRY_CAST(json_extract_string({column}, ?) AS DOUBLE) {direction} NULLS LAST, "
                        f"json_extract_string({column}, ?) {direction} NULLS LAST, trial_id",
                        [f"$.\"{name}\"", f"$.\"{name}\""])
        if self.key not in TRIAL_COLUMNS:
            raise ValueError(f"sort must be one of {', '.join(TRIAL_COLUMNS)}, param.<name> or metric.<name>; "
                             f"got {self.key!r}")
        return f"{self.key} {direction} NULLS LAST, trial_id", []


def trials_page(lake: Lake, experiment_id: str, order: TrialOrder = TrialOrder(),
                where: TrialFilter = TrialFilter(), offset: int = 0, limit: int | None = None
                ) -> tuple[list[dict[str, Any]], int]:
    """One page of an experiment's trials (every column) in ``order``, and how many trials ``where`` keeps."""
    conditions, args = ["experiment_id = ?"], [experiment_id]
    if where.statuses:
        conditions.append("list_contains(?, status)")
        args.append(list(where.statuses))
    if where.text:
        conditions.append("concat_ws(' ', trial_id, params, node, reason) ILIKE ? ESCAPE '\\'")
        args.append("%" + where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    order_sql, order_args = order.sql()
    rows = query(lake, f"SELECT *, count(*) OVER () AS _total FROM trials WHERE {' AND '.join(conditions)} "
                       f"ORDER BY {order_sql} LIMIT ? OFFSET ?",
                 [*args, *order_args, limit if limit is not None else 2**62, offset], experiment_id).to_pylist()
    total = rows[0].pop("_total") if rows else _count(lake, experiment_id, conditions, args)
    for r in rows[1:]:
        r.pop("_total")
    return rows, total


def _count(lake: Lake, experiment_id: str, conditions: list[str], args: list[Any]) -> int:
    """The count when the page itself is empty (an offset past the end)."""
    return query(lake, f"SELECT count(*) AS n FROM trials WHERE {' AND '.join(conditions)}", args,
                 experiment_id).to_pylist()[0]["n"]


def trial(lake: Lake, experiment_id: str, trial_id: str) -> dict[str, Any] | None:
    """One trial's latest row, every column."""
    rows = query(lake, "SELECT * FROM trials WHERE experiment_id = ? AND trial_id = ?", [experiment_id, trial_id],
                 experiment_id).to_pylist()
    return rows[0] if rows else None


def trials_in_start_order(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """Every trial of an experiment in the order it started (then by id): status, value, params and times."""
    return query(lake, "SELECT trial_id, status, value, params, started_at, finished_at, duration_s FROM trials "
                       "WHERE experiment_id = ? ORDER BY started_at NULLS LAST, trial_id", [experiment_id],
                 experiment_id).to_pylist()


def learning_curves(lake: Lake, experiment_id: str, trial_ids: list[str]) -> list[dict[str, Any]]:
    """Every intermediate report of these trials: trial_id, step, value (the primary metric), by trial and step."""
    return query(lake, "SELECT trial_id, step, value FROM results WHERE experiment_id = ? "
                       "AND list_contains(?, trial_id) ORDER BY trial_id, step", [experiment_id, trial_ids],
                 experiment_id).to_pylist()


def curve_trials(lake: Lake, experiment_id: str, limit: int) -> list[str]:
    """The trials whose curves a chart shows first: those with the most reports, then by id."""
    rows = query(lake, "SELECT trial_id FROM results WHERE experiment_id = ? GROUP BY trial_id "
                       "ORDER BY count(*) DESC, trial_id LIMIT ?", [experiment_id, limit], experiment_id).to_pylist()
    return [r["trial_id"] for r in rows]


def families(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """An AutoML experiment's trials by model family: trials, completed, best score (higher is better),
    the best trial, its params and the folds it ran; families with a score first, best first."""
    return query(lake, """
        SELECT params->>'family' AS family, count(*) AS trials, count(*) FILTER (status = 'completed') AS completed,
               max(value) FILTER (status = 'completed' AND isfinite(value)) AS best,
               arg_max(trial_id, value) FILTER (status = 'completed' AND isfinite(value)) AS best_trial_id,
               arg_max(params, value) FILTER (status = 'completed' AND isfinite(value)) AS best_params,
               arg_max(iterations, value) FILTER (status = 'completed' AND isfinite(value)) AS best_folds
        FROM trials WHERE experiment_id = ? AND params->>'family' IS NOT NULL
        GROUP BY 1 ORDER BY best DESC NULLS LAST, family
    """, [experiment_id], experiment_id).to_pylist()


def automl_runs(lake: Lake) -> list[dict[str, Any]]:
    """Completed AutoML experiments: id, dataset (id and name), spec; oldest first."""
    return query(lake, """
        SELECT e.experiment_id, e.dataset_id, d.name AS dataset, e.spec FROM experiments e
        LEFT JOIN datasets d USING (dataset_id)
        WHERE e.command = 'tunelake automl' AND e.status = 'completed' ORDER BY e.created_at, e.experiment_id
    """).to_pylist()


def values_by_experiment(lake: Lake, experiment_ids: list[str]) -> dict[str, list[float | None]]:
    """Each experiment's trial values in start order (``None`` where a trial has none)."""
    rows = query(lake, "SELECT experiment_id, value FROM trials WHERE list_contains(?, experiment_id) "
                       "ORDER BY experiment_id, started_at NULLS LAST, trial_id", [experiment_ids]).to_pylist()
    found: dict[str, list[float | None]] = {e: [] for e in experiment_ids}
    for r in rows:
        found[r["experiment_id"]].append(r["value"])
    return found


def dataset(lake: Lake, dataset_id: str) -> dict[str, Any] | None:
    """One dataset's row: name, task, meta-features and the feature set that made them."""
    rows = query(lake, "SELECT * FROM datasets WHERE dataset_id = ?", [dataset_id]).to_pylist()
    return rows[0] if rows else None
