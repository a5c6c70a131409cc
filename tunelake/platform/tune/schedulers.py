"""Ray Tune trial schedulers for the spec's ``optimizer.scheduler``, and what PBT tells the lake.

``training_iteration`` (one per report that carries the primary metric) is
every scheduler's clock. HyperBand, BOHB, PBT and PB2 pause trials and start
them again from their checkpoints (the trial protocol's
``TUNELAKE_CHECKPOINT_DIR``); a trial that writes none starts again from
its beginning. PBT and PB2 also clone a better trial's checkpoint into a
worse one with changed parameters: each such exploit goes to the listeners
of :class:`Lineage` (the lake recorder), so lineage is queryable with SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ray.tune.schedulers import (
    ASHAScheduler,
    FIFOScheduler,
    HyperBandForBOHB,
    HyperBandScheduler,
    MedianStoppingRule,
    PopulationBasedTraining,
    TrialScheduler,
)
from ray.tune.schedulers.pb2 import PB2

from tunelake.platform.spec import Choice, Grid, Int, LogUniform, Optimizer, Param, SchedulerKind, Uniform
from tunelake.platform.tune.space import to_tune

CLOCK = "training_iteration"


@dataclass(frozen=True)
class Exploit:
    """PBT cloned ``source``'s checkpoint (taken at ``source_step``) into ``trial`` at its ``step`` and gave
    it ``config``; ``previous`` is the config it had."""

    trial: Any
    source: Any
    step: int
    source_step: int
    previous: dict[str, Any]
    config: dict[str, Any]


class Lineage:
    """Mixed into Tune's PBT and PB2: tells ``listeners`` every exploit, and keeps ``int`` parameters whole
    (PB2 proposes every bounded parameter as a float)."""

    listeners: list[Callable[[Exploit], None]]
    whole: frozenset[str]

    def _exploit(self, tune_controller: Any, trial: Any, trial_to_clone: Any) -> None:
        states = self._trial_state  # type: ignore[attr-defined]
        step, source_step = states[trial].last_train_time, states[trial_to_clone].last_train_time
        previous = dict(trial.config)
        super()._exploit(tune_controller, trial, trial_to_clone)  # type: ignore[misc]
        event = Exploit(trial, trial_to_clone, int(step), int(source_step), previous, dict(trial.config))
        for listen in self.listeners:
            listen(event)

    def _get_new_config(self, trial: Any, trial_to_clone: Any) -> tuple[dict, dict]:
        config, operations = super()._get_new_config(trial, trial_to_clone)  # type: ignore[misc]
        for name in self.whole & set(config):
            config[name] = int(round(config[name]))
        return config, operations


class LineagePBT(Lineage, PopulationBasedTraining):
    """Ray Tune's PopulationBasedTraining, telling the lake its exploits."""


class LineagePB2(Lineage, PB2):
    """Ray Tune's PB2 (PBT with a GP bandit choosing the new parameters), telling the lake its exploits."""


def _population(optimizer: Optimizer, search: dict[str, Param], mutable: list[str]) -> TrialScheduler:
    if optimizer.scheduler is SchedulerKind.PBT:
        scheduler: Lineage = LineagePBT(
            time_attr=CLOCK, perturbation_interval=optimizer.perturbation_interval,
            # a list moves to a neighbouring value; a numeric domain is scaled by 0.8 or 1.2 (or drawn again)
            hyperparam_mutations={n: list(search[n].values) if isinstance(search[n], (Choice, Grid))
                                  else to_tune(search[n], optimizer.algorithm) for n in mutable},
        )
    else:
        numbers = {n: search[n] for n in mutable if isinstance(search[n], (Uniform, LogUniform, Int))}
        scheduler = LineagePB2(
            time_attr=CLOCK, perturbation_interval=optimizer.perturbation_interval,
            hyperparam_bounds={n: [float(p.low), float(p.high)] for n, p in numbers.items()},  # type: ignore
        )
    scheduler.listeners = []
    scheduler.whole = frozenset(n for n in mutable if isinstance(search[n], Int))
    return scheduler  # type: ignore[return-value]


def make_scheduler(optimizer: Optimizer, search: dict[str, Param] | None = None,
                   mutable: list[str] | None = None) -> TrialScheduler:
    """The trial scheduler; PBT and PB2 change the ``mutable`` parameters of ``search``."""
    rungs = {"time_attr": CLOCK, "max_t": optimizer.max_t, "reduction_factor": optimizer.reduction_factor,
             # max_t places the rungs; a trial that gets past them runs to its own end
             # (and saves its model) instead of being killed at max_t.
             "stop_last_trials": False}
    kind = optimizer.scheduler
    if kind is SchedulerKind.ASHA:
        return ASHAScheduler(grace_period=optimizer.grace_period, **rungs)
    if kind is SchedulerKind.HYPERBAND:
        return HyperBandScheduler(**rungs)
    if kind is SchedulerKind.BOHB:
        return HyperBandForBOHB(**rungs)
    if kind is SchedulerKind.MEDIAN:
        return MedianStoppingRule(time_attr=CLOCK, grace_period=optimizer.grace_period, min_samples_required=3)
    if kind in (SchedulerKind.PBT, SchedulerKind.PB2):
        return _population(optimizer, search or {}, list(mutable or []))
    return FIFOScheduler()


STOP_REASONS = {
    SchedulerKind.ASHA: "stopped early by the ASHA scheduler",
    SchedulerKind.MEDIAN: "stopped early by the median stopping rule",
    SchedulerKind.HYPERBAND: "stopped early by the HyperBand scheduler",
    SchedulerKind.BOHB: "stopped early by BOHB's HyperBand",
    SchedulerKind.PBT: "stopped by Tune (time budget or interrupt)",
    SchedulerKind.PB2: "stopped by Tune (time budget or interrupt)",
    SchedulerKind.FIFO: "stopped by Tune (time budget or interrupt)",
}
"""What a trial's row says when Tune ended it before its own end."""

