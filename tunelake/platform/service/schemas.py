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


class TrialsPublic(BaseModel):
    data: list[TrialPublic]
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
