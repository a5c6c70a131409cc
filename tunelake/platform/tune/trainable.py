"""A Ray Tune trainable that runs the user's command as a trial.

Each ``step()`` returns the next report the process printed, so reports reach
Tune's scheduler and searcher while the process runs. The trial's end (exit,
crash, timeout, missing metric) is always a final result, never an
exception (:mod:`tunelake.platform.trial.result` is the contract).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import ray
from ray import tune

from tunelake.cluster.aws import this_instance_type
from tunelake.errors import CodeSourceError
from tunelake.paths import cache_root
from tunelake.platform.code import workspace
from tunelake.platform.models.store import UnsafeModelError
from tunelake.platform.trial.checkpoint import CheckpointFolder, stage_restore, store
from tunelake.platform.trial.metrics import MetricParser, Report
from tunelake.platform.trial.process import Exited, TrialProcess
from tunelake.platform.trial.protocol import plain, render_command, trial_env
from tunelake.platform.trial.result import FINAL, REPORT, Outcome, TrialResult, node_name, objective_key
from tunelake.platform.tune.context import TrialContext
from tunelake.platform.tune.slots import pass_gate
from tunelake.redact import redact


class CommandTrainable(tune.Trainable):
    """Runs one trial per reset; Tune reuses the actor for the next trial."""

    def setup(self, config: dict[str, Any], context: TrialContext) -> None:
        self._ctx = context
        self._proc: TrialProcess | None = None
        self._node = node_name()
        self._instance_type = this_instance_type()
        pass_gate(context.start_gate)
        self._begin(config)

    def reset_config(self, new_config: dict[str, Any]) -> bool:
        self._end()
        self._begin(new_config)
        return True

    def cleanup(self) -> None:
        self._end()

    # -- one trial ---------------------------------------------------------

    def _begin(self, config: dict[str, Any]) -> None:
        """Take a trial's config. Nothing runs yet: Tune may set up an actor for a
        trial and then give the trial to another (a reused) actor instead, so
        the process starts on the first ``step()``, which only the chosen one gets."""
        self._params = plain(config)
        self._merged: dict[str, float] = {}
        self._pending: list[dict[str, Any]] = []
        self._step = 0
        self._launched = False
        self._finished = False
        self._model_saved = False
        self._setup_error: str | None = None
        self._proc = None
        self._checkpoints: CheckpointFolder | None = None
        self._restore: tuple[Path, dict[str, Any]] | None = None

    def _dirs(self) -> tuple[Path, Path]:
        """The node's cache root and this trial's folder in it, resolved: the model dir may lie under no
        link the trial could have made."""
        root = Path(os.path.realpath(self._ctx.cache_root or cache_root()))
        return root, root / "trials" / self._ctx.experiment_id / self.trial_id

    def load_checkpoint(self, checkpoint: str) -> None:
        """Continue from a checkpoint (a retry after the worker died, or a PBT clone): its files become the
        program's ``TUNELAKE_RESTORE_DIR`` and the step count goes on from it."""
        staged = self._dirs()[1].with_name(f"{self.trial_id}.restore")
        state = stage_restore(Path(checkpoint), staged)
        self._step = int(state.get("step", 0))
        self._merged.update(state.get("metrics") or {})
        self._restore = (staged, state)

    def save_checkpoint(self, checkpoint_dir: str) -> None:
        """Tune asks for the trial's checkpoint: the last snapshot of its checkpoint folder."""
        state = {"step": self._step, "metrics": self._merged}
        if self._checkpoints is None:
            store(Path(checkpoint_dir), None, state)
        else:
            self._checkpoints.save(Path(checkpoint_dir), state)

    def _launch(self) -> None:
        ctx = self._ctx
        self._launched = True
        self._started = time.time()
        root, self._trial_dir = self._dirs()
        self._work = self._trial_dir / "work"
        try:
            tree = workspace.prepare(
                ctx.workspace_key,
                lambda: ray.get(ctx.archive[0]),
                ctx.install_script,
                ctx.subdir,
                root=root,
                env=dict(os.environ),
            )
        except (CodeSourceError, OSError) as exc:
            self._setup_error = f"could not prepare the code on this node: {exc}{workspace.disk_hint(root)}"
            return
        cwd = self._work / ctx.subdir
        self._model_path = cwd / ctx.model_dir
        params_file = self._trial_dir / "params.json"
        try:
            shutil.rmtree(self._trial_dir, ignore_errors=True)
            workspace.working_copy(tree, self._work)
            self._model_path.mkdir(parents=True, exist_ok=True)
            params_file.write_text(json.dumps(self._params, indent=2, sort_keys=True))
            ids = self._checkpoint_ids()
        except OSError as exc:
            self._setup_error = f"could not make the trial dir: {exc}{workspace.disk_hint(self._trial_dir)}"
            shutil.rmtree(self._work, ignore_errors=True)  # a partial copy would only fill the disk further
            return
        ids.update({
            "trial_id": self.trial_id,
            "experiment_id": ctx.experiment_id,
            "trial_dir": str(self._trial_dir),
            "model_dir": str(self._model_path),
        })
        command = render_command(ctx.command, {**ids, **self._params})
        env = trial_env(workspace.python_path_env(dict(os.environ)), self._params, str(params_file), ids,
                        ctx.extra_env)
        self._proc = TrialProcess(
            command, cwd, env, self._trial_dir / "stdout.log", self._trial_dir / "stderr.log",
            MetricParser(ctx.metric_regexes), ctx.kill_grace_s,
        )
        try:
            self._proc.start()
        except OSError as exc:
            self._setup_error = f"could not start the command: {exc}"
            self._proc = None

    def _checkpoint_ids(self) -> dict[str, str]:
        """Make the trial's checkpoint folder (and its restore folder, when it continues from a checkpoint)."""
        self._checkpoints = CheckpointFolder(self._trial_dir)
        self._checkpoints.prepare()
        if self._restore is None:
            return {"checkpoint_dir": str(self._checkpoints.live)}
        staged, state = self._restore
        restore = self._trial_dir / "restore"
        staged.rename(restore)
        self._checkpoints.adopt(restore, state)
        return {"checkpoint_dir": str(self._checkpoints.live), "restore_dir": str(restore)}

    def step(self) -> dict[str, Any]:
        if not self._launched and self.trial_id in self._ctx.replay:
            self._finished = True
            return {**self._ctx.replay[self.trial_id], "done": True}
        if not self._launched:
            self._launch()
        if self._setup_error is not None or self._proc is None:
            return self._final(Outcome.FAILED, self._setup_error or "the trial did not start")
        while True:
            limit, why = self._next_limit()
            event = self._proc.next_event(None if limit is None else max(0.0, limit - time.time()))
            if event is None:
                self._proc.stop()
                if why == "trial":
                    return self._final(
                        Outcome.FAILED, f"timed out after {self._ctx.trial_timeout_s:g}s (trial_timeout_s)"
                    )
                return self._final(Outcome.STOPPED, "the experiment's time_budget_s ran out")
            if isinstance(event, Report):
                if self._take(event):
                    taken = self._checkpoints is not None and self._checkpoints.take(
                        {"step": self._step, "metrics": self._merged})
                    asks = taken and self._ctx.checkpoint_on_report
                    return {**self._result(REPORT), **({"should_checkpoint": True} if asks else {})}
            elif isinstance(event, Exited):
                return self._exit_result(event)

    def _next_limit(self) -> tuple[float | None, str]:
        trial = self._started + self._ctx.trial_timeout_s if self._ctx.trial_timeout_s else None
        budget = self._ctx.deadline
        if trial is not None and (budget is None or trial <= budget):
            return trial, "trial"
        return budget, "budget"

    def _take(self, report: Report) -> bool:
        """Record a report; true when Tune should see a result now."""
        self._step += 1
        self._merged.update(report.metrics)
        self._pending.append({"step": self._step, "metrics": report.metrics, "at": time.time()})
        return self._ctx.primary_metric in self._merged

    def _result(self, kind: str, **final: Any) -> dict[str, Any]:
        value = self._merged.get(self._ctx.primary_metric)
        failed = final.get("outcome") == Outcome.FAILED
        result = TrialResult(kind=kind, metrics=dict(self._merged), reports=self._pending, node=self._node,
                             instance_type=self._instance_type, objective=None if failed else value, **final)
        self._pending = []
        others = {objective_key(i): self._merged[m] for i, m in enumerate(self._ctx.objectives, 1)
                  if m in self._merged and not failed}
        return {**result.to_tune(), **others}

    def _exit_result(self, exited: Exited) -> dict[str, Any]:
        metric = self._ctx.primary_metric
        info = {"exit_code": exited.returncode, "signal": exited.signal_name}
        if exited.signal_name:
            shown = f" (exit code {exited.returncode})" if exited.returncode > 0 else ""
            return self._final(Outcome.FAILED, f"killed by {exited.signal_name}{shown}", **info)
        if exited.returncode != 0:
            return self._final(Outcome.FAILED, f"exited with code {exited.returncode}", **info)
        for metric in (metric, *self._ctx.objectives):
            if metric not in self._merged:
                seen = ", ".join(sorted(self._merged)) or "none"
                return self._final(Outcome.FAILED, f"no primary metric {metric!r} reported (metrics seen: {seen})",
                                   **info)
            if not math.isfinite(self._merged[metric]):
                return self._final(Outcome.FAILED, f"primary metric {metric!r} is {self._merged[metric]}", **info)
        return self._final(Outcome.COMPLETED, None, **info)

    def _final(self, outcome: str, reason: str | None, exit_code: int | None = None,
               signal: str | None = None) -> dict[str, Any]:
        self._finished = True
        if outcome == Outcome.FAILED and reason and self._launched and self._setup_error is None:
            reason += workspace.disk_hint(self._trial_dir)
        model_uri, store_error = self._save_model()
        if store_error and outcome == Outcome.COMPLETED:
            reason = store_error
        elif store_error:
            reason = f"{reason}; {store_error}"
        final = self._result(
            FINAL, outcome=outcome, reason=redact(reason), exit_code=exit_code, signal=signal,
            stderr_tail=redact(self._proc.stderr_tail() if self._proc else ""), model_uri=model_uri,
            started_at=self._started, steps=self._step, duration_s=time.time() - self._started,
        )
        return {**final, "done": True}

    def _save_model(self) -> tuple[str | None, str | None]:
        if self._setup_error is not None:
            return None, None
        try:
            uri = self._ctx.model_store.save(self._model_path, self._ctx.experiment_id, self.trial_id)
        except (OSError, UnsafeModelError) as exc:
            return None, f"model not saved (kept in {self._model_path}): {exc}"
        self._model_saved = True
        return uri, None

    def _end(self) -> None:
        """Stop what is still running (a scheduler's stop) and tidy the trial's files.

        The working copy (and the model dir in it) is removed only when the
        model is safely stored and ``clean_model_dir_flag`` asks for it, or
        when a scheduler stopped the trial before it finished, or when the
        disk is full (the copy kept for a look would fail every later trial).
        """
        if self._proc is not None:
            self._proc.stop()
            self._proc = None
        if not self._launched:
            return
        tidy = (self._ctx.clean_model_dir and self._model_saved) or not self._finished
        free = workspace.free_bytes(self._trial_dir)
        if tidy or (free is not None and free < workspace.LOW_DISK_BYTES):
            shutil.rmtree(self._work, ignore_errors=True)


def command_trainable(context: TrialContext, cpus: float, gpus: float) -> Callable[[Any], Any]:
    """The Tune trainable of a command experiment, built once the runner has the start gate."""

    def build(gate: Any) -> Any:
        trainable = tune.with_parameters(CommandTrainable, context=replace(context, start_gate=gate))
        return tune.with_resources(trainable, {"cpu": cpus, "gpu": gpus})

    return build


def function_trainable(function: Callable[..., None], **parameters: Any) -> Callable[[Any], Any]:
    """A trial written as a function of its config (reporting through :mod:`~tunelake.platform.tune.session`);
    ``parameters`` go to the object store once and reach every trial, with the start gate as ``gate``."""

    def build(gate: Any) -> Any:
        return tune.with_parameters(function, gate=gate, **parameters)

    return build
