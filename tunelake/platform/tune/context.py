"""What a command trial needs besides its parameters: built by the driver, shipped once per worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tunelake.platform.models.store import ModelStore


@dataclass(frozen=True)
class TrialContext:
    """Everything a trial needs besides its parameters; shipped once per worker."""

    experiment_id: str
    command: str
    subdir: str
    install_script: str | None
    workspace_key: str
    archive: list[Any]  # [ObjectRef of the code archive]; a list so Ray does not resolve it eagerly
    primary_metric: str
    metric_regexes: dict[str, str]
    model_store: ModelStore
    model_dir: str
    clean_model_dir: bool
    trial_timeout_s: float | None
    deadline: float | None
    cache_root: str | None = None
    kill_grace_s: float = 5.0
    objectives: tuple[str, ...] = ()
    """The metrics optimized beside ``primary_metric`` (a multi-objective search), each sent to Tune."""
    extra_env: dict[str, str] = field(default_factory=dict)
    replay: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Final results of trials that completed before a resume, by trial id: they
    are handed back to Tune as they were, not run again."""
    checkpoint_on_report: bool = True
    """Store a checkpoint at each report that finds new files; off under PBT, which asks for the ones it needs
    (every report's would soon delete the one it is about to clone)."""
    start_gate: Any = None
    """A :class:`~tunelake.platform.tune.slots.StartGate` when trials run several at a time."""
