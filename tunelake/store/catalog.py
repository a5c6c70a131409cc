"""Every named read query over the lake, and what "best" means, defined once.

The rest of tunelake asks questions by name (``best_trial``, ``trials_page``,
``completed_results``...) rather than writing SQL, so the lake's columns can
move in one place. Ad-hoc SQL from users goes through
:func:`tunelake.store.query.query` or :mod:`tunelake.store.sandbox`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tunelake.store.lake import Lake
from tunelake.store.query import query

BEST_FIRST = "CASE WHEN e.mode = 'min' THEN t.value ELSE -t.value END"
"""Sorts trials ``t`` of experiments ``e`` best first (NULLs wherever the ORDER BY puts them)."""


def better(value: float, than: float | None, mode: str) -> bool:
    """Whether ``value`` beats ``than`` for an experiment of ``mode`` (``max`` or ``min``); NaN beats nothing."""
    if not math.isfinite(value):
        return False
    return than is None or (value > than if mode == "max" else value < than)


def score(value: float, mode: str) -> float:
    """``value`` as a score where higher is better, whatever the experiment's mode."""
    return value if mode == "max" else -value


# -- experiments ----------------------------------------------------------------------------------


MISSED_BEATS = 4
"""A driver whose last heartbeat is older than this many of its intervals is gone."""

_LIVE = f"ended_at IS NULL AND heartbeat_at + to_seconds({MISSED_BEATS} * heartbeat_s) > now()"

_SEEN = f"""
    WITH alive AS (SELECT DISTINCT experiment_id FROM drivers WHERE {_LIVE}),
    spent AS (SELECT experiment_id, sum(cpu_hours) AS cpu_hours, sum(gpu_hours) AS gpu_hours,
                     sum(cost_usd) AS cost_usd, count(cost_usd) AS priced_trials, max(price_table) AS price_table
              FROM trials GROUP BY experiment_id)
    SELECT e.* REPLACE (CASE WHEN e.status = 'running' AND a.experiment_id IS NULL THEN 'lost'
                             ELSE e.status END AS status),
           s.cpu_hours, s.gpu_hours, s.cost_usd, s.priced_trials, s.price_table
    FROM experiments e LEFT JOIN alive a USING (experiment_id) LEFT JOIN spent s USING (experiment_id)"""
"""Experiments as readers should see them: a ``running`` row with no live driver is ``lost`` (a driver
claims its experiment in ``drivers`` before it writes the row, and keeps the claim fresh until the end),
and what its trials cost so far (summed from their rows: ``cost_usd`` over the ``priced_trials`` whose
node's price is known)."""


def experiment(lake: Lake, experiment_id: str) -> dict[str, Any] | None:
    # its own partition of trials only: the cost sums need no other experiment's files
    rows = query(lake, f"{_SEEN} WHERE experiment_id = ?", [experiment_id], experiment_id).to_pylist()
    return rows[0] if rows else None


def experiments(lake: Lake) -> list[dict[str, Any]]:
    """Every experiment, newest first."""
    return query(lake, f"{_SEEN} ORDER BY created_at DESC").to_pylist()


def live_drivers(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """The drivers of an experiment whose heartbeat is fresh, the one that drives it first."""
    return query(lake, f"SELECT * FROM drivers WHERE experiment_id = ? AND {_LIVE} ORDER BY lease, driver_id",
                 [experiment_id]).to_pylist()


def metrics_of(lake: Lake, experiment_ids: list[str]) -> dict[str, str]:
    """The primary metric of each of these experiments that the lake holds."""
    rows = query(lake, "SELECT experiment_id, primary_metric FROM experiments WHERE list_contains(?, experiment_id)",
                 [experiment_ids]).to_pylist()
    return {r["experiment_id"]: r["primary_metric"] for r in rows}


def pool_datasets_done(lake: Lake, command: str, pool: str) -> set[str]:
    """Datasets whose candidate pool ``pool`` has been scored to the end (the dense bootstrap skips them)."""
    rows = query(lake, "SELECT DISTINCT dataset_id FROM experiments "
                       "WHERE status = 'completed' AND command = ? AND spec->>'pool' = ?", [command, pool]).to_pylist()
    return {r["dataset_id"] for r in rows}


def pool_scores(lake: Lake, command: str, pool: str, feature_set: str) -> list[dict[str, Any]]:
    """Every trial of the completed pool experiments: the dense history (datasets x configurations), with each
    dataset's name, task and meta-features; failed configurations have no value."""
    return query(lake, """
        SELECT t.dataset_id, d.name, d.task, d.meta_features, t.params, t.status,
               CASE WHEN t.status = 'completed' AND isfinite(t.value) THEN t.value END AS value
        FROM trials t JOIN experiments e USING (experiment_id) JOIN datasets d ON d.dataset_id = t.dataset_id
        WHERE e.status = 'completed' AND e.command = ? AND e.spec->>'pool' = ? AND d.feature_set = ?
        ORDER BY t.dataset_id, t.trial_id
    """, [command, pool, feature_set]).to_pylist()


def automl_datasets_done(lake: Lake) -> set[str]:
    """Datasets an AutoML search has completed on (the prior's bootstrap skips them)."""
    rows = query(lake, "SELECT DISTINCT dataset_id FROM experiments "
                       "WHERE status = 'completed' AND command = 'tunelake automl'").to_pylist()
    return {r["dataset_id"] for r in rows}


# -- one experiment's trials ------------------------------------------------------------------------


def status_counts(lake: Lake, experiment_id: str) -> dict[str, int]:
    rows = query(lake, "SELECT status, count(*) AS n FROM trials WHERE experiment_id = ? GROUP BY 1",
                 [experiment_id], experiment_id).to_pylist()
    return {r["status"]: r["n"] for r in rows}


def all_status_counts(lake: Lake) -> dict[str, dict[str, int]]:
    """Trial counts by status, for every experiment."""
    counts: dict[str, dict[str, int]] = {}
    for r in query(lake, "SELECT experiment_id, status, count(*) AS n FROM trials GROUP BY 1, 2").to_pylist():
        counts.setdefault(r["experiment_id"], {})[r["status"]] = r["n"]
    return counts


def best_trial(lake: Lake, experiment_id: str) -> dict[str, Any] | None:
    """The best completed trial of an experiment (ties: the first by id), or ``None``."""
    rows = query(
        lake,
        "SELECT t.trial_id, t.value, t.params, t.model_uri, t.duration_s FROM trials t JOIN experiments e "
        "USING (experiment_id) "
        f"WHERE experiment_id = ? AND t.status = 'completed' AND isfinite(t.value) ORDER BY {BEST_FIRST}, t.trial_id "
        "LIMIT 1",
        [experiment_id], experiment_id,
    ).to_pylist()
    return rows[0] if rows else None


def trials_frame(lake: Lake, experiment_id: str):  # -> pandas.DataFrame
    """An experiment's trials, completed ones first, best first, as a pandas DataFrame."""
    return query(
        lake,
        "SELECT t.* FROM trials t JOIN experiments e USING (experiment_id) WHERE experiment_id = ? "
        f"ORDER BY t.status = 'completed' DESC, {BEST_FIRST} ASC NULLS LAST, t.trial_id",
        [experiment_id], experiment_id,
    ).to_pandas()


def model_trials(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """An experiment's trials, those with a stored model first, then completed ones, then best value first, so the
    first row is the best completed trial's model when there is one; rows hold trial_id, status, value, model_uri."""
    return query(
        lake,
        "SELECT t.trial_id, t.status, t.value, t.model_uri FROM trials t JOIN experiments e USING (experiment_id) "
        f"WHERE experiment_id = ? ORDER BY t.model_uri IS NULL, t.status <> 'completed', {BEST_FIRST} NULLS LAST, "
        "t.trial_id",
        [experiment_id], experiment_id,
    ).to_pylist()


TRIAL_SORTS = ("value", "started_at", "finished_at", "trial_id")


def trials_page(lake: Lake, experiment_id: str, sort: str = "finished_at", descending: bool = False
                ) -> list[dict[str, Any]]:
    """An experiment's trials in the order asked (one of :data:`TRIAL_SORTS`), NULLs last, then by id."""
    if sort not in TRIAL_SORTS:
        raise ValueError(f"sort must be one of {TRIAL_SORTS}")
    return query(lake, f"SELECT * FROM trials WHERE experiment_id = ? ORDER BY {sort} "
                       f"{'DESC' if descending else 'ASC'} NULLS LAST, trial_id", [experiment_id],
                 experiment_id).to_pylist()


def trials(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """An experiment's trials, every column, by id."""
    return trials_page(lake, experiment_id, "trial_id")


def completed_results(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """An experiment's completed trials with what their final result held (what ``resume`` hands back to Tune)."""
    return query(lake, "SELECT trial_id, value, metrics, iterations, exit_code, model_uri, started_at, duration_s "
                       "FROM trials WHERE experiment_id = ? AND status = 'completed'", [experiment_id],
                 experiment_id).to_pylist()


def running_trials(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """An experiment's trials whose latest row still says ``running``."""
    return query(lake, "SELECT trial_id, params, started_at FROM trials WHERE experiment_id = ? AND status = 'running'",
                 [experiment_id], experiment_id).to_pylist()


def values_in_start_order(lake: Lake, experiment_id: str) -> list[float | None]:
    """Each trial's value, in the order the trials started (for regret curves)."""
    rows = query(lake, "SELECT value FROM trials WHERE experiment_id = ? ORDER BY started_at", [experiment_id],
                 experiment_id).to_pylist()
    return [r["value"] for r in rows]


def completed_points(lake: Lake, experiment_ids: list[str]) -> list[dict[str, Any]]:
    """``params`` and ``value`` of the completed trials with a finite value of these experiments."""
    return query(lake, "SELECT params, value FROM trials WHERE list_contains(?, experiment_id) "
                       "AND status = 'completed' AND isfinite(value)", [experiment_ids],
                 experiment_ids[0] if len(experiment_ids) == 1 else None).to_pylist()


# -- history across datasets (meta-learning) -------------------------------------------------------------------


def history_by_dataset(lake: Lake, metric: str, task: str, feature_set: str, other_than: str
                       ) -> list[dict[str, Any]]:
    """Completed trials optimizing ``metric`` on other datasets of ``task`` described by ``feature_set``,
    with the dataset's meta-features and the experiment's mode."""
    return query(lake, """
        SELECT t.dataset_id, d.meta_features, t.params, t.value, e.mode
        FROM trials t JOIN experiments e USING (experiment_id) JOIN datasets d ON d.dataset_id = t.dataset_id
        WHERE t.status = 'completed' AND isfinite(t.value) AND e.primary_metric = ? AND d.task = ?
          AND d.feature_set = ? AND t.dataset_id <> ?
    """, [metric, task, feature_set, other_than]).to_pylist()


def automl_history(lake: Lake, task: str, feature_set: str) -> list[dict[str, Any]]:
    """Completed AutoML trials (a zoo ``family`` among their params) on datasets of ``task``."""
    return query(lake, """
        SELECT d.dataset_id, d.name, d.meta_features, t.params, t.value
        FROM trials t JOIN datasets d USING (dataset_id)
        WHERE t.status = 'completed' AND isfinite(t.value) AND d.task = ? AND d.feature_set = ?
          AND t.params->>'family' IS NOT NULL
    """, [task, feature_set]).to_pylist()


def prior_rows(lake: Lake, feature_set: str) -> list[dict[str, Any]]:
    """Completed AutoML trials of every dataset, best first within each (AutoML scores are higher-better)."""
    return query(lake, """
        SELECT d.dataset_id, d.name, d.task, d.meta_features, t.params, t.value
        FROM trials t JOIN datasets d USING (dataset_id)
        WHERE t.status = 'completed' AND isfinite(t.value) AND d.feature_set = ? AND t.params->>'family' IS NOT NULL
        ORDER BY d.dataset_id, t.value DESC
    """, [feature_set]).to_pylist()


# -- what happened to trials as they ran ---------------------------------------------------------

LINEAGE = """
    WITH RECURSIVE exploits AS (
        SELECT trial_id, source_trial_id, step, source_step, params, happened_at FROM trial_events
        WHERE experiment_id = ? AND kind = 'exploit'),
    chain AS (
        SELECT trial_id AS descendant, trial_id, source_trial_id, step, source_step, params, happened_at, 1 AS depth
        FROM exploits
        UNION ALL
        SELECT c.descendant, e.trial_id, e.source_trial_id, e.step, e.source_step, e.params, e.happened_at, c.depth + 1
        FROM chain c JOIN exploits e ON e.trial_id = c.source_trial_id AND e.happened_at < c.happened_at)
    SELECT * FROM chain ORDER BY descendant, depth, happened_at DESC"""
"""PBT's family tree: for each trial that was ever cloned into (``descendant``), every exploit it inherits,
nearest first: its own (depth 1), then the ones its source had undergone before it was cloned, and so on."""


def lineage(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """The exploits each trial of a PBT or PB2 experiment descends from (:data:`LINEAGE`)."""
    return query(lake, LINEAGE, [experiment_id], experiment_id).to_pylist()


# -- several metrics at once ------------------------------------------------------------------------


def objectives_of(row: dict[str, Any]) -> list[dict[str, str]]:
    """An experiment row's metrics and modes, primary first (one for a lake row older than the column; none
    for a row that names no metric yet)."""
    listed = json.loads(row.get("objectives") or "null")
    if listed:
        return listed
    return [{"metric": row["primary_metric"], "mode": row["mode"]}] if row.get("primary_metric") else []


def pareto_front(lake: Lake, experiment_id: str) -> list[dict[str, Any]]:
    """The completed trials no other completed trial beats on every objective at once (at least as good on
    each, better on one), best first by the primary metric. Each row has the trial's id, params and
    metrics, and ``objectives``: its values in the experiment's order."""
    row = experiment(lake, experiment_id)
    objectives = objectives_of(row) if row is not None else []
    if not objectives:
        return []
    if any(o["mode"] not in ("max", "min") for o in objectives):
        raise ValueError(f"experiment {experiment_id} has a mode other than max and min: {objectives}")
    columns = ", ".join(f"TRY_CAST(metrics->>? AS DOUBLE) AS o{i}" for i in range(len(objectives)))
    ge = " AND ".join(f"o.o{i} {'>=' if o['mode'] == 'max' else '<='} t.o{i}" for i, o in enumerate(objectives))
    gt = " OR ".join(f"o.o{i} {'>' if o['mode'] == 'max' else '<'} t.o{i}" for i, o in enumerate(objectives))
    known = " AND ".join(f"o{i} IS NOT NULL" for i in range(len(objectives)))
    first = "DESC" if objectives[0]["mode"] == "max" else "ASC"
    sql = f"""
        WITH t AS (SELECT * FROM (SELECT trial_id, params, metrics, {columns} FROM trials
                                  WHERE experiment_id = ? AND status = 'completed') WHERE {known})
        SELECT trial_id, params, metrics, [{", ".join(f"o{i}" for i in range(len(objectives)))}] AS objectives
        FROM t WHERE NOT EXISTS (SELECT 1 FROM t o WHERE ({ge}) AND ({gt}))
        ORDER BY o0 {first}, trial_id"""
    return query(lake, sql, [o["metric"] for o in objectives] + [experiment_id], experiment_id).to_pylist()
