"""The lake's tables: their Arrow schemas, keys and version.

Every row carries ``schema_version`` and ``version`` (a nanosecond clock that
orders the versions of one key); readers see the latest version of each key.
A new column is added at the end with a default of null, which old files then
read as; a change that is not additive bumps :data:`SCHEMA_VERSION` and comes
with a migration in :mod:`tunelake.store.lake`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pyarrow as pa

SCHEMA_VERSION = 2
"""2: ``trials.restarts``, ``experiments.objectives`` and the ``trial_events`` table (restarts after a worker
died, PBT's exploits)."""

_TS = pa.timestamp("us", tz="UTC")


class TrialStatus(str, Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


class ExperimentStatus(str, Enum):
    """How an experiment stands. ``lost`` is never stored: readers show a ``running`` row as ``lost``
    once its driver's heartbeat in ``drivers`` has stopped (see :mod:`tunelake.store.catalog`)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # Ctrl-C (SIGINT)
    STOPPED = "stopped"  # SIGTERM: `ray job stop`, POST /experiments/{id}/stop, a shutdown
    LOST = "lost"


@dataclass(frozen=True)
class Table:
    """A lake table: its name, the columns that identify a row, its schema, and
    the column (if any) whose value names the partition folder."""

    name: str
    key: tuple[str, ...]
    schema: pa.Schema
    partition: str | None = None


_COMMON = [
    pa.field("updated_at", _TS),
    pa.field("version", pa.int64()),
    pa.field("schema_version", pa.int16()),
]

EXPERIMENTS = Table(
    "experiments",
    ("experiment_id",),
    pa.schema(
        [
            pa.field("experiment_id", pa.string()),
            pa.field("name", pa.string()),
            pa.field("status", pa.string()),
            pa.field("primary_metric", pa.string()),
            pa.field("mode", pa.string()),
            pa.field("algorithm", pa.string()),
            pa.field("scheduler", pa.string()),
            pa.field("num_samples", pa.int64()),
            pa.field("spec", pa.string()),
            pa.field("code_source", pa.string()),
            pa.field("code_commit", pa.string()),
            pa.field("command", pa.string()),
            pa.field("dataset_id", pa.string()),
            pa.field("model_storage", pa.string()),
            pa.field("ray_address", pa.string()),
            pa.field("host", pa.string()),
            pa.field("tunelake_version", pa.string()),
            pa.field("ray_version", pa.string()),
            pa.field("created_at", _TS),
            pa.field("finished_at", _TS),
            pa.field("best_trial_id", pa.string()),
            pa.field("best_value", pa.float64()),
            pa.field("best_params", pa.string()),
            pa.field("error", pa.string()),
            pa.field("objectives", pa.string()),  # JSON [{"metric", "mode"}]: the first is primary_metric
            *_COMMON,
        ]
    ),
)

TRIALS = Table(
    "trials",
    ("experiment_id", "trial_id"),
    pa.schema(
        [
            pa.field("experiment_id", pa.string()),
            pa.field("trial_id", pa.string()),
            pa.field("status", pa.string()),
            pa.field("params", pa.string()),
            pa.field("value", pa.float64()),
            pa.field("metrics", pa.string()),
            pa.field("iterations", pa.int64()),
            pa.field("started_at", _TS),
            pa.field("finished_at", _TS),
            pa.field("duration_s", pa.float64()),
            pa.field("node", pa.string()),
            pa.field("exit_code", pa.int64()),
            pa.field("signal", pa.string()),
            pa.field("reason", pa.string()),
            pa.field("stderr_tail", pa.string()),
            pa.field("model_uri", pa.string()),
            pa.field("code_commit", pa.string()),
            pa.field("dataset_id", pa.string()),
            pa.field("restarts", pa.int64()),  # times the trial started again from a checkpoint
            pa.field("instance_type", pa.string()),  # the node's (None: not known, e.g. off AWS)
            pa.field("cpus", pa.float64()),  # what the trial reserved
            pa.field("gpus", pa.float64()),
            pa.field("cpu_hours", pa.float64()),  # cpus x duration
            pa.field("gpu_hours", pa.float64()),  # gpus x duration
            pa.field("cost_usd", pa.float64()),  # its share of the node's on-demand price x duration
            pa.field("price_table", pa.string()),  # the price table the estimate used: name@version
            *_COMMON,
        ]
    ),
    partition="experiment_id",
)

RESULTS = Table(
    "results",
    ("experiment_id", "trial_id", "step"),
    pa.schema(
        [
            pa.field("experiment_id", pa.string()),
            pa.field("trial_id", pa.string()),
            pa.field("step", pa.int64()),
            pa.field("value", pa.float64()),
            pa.field("metrics", pa.string()),
            pa.field("reported_at", _TS),
            *_COMMON,
        ]
    ),
    partition="experiment_id",
)

DATASETS = Table(
    "datasets",
    ("dataset_id",),
    pa.schema(
        [
            pa.field("dataset_id", pa.string()),
            pa.field("name", pa.string()),
            pa.field("source", pa.string()),
            pa.field("target", pa.string()),
            pa.field("task", pa.string()),
            pa.field("n_rows", pa.int64()),
            pa.field("n_features", pa.int64()),
            pa.field("meta_features", pa.string()),
            pa.field("feature_set", pa.string()),
            *_COMMON,
        ]
    ),
)

DRIVERS = Table(
    "drivers",
    ("experiment_id", "driver_id"),
    pa.schema(
        [
            pa.field("experiment_id", pa.string()),
            pa.field("driver_id", pa.string()),
            pa.field("host", pa.string()),
            pa.field("pid", pa.int64()),
            pa.field("command", pa.string()),
            pa.field("lease", pa.int64()),  # the order of claims: the lowest live one drives
            pa.field("heartbeat_s", pa.float64()),
            pa.field("heartbeat_at", _TS),
            pa.field("ended_at", _TS),
            *_COMMON,
        ]
    ),
)
"""One row per driver process of an experiment (``run``, ``resume``, ``automl``): its claim to drive
it and its heartbeat, so a second driver is refused and a dead one is seen."""



class EventKind(str, Enum):
    RESTART = "restart"  # the trial's worker or node died; Tune started it again from its last checkpoint
    EXPLOIT = "exploit"  # PBT/PB2 cloned source_trial_id's checkpoint into the trial, with new params


TRIAL_EVENTS = Table(
    "trial_events",
    ("experiment_id", "trial_id", "event_id"),
    pa.schema(
        [
            pa.field("experiment_id", pa.string()),
            pa.field("trial_id", pa.string()),
            pa.field("event_id", pa.string()),  # ordered by time within a trial
            pa.field("kind", pa.string()),
            pa.field("step", pa.int64()),  # the trial's training iteration when it happened
            pa.field("source_trial_id", pa.string()),  # exploit: the trial cloned
            pa.field("source_step", pa.int64()),  # exploit: the cloned trial's iteration; restart: the checkpoint's
            pa.field("params_before", pa.string()),
            pa.field("params", pa.string()),  # the params the trial goes on with
            pa.field("reason", pa.string()),
            pa.field("happened_at", _TS),
            *_COMMON,
        ]
    ),
    partition="experiment_id",
)
"""What happened to a trial between its start and its end: restarts and PBT's exploits (its lineage)."""

TABLES: dict[str, Table] = {t.name: t for t in (EXPERIMENTS, TRIALS, RESULTS, DATASETS, DRIVERS, TRIAL_EVENTS)}
