"""What the API sends and takes, per resource (``...Public`` out, ``...Request`` in)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


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
    error: str | None = None
    objectives: list[Objective] = Field(default_factory=list, description="the metrics searched, primary first")


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
    k: int = Field(5, ge=1, le=50)


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
