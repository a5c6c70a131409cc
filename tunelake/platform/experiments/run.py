"""Running one experiment: spec in, every trial in the lake, a :class:`Result` out.

The order matters for "nothing lost": the experiment's row is written before
anything can fail, the code is fetched and prepared on this node before any
trial starts (so a broken ``install_script`` is one clear error, not N failed
trials), and the final row is written however the search ends.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import ray

from tunelake.cluster.connect import ray_session
from tunelake.errors import CodeSourceError, UserInputError
from tunelake.ids import EXPERIMENT_ID, new_experiment_id
from tunelake.paths import cache_root
from tunelake.platform.code import workspace
from tunelake.platform.code.source import CodeSource, Snapshot, code_source, redact_url
from tunelake.platform.code.staged import StagedSource
from tunelake.platform.experiments.lifecycle import ExperimentRecord, Result
from tunelake.platform.models.store import ModelStore, model_store
from tunelake.platform.spec import POPULATION, Backend, Spec, load_spec, parse_spec
from tunelake.platform.tune.runner import SearchPlan, TuneStorage, run_search, tune_storage
from tunelake.platform.tune.schedulers import STOP_REASONS, make_scheduler
from tunelake.platform.tune.searchers import check_installed, make_searcher
from tunelake.platform.tune.slots import check_a_node_fits
from tunelake.platform.tune.space import param_space
from tunelake.platform.tune.context import TrialContext
from tunelake.platform.tune.trainable import command_trainable
from tunelake.store import catalog, spool
from tunelake.store.lake import Lake, utcnow
from tunelake.store.schema import TRIALS, TrialStatus

__all__ = ["Experiment", "Result", "run"]


def _as_spec(spec: Spec | dict[str, Any] | str | Path) -> tuple[Spec, Path | None]:
    if isinstance(spec, Spec):
        return spec, None
    if isinstance(spec, dict):
        return parse_spec(spec), None
    return load_spec(spec), Path(spec).resolve().parent


def _description(spec: Spec) -> dict[str, Any]:
    """The experiment row's columns that come from the spec."""
    data = spec.model_dump(mode="json")
    data["code_github"] = redact_url(spec.code_github)
    return {
        "name": spec.display_name(), "primary_metric": spec.primary_metric, "mode": spec.primary_mode.value,
        "algorithm": spec.optimizer.algorithm.value, "scheduler": spec.optimizer.scheduler.value,
        "num_samples": spec.trial_count(), "spec": json.dumps(data, sort_keys=True),
        "code_source": redact_url(spec.code_github), "code_commit": None, "command": spec.command,
        "dataset_id": None, "ray_address": None,
        "objectives": json.dumps([{"metric": m, "mode": mode.value} for m, mode in spec.objectives()]),
    }


class Experiment:
    """One run of a spec against a lake. Use :func:`run` unless you need the steps."""

    def __init__(self, spec: Spec, lake: Lake, base_dir: Path | None = None, address: str | None = None,
                 experiment_id: str | None = None, created: datetime | None = None,
                 code: CodeSource | None = None) -> None:
        if spec.backend is Backend.AWS and not (address or os.environ.get("RAY_ADDRESS")):
            raise UserInputError(
                "backend 'aws' runs on a Ray cluster: start one with `ray up` on the config from "
                "`tunelake cluster render SPEC`, then pass --address (or set RAY_ADDRESS); "
                "use backend 'local' to run here"
            )
        check_installed(spec.optimizer.algorithm)
        self.spec = spec
        self.lake = lake
        self.base_dir = base_dir
        self.address = address
        self.experiment_id = experiment_id or new_experiment_id(spec.display_name())
        self.store: ModelStore = model_store(spec.model_storage, lake.uri, lake.fs.local_path())
        self.record = ExperimentRecord(lake, self.experiment_id, _description(spec),
                                       self.store.uri_for(self.experiment_id, ""), created)
        self.dataset_id: str | None = None
        self.code = code  # else the spec's code_github
        self.snapshot: Snapshot | None = None
        self.expected_commit: str | None = None
        self.replay: dict[str, dict[str, Any]] = {}
        self.storage: TuneStorage | None = None  # where Tune's state is (resume: where the run left it)
        self.evaluated: list[tuple[dict[str, Any], float]] = []
        self.meta_points: list[dict[str, Any]] = []  # warm_start.meta: run these first

    def run(self, progress: bool = True, restore: bool = False) -> Result:
        spool.replay(cache_root() / "spool", self.lake)  # rows an earlier run kept while the lake was away
        with self.record.running():
            self._prepare()
            with ray_session(self.address) as address:
                self.record.describe(ray_address=address)
                try:
                    run_search(self.plan(progress, restore))
                except KeyboardInterrupt as exc:  # Stopped too: Tune stopped the trials it ran
                    self._close_open_trials(TrialStatus.STOPPED, f"{exc or 'interrupted'} while this trial ran; "
                                            f"`tunelake resume {self.experiment_id}` runs it again")
                    raise
                except BaseException as exc:
                    self._close_open_trials(TrialStatus.FAILED, f"the driver ended with an error while this "
                                            f"trial ran: {type(exc).__name__}")
                    raise
            self._close_open_trials(TrialStatus.FAILED,
                                    "lost: the driver stopped while this trial ran, before Tune saved its state")
            return self.record.finish()

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
        source = self.code or code_source(self.spec.code_github, self.spec.code_ref, cache_root(), self.base_dir)
        self.snapshot = source.snapshot()
        if self.expected_commit and self.snapshot.commit != self.expected_commit:
            raise CodeSourceError(
                f"the code at {self.snapshot.source} changed since the experiment started "
                f"(was {self.expected_commit}, now {self.snapshot.commit}); resuming needs the same code"
            )
        self.record.describe(code_source=self.snapshot.source, code_commit=self.snapshot.commit,
                             dataset_id=self.dataset_id)
        workspace.prepare(
            self.snapshot.workspace_key(self.spec.install_script),
            lambda: self.snapshot.archive,  # type: ignore[union-attr]
            self.spec.install_script,
            self.spec.dir,
        )

    def plan(self, progress: bool = False, restore: bool = False) -> SearchPlan:
        """The search this experiment runs (needs the prepared code, and a Ray session for the archive)."""
        spec, opt, snapshot = self.spec, self.spec.optimizer, self.snapshot
        assert snapshot is not None, "prepare the experiment first"
        check_a_node_fits(spec.resources.cpus_per_trial, spec.resources.gpus_per_trial)
        context = TrialContext(
            experiment_id=self.experiment_id, command=spec.command, subdir=spec.dir,
            install_script=spec.install_script, workspace_key=snapshot.workspace_key(spec.install_script),
            archive=[ray.put(snapshot.archive)], primary_metric=spec.primary_metric,
            objectives=tuple(m for m, _ in spec.objectives()[1:]),
            metric_regexes=dict(spec.metrics), model_store=self.store, model_dir=spec.model_storage.model_dir,
            clean_model_dir=spec.model_storage.clean_model_dir_flag, trial_timeout_s=opt.trial_timeout_s,
            deadline=time.time() + opt.time_budget_s if opt.time_budget_s else None,
            extra_env=self._extra_env(), replay=self.replay, checkpoint_on_report=opt.scheduler not in POPULATION,
        )
        points = [dict(p) for p in opt.points_to_evaluate] + self.meta_points
        return SearchPlan(
            experiment_id=self.experiment_id, lake=self.lake, metric=spec.primary_metric, mode=spec.primary_mode.value,
            trainable=command_trainable(context, spec.resources.cpus_per_trial, spec.resources.gpus_per_trial),
            searcher=make_searcher(opt, points, self.evaluated, [mode.value for _, mode in spec.objectives()]),
            scheduler=make_scheduler(opt, spec.search, spec.mutable()),
            num_samples=opt.samples(), trial_count=spec.trial_count(), storage=self.storage or tune_storage(self.lake),
            stop_reason=STOP_REASONS[opt.scheduler],
            max_concurrent=opt.max_concurrent_trials,
            cpus_per_trial=spec.resources.cpus_per_trial, gpus_per_trial=spec.resources.gpus_per_trial,
            time_budget_s=opt.time_budget_s, param_space=param_space(spec.search, opt.algorithm), restore=restore,
            code_commit=snapshot.commit, dataset_id=self.dataset_id, replayed=frozenset(self.replay),
            progress=progress, max_failures=opt.max_failures, objectives=len(spec.objectives()),
            checkpoints_kept=4 if opt.scheduler in POPULATION else 2,
        )

    def _extra_env(self) -> dict[str, str]:
        env = {}
        if self.spec.dataset is not None:
            env["TUNELAKE_DATASET_URI"] = self.spec.dataset.uri
            env["TUNELAKE_DATASET_TARGET"] = self.spec.dataset.target or ""
        if self.dataset_id:
            env["TUNELAKE_DATASET_ID"] = self.dataset_id
        return env

    def _close_open_trials(self, status: TrialStatus, reason: str) -> None:
        """Trials still ``running`` once the search is over (lost with an earlier driver, or stopped with
        this one) end with ``status`` and ``reason``: no trial row stays ``running``."""
        lost = catalog.running_trials(self.lake, self.experiment_id)
        if lost:
            self.lake.append(TRIALS, [{
                "experiment_id": self.experiment_id, "trial_id": t["trial_id"], "status": status.value,
                "params": t["params"], "started_at": t["started_at"], "finished_at": utcnow(),
                "reason": reason,
                "code_commit": self.snapshot.commit if self.snapshot else None, "dataset_id": self.dataset_id,
            } for t in lost])


def run(
    spec: Spec | dict[str, Any] | str | Path,
    lake: str | None = None,
    address: str | None = None,
    progress: bool = False,
    experiment_id: str | None = None,
    code_snapshot: str | Path | None = None,
) -> Result:
    """Run an experiment and return its :class:`Result` (trials as a DataFrame).

    ``spec`` is a :class:`Spec`, a dict, or the path of a JSON/YAML file
    (relative ``code_github`` paths are then taken from the file's folder).
    ``lake`` defaults to ``$TUNELAKE_LAKE``, else ``./tunelake-lake``;
    ``address`` to ``$RAY_ADDRESS``, else a local Ray instance. ``code_snapshot``
    is a folder where the service staged the code it fetched (see :mod:`~tunelake.platform.code.staged`).
    """
    parsed, base_dir = _as_spec(spec)
    if experiment_id is not None and not EXPERIMENT_ID.fullmatch(experiment_id):
        raise UserInputError(f"experiment id {experiment_id!r}: use letters, digits, '-' and '_' (at most 100)")
    code = StagedSource(Path(code_snapshot), parsed.code_github) if code_snapshot else None
    return Experiment(parsed, Lake(lake), base_dir, address, experiment_id=experiment_id,
                      code=code).run(progress=progress)
