"""Running one experiment: spec in, every trial in the lake, a :class:`Result` out.

The order matters for "nothing lost": the experiment's row is written before
anything can fail, the code is fetched and prepared on this node before any
trial starts (so a broken ``install_script`` is one clear error, not N failed
trials), and the final row is written however the search ends.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ray

from tunelake._version import __version__
from tunelake.cluster.connect import ray_session
from tunelake.errors import CodeSourceError, TunelakeError, UserInputError
from tunelake.ids import EXPERIMENT_ID, new_experiment_id
from tunelake.paths import cache_root
from tunelake.platform.code import workspace
from tunelake.platform.code.source import Snapshot, code_source, redact_url
from tunelake.platform.models.store import ModelStore, model_store
from tunelake.platform.spec import Backend, Spec, load_spec, parse_spec
from tunelake.platform.tune.recorder import Tally
from tunelake.redact import redact
from tunelake.store import query, spool
from tunelake.store.lake import Lake, utcnow
from tunelake.store.schema import EXPERIMENTS, TRIALS, ExperimentStatus, TrialStatus

# Tune reads these when the driver runs; tunelake writes its own records, so
# Tune's default CSV/JSON/TensorBoard loggers would only cost time and disk.
_TUNE_ENV = {
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    "RAY_AIR_NEW_OUTPUT": "0",
    "TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S": "1000",
    # Tune's experiment state (searcher included) is what `tunelake resume` restores;
    # save it often, so a killed driver loses little.
    "TUNE_GLOBAL_CHECKPOINT_S": "2",
}


@dataclass(frozen=True)
class Result:
    """What a finished experiment left in the lake."""

    experiment_id: str
    status: str
    mode: str
    lake: str
    models: str | None
    best_trial_id: str | None
    best_value: float | None
    best_params: dict[str, Any] | None
    counts: dict[str, int]
    error: str | None = None
    trials: Any = field(default=None, repr=False, compare=False)  # pandas.DataFrame, best first




def use_tune_env() -> None:
    """Tune's settings for tunelake's searches; a variable the user set wins."""
    os.environ.update({k: v for k, v in _TUNE_ENV.items() if k not in os.environ})


def _as_spec(spec: Spec | dict[str, Any] | str | Path) -> tuple[Spec, Path | None]:
    if isinstance(spec, Spec):
        return spec, None
    if isinstance(spec, dict):
        return parse_spec(spec), None
    return load_spec(spec), Path(spec).resolve().parent


def _spec_record(spec: Spec) -> str:
    data = spec.model_dump(mode="json")
    data["code_github"] = redact_url(spec.code_github)
    return json.dumps(data, sort_keys=True)


class Experiment:
    """One run of a spec against a lake. Use :func:`run` unless you need the steps."""

    def __init__(self, spec: Spec, lake: Lake, base_dir: Path | None = None, address: str | None = None,
                 experiment_id: str | None = None, created: datetime | None = None) -> None:
        if spec.backend is Backend.AWS and not (address or os.environ.get("RAY_ADDRESS")):
            raise UserInputError(
                "backend 'aws' runs on a Ray cluster: start one with `ray up` on the config from "
                "`tunelake cluster render SPEC`, then pass --address (or set RAY_ADDRESS); "
                "use backend 'local' to run here"
            )
        self.spec = spec
        self.lake = lake
        self.base_dir = base_dir
        self.address = address
        self.experiment_id = experiment_id or new_experiment_id(spec.display_name())
        self.store: ModelStore = model_store(spec.model_storage, lake.uri, lake.fs.local_path())
        self.dataset_id: str | None = None
        self.snapshot: Snapshot | None = None
        self.ray_address: str | None = None
        self.expected_commit: str | None = None
        self.replay: dict[str, dict[str, Any]] = {}
        self.evaluated: list[tuple[dict[str, Any], float]] = []
        self.meta_points: list[dict[str, Any]] = []  # warm_start.meta: run these first
        self._created = created or utcnow()

    def _write(self, status: ExperimentStatus, **fields: Any) -> None:
        spec = self.spec
        self.lake.append(EXPERIMENTS, [{
            "experiment_id": self.experiment_id,
            "name": spec.display_name(),
            "status": status.value,
            "primary_metric": spec.primary_result_key,
            "mode": spec.mode.value,
            "algorithm": spec.optimizer.algorithm.value,
            "scheduler": spec.optimizer.scheduler.value,
            "num_samples": spec.trial_count(),
            "spec": _spec_record(spec),
            "code_source": self.snapshot.source if self.snapshot else redact_url(spec.code_github),
            "code_commit": self.snapshot.commit if self.snapshot else None,
            "command": spec.command,
            "dataset_id": self.dataset_id,
            "model_storage": self.store.uri_for(self.experiment_id, ""),
            "host": socket.gethostname(),
            "ray_address": self.ray_address,
            "tunelake_version": __version__,
            "ray_version": ray.__version__,
            "created_at": self._created,
            **fields,
        }])

    def run(self, progress: bool = True, restore: bool = False) -> Result:
        spool.replay(cache_root() / "spool", self.lake)  # rows an earlier run kept while the lake was away
        self._write(ExperimentStatus.RUNNING)
        try:
            self._prepare()
            with ray_session(self.address) as address:
                self.ray_address = address
                self._write(ExperimentStatus.RUNNING)
                counts = self._search(progress, restore)
        except KeyboardInterrupt:
            self._end(ExperimentStatus.INTERRUPTED, "interrupted by the user")
            raise
        except TunelakeError as exc:
            self._end(ExperimentStatus.FAILED, str(exc))
            raise
        except Exception as exc:
            self._end(ExperimentStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        completed = counts.get("completed", 0)
        error = None if completed else f"no trial completed ({sum(counts.values())} trials; see trials.reason)"
        return self._end(ExperimentStatus.COMPLETED if completed else ExperimentStatus.FAILED, error)

    def _prepare(self) -> None:
        from tunelake.metalearn.dataset import describe, record
        from tunelake.platform.experiments.warmstart import earlier_results, meta_points

        self.store.check()
        self.evaluated = earlier_results(self.lake, self.spec)
        if self.spec.dataset is not None:
            data = self.spec.dataset
            info = describe(data.uri, data.target, data.task, self.base_dir)
            record(self.lake, info)
            self.dataset_id = info.dataset_id
            if self.spec.warm_start.meta:
                self.meta_points = meta_points(self.lake, self.spec, info)
        source = code_source(self.spec.code_github, self.spec.code_ref, cache_root(), self.base_dir)
        self.snapshot = source.snapshot()
        if self.expected_commit and self.snapshot.commit != self.expected_commit:
            raise CodeSourceError(
                f"the code at {self.snapshot.source} changed since the experiment started "
                f"(was {self.expected_commit}, now {self.snapshot.commit}); resuming needs the same code"
            )
        self._write(ExperimentStatus.RUNNING)
        workspace.prepare(
            self.snapshot.workspace_key(self.spec.install_script),
            lambda: self.snapshot.archive,  # type: ignore[union-attr]
            self.spec.install_script,
            self.spec.dir,
        )

    def _search(self, progress: bool, restore: bool) -> dict[str, int]:
        from tunelake.platform.tune.runner import tune_search

        assert self.snapshot is not None
        use_tune_env()
        tally = Tally(mode=self.spec.mode.value, metric=self.spec.primary_result_key)
        tune_search(self, tally, progress, restore)
        self._close_lost_trials()
        return query.status_counts(self.lake, self.experiment_id)

    def _close_lost_trials(self) -> None:
        """Trials still ``running`` after the search ended were lost with an earlier driver."""
        lost = query.query(
            self.lake, "SELECT trial_id, params, started_at FROM trials WHERE experiment_id = ? AND status = 'running'",
            [self.experiment_id], self.experiment_id,
        ).to_pylist()
        if lost:
            self.lake.append(TRIALS, [{
                "experiment_id": self.experiment_id, "trial_id": t["trial_id"], "status": TrialStatus.FAILED.value,
                "params": t["params"], "started_at": t["started_at"], "finished_at": utcnow(),
                "reason": "lost: the driver stopped while this trial ran, before Tune saved its state",
                "code_commit": self.snapshot.commit if self.snapshot else None, "dataset_id": self.dataset_id,
            } for t in lost])

    def _end(self, status: ExperimentStatus, error: str | None) -> Result:
        best = None
        counts: dict[str, int] = {}
        trials = None
        try:
            best = query.best_trial(self.lake, self.experiment_id)
            counts = query.status_counts(self.lake, self.experiment_id)
            trials = query.trials_frame(self.lake, self.experiment_id)
        except TunelakeError:
            pass
        self._write(
            status,
            finished_at=utcnow(),
            best_trial_id=best["trial_id"] if best else None,
            best_value=best["value"] if best else None,
            best_params=best["params"] if best else None,
            error=redact(error),
        )
        return Result(
            experiment_id=self.experiment_id,
            status=status.value,
            mode=self.spec.mode.value,
            lake=self.lake.uri,
            models=self.store.uri_for(self.experiment_id, ""),
            best_trial_id=best["trial_id"] if best else None,
            best_value=best["value"] if best else None,
            best_params=json.loads(best["params"]) if best else None,
            counts=counts,
            error=error,
            trials=trials,
        )


def resume(experiment_id: str, lake: str | None = None, address: str | None = None,
           progress: bool = False) -> Result:
    """Continue an experiment whose driver died, from Ray Tune's saved state.

    Completed trials stay as they are (in Tune and in the lake); trials that
    were running start again under their own ids; the searcher continues
    from its saved state. The code must be what it was (same commit).
    """
    from tunelake.platform.tune.runner import tune_state_path

    the_lake = Lake(lake)
    rows = query.query(the_lake, "SELECT * FROM experiments WHERE experiment_id = ?", [experiment_id]).to_pylist()
    if not rows:
        raise UserInputError(f"experiment {experiment_id!r} is not in the lake {the_lake.uri}")
    row = rows[0]
    if row["status"] == ExperimentStatus.COMPLETED.value:
        raise UserInputError(f"experiment {experiment_id!r} has completed; there is nothing to resume")
    source = row["code_source"] or ""
    if "***@" in source:
        raise UserInputError(f"experiment {experiment_id!r} fetched its code with credentials in the URL, which the "
                             "lake does not keep; use an SSH URL or a credential helper, then run it again")
    spec = parse_spec(json.loads(row["spec"]))
    git = row["code_commit"] and not row["code_commit"].startswith("sha256:")
    spec = spec.model_copy(update={"code_github": source, "code_ref": row["code_commit"] if git else None})
    experiment = Experiment(spec, the_lake, None, address, experiment_id=experiment_id, created=row["created_at"])
    experiment.expected_commit = row["code_commit"]
    experiment.replay = _completed_results(the_lake, experiment_id)
    from ray import tune

    if not tune.Tuner.can_restore(tune_state_path(experiment)):
        raise UserInputError(f"experiment {experiment_id!r} has no saved Tune state at "
                             f"{tune_state_path(experiment)}; it cannot be resumed")
    return experiment.run(progress=progress, restore=True)


def _completed_results(lake: Lake, experiment_id: str) -> dict[str, dict[str, Any]]:
    """The lake's completed trials of an experiment, as the final results Tune would have seen."""
    from tunelake.platform.trial.result import FINAL, OBJECTIVE, Outcome

    rows = query.query(
        lake, "SELECT trial_id, value, metrics, iterations, exit_code, model_uri, started_at, duration_s "
        "FROM trials WHERE experiment_id = ? AND status = 'completed'", [experiment_id], experiment_id,
    ).to_pylist()
    return {
        r["trial_id"]: {
            "tl_kind": FINAL, "tl_outcome": Outcome.COMPLETED, OBJECTIVE: r["value"],
            "tl_metrics": json.loads(r["metrics"] or "{}"), "tl_reports": "[]", "tl_steps": r["iterations"],
            "tl_exit_code": r["exit_code"], "tl_model_uri": r["model_uri"], "tl_duration_s": r["duration_s"],
        }
        for r in rows
    }


def run(
    spec: Spec | dict[str, Any] | str | Path,
    lake: str | None = None,
    address: str | None = None,
    progress: bool = False,
    experiment_id: str | None = None,
) -> Result:
    """Run an experiment and return its :class:`Result` (trials as a DataFrame).

    ``spec`` is a :class:`Spec`, a dict, or the path of a JSON/YAML file
    (relative ``code_github`` paths are then taken from the file's folder).
    ``lake`` defaults to ``$TUNELAKE_LAKE``, else ``./tunelake-lake``;
    ``address`` to ``$RAY_ADDRESS``, else a local Ray instance.
    """
    parsed, base_dir = _as_spec(spec)
    if experiment_id is not None and not EXPERIMENT_ID.fullmatch(experiment_id):
        raise UserInputError(f"experiment id {experiment_id!r}: use letters, digits, '-' and '_' (at most 100)")
    return Experiment(parsed, Lake(lake), base_dir, address, experiment_id=experiment_id).run(progress=progress)
