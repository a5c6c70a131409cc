"""What the API sends and takes, per resource (``...Public`` out, ``...Request`` in)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from tunelake.platform.spec import PROPOSALS


class ExperimentCreated(BaseModel):
    experiment_id: str
    job_id: str


class SpecCheck(BaseModel):
    valid: bool
    trials: int
    name: str


class Objective(BaseModel):
    metric: str
    mode: str


class ExperimentPublic(BaseModel):
    experiment_id: str
    name: str | None = None
    status: str
    job_status: str | None = None
    primary_metric: str | None = None
    mode: str | None = None
    algorithm: str | None = None
    num_samples: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    best_trial_id: str | None = None
    best_value: float | None = None
    best_params: dict[str, Any] | None = None
    params: list[str] = Field(default_factory=list, description="the search's parameter names")
    created_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = Field(None, description="from created to finished, or to now while it runs")
    error: str | None = None
    objectives: list[Objective] = Field(default_factory=list, description="the metrics searched, primary first")
    cpu_hours: float | None = Field(None, description="summed over its trials: CPUs reserved x duration")
    gpu_hours: float | None = Field(None, description="summed over its trials: GPUs reserved x duration")
    cost_usd: float | None = Field(None, description="on-demand estimate summed over the priced trials")
    priced_trials: int | None = Field(None, description="trials whose node's instance type has a price")
    price_table: str | None = Field(None, description="the price table of the estimate (name@version)")


class ExperimentsPublic(BaseModel):
    data: list[ExperimentPublic]
    count: int


class TrialPublic(BaseModel):
    trial_id: str
    status: str
    params: dict[str, Any]
    value: float | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict)
    iterations: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    node: str | None = None
    reason: str | None = None
    model_uri: str | None = None
    restarts: int | None = Field(None, description="starts again from a checkpoint after its worker died")
    instance_type: str | None = Field(None, description="its node's (null off AWS)")
    cpus: float | None = None
    gpus: float | None = None
    cpu_hours: float | None = None
    gpu_hours: float | None = None
    cost_usd: float | None = Field(None, description="its share of its node's on-demand price x its duration")
    price_table: str | None = None


class TrialsPublic(BaseModel):
    data: list[TrialPublic]
    count: int


class ParetoPoint(BaseModel):
    trial_id: str
    params: dict[str, Any]
    objectives: list[float | None] = Field(description="the trial's value of each objective, in their order")
    metrics: dict[str, float | None] = Field(default_factory=dict)


class ParetoPublic(BaseModel):
    """The completed trials no other beats on every objective at once, best first by the primary one."""

    objectives: list[Objective]
    data: list[ParetoPoint]
    count: int


class SqlRequest(BaseModel):
    query: str = Field(max_length=100_000)


class SqlResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class Stopped(BaseModel):
    stopped: bool


class RecommendRequest(BaseModel):
    data: str = Field(max_length=2000)
    target: str = Field(max_length=500)
    k: int = Field(PROPOSALS, ge=1, le=50)  # as many as a warm AutoML starts from


class ProposalPublic(BaseModel):
    config: dict[str, Any]
    predicted: float | None
    evidence: list[dict[str, Any]]


class ProposalsPublic(BaseModel):
    task: str
    data: list[ProposalPublic]


class DatasetUploaded(BaseModel):
    uri: str
    rows: int
    columns: list[str]


class AxisPublic(BaseModel):
    """How to draw a parameter: ``log`` for a loguniform (or ``log: true``) one, ``category`` for a choice."""

    name: str
    scale: Literal["linear", "log", "category"]
    low: float | None = None
    high: float | None = None
    categories: list[str] = Field(default_factory=list, description="a category axis's labels, in the spec's order")
    integer: bool = False


class HistoryPoint(BaseModel):
    number: int = Field(description="the trial's place in start order, from 0")
    trial_id: str
    status: str
    value: float | None = Field(description="the last reported value of the primary metric (stopped trials too)")
    best: float | None = Field(description="the best completed value up to and including this trial")
    params: dict[str, Any]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None


class HistoryPublic(BaseModel):
    experiment_id: str
    metric: str | None
    mode: str
    params: list[AxisPublic]
    data: list[HistoryPoint]


class MapPoint(BaseModel):
    trial_id: str
    status: str
    x: float | str
    y: float | str
    value: float


class MapGrid(BaseModel):
    x: list[float | str] = Field(description="cell bounds on x (bins + 1 numbers, equal in log10 space on a log "
                                             "axis), or its categories")
    y: list[float | str]
    cells: list[tuple[int, int, float, int]] = Field(description="[x cell, y cell, best value, trials] of each "
                                                                 "cell holding a trial")


class MapPublic(BaseModel):
    experiment_id: str
    metric: str | None
    mode: str
    x: AxisPublic
    y: AxisPublic
    data: list[MapPoint]
    grid: MapGrid | None = Field(None, description="the heat map, when bins were asked for")


class CurvePublic(BaseModel):
    trial_id: str
    status: str | None
    points: list[tuple[int, float | None]] = Field(description="[step, value of the primary metric]")


class CurvesPublic(BaseModel):
    experiment_id: str
    metric: str | None
    mode: str
    data: list[CurvePublic]


class Importance(BaseModel):
    param: str
    importance: float


class ImportancePublic(BaseModel):
    experiment_id: str
    metric: str | None
    evaluator: str
    trials: int = Field(description="completed trials scored")
    data: list[Importance] = Field(description="most important first; the importances sum to 1")
    note: str | None = Field(description="why there are no scores, when there are none")


class TrialDetail(TrialPublic):
    exit_code: int | None = None
    signal: str | None = None
    stderr_tail: str | None = None
    code_commit: str | None = None
    dataset_id: str | None = None
    curve: list[tuple[int, float | None]] = Field(default_factory=list, description="[step, value] reports")


class ComparePoint(BaseModel):
    number: int
    trial_id: str
    status: str
    value: float | None
    best: float | None


class CompareItem(BaseModel):
    experiment_id: str
    metric: str | None
    mode: str
    best_value: float | None
    best_trial_id: str | None
    best_params: dict[str, Any] | None
    data: list[ComparePoint]


class ComparePublic(BaseModel):
    data: list[CompareItem]


class FamilyPublic(BaseModel):
    family: str
    trials: int
    completed: int
    best: float | None
    best_trial_id: str | None
    best_params: dict[str, Any] | None
    best_folds: int | None = Field(description="the folds the best trial was scored on")


class LeaderboardPublic(BaseModel):
    experiment_id: str
    metric: str | None
    data: list[FamilyPublic]


class StartedFrom(BaseModel):
    config: dict[str, Any] = Field(description="the configuration the meta-model proposed")
    trial_id: str | None = Field(description="the trial that ran it; null when it was not run (a family this "
                                             "data does not allow, or a duplicate)")
    status: str | None
    value: float | None
    predicted: float | None = Field(None, description="normalized score the meta-model expects (1: the best seen "
                                                      "on similar data)")
    evidence: list[dict[str, Any]] = Field(default_factory=list, description="the nearest datasets behind it, as "
                                           "the lake holds them now, this dataset left out")


class WarmStartPublic(BaseModel):
    experiment_id: str
    automl: bool = Field(description="whether this is an AutoML experiment (only those start from proposals)")
    warm_start: bool
    data: list[StartedFrom]


class RegretDataset(BaseModel):
    dataset_id: str | None
    name: str | None
    warm: list[str] = Field(description="its warm-started AutoML experiments")
    cold: list[str] = Field(description="its cold ones")


class RegretPublic(BaseModel):
    datasets: list[RegretDataset]
    warm: list[float] = Field(description="mean normalized regret after trial 1, 2, ... (0: the best found)")
    cold: list[float]
