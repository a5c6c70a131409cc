"""``/automl`` and ``/recommend``: point at data; get a tuned model, or the meta-model's proposals."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool

from tunelake.platform.api.deps import Authorized, JobsDep, LakeDep
from tunelake.platform.api.schemas import (
    AutoMLRequest,
    ExperimentCreated,
    ProposalPublic,
    ProposalsPublic,
    RecommendRequest,
)
from tunelake.platform.experiment import new_experiment_id

router = APIRouter(tags=["automl"], dependencies=Authorized)


@router.post("/automl", status_code=status.HTTP_201_CREATED, response_model=ExperimentCreated)
def create_automl(body: AutoMLRequest, jobs: JobsDep) -> ExperimentCreated:
    """An AutoML experiment as a Ray job; follow it under ``/experiments/{id}``."""
    experiment_id = new_experiment_id(f"automl-{Path(body.data).stem}")
    options = ["--trials", str(body.trials)]
    if body.time_budget_s:
        options += ["--time-budget", str(body.time_budget_s)]
    if body.metric:
        options += ["--metric", body.metric]
    if not body.warm_start:
        options.append("--no-warm-start")
    job_id = jobs.submit_automl(experiment_id, body.data, body.target, options)
    return ExperimentCreated(experiment_id=experiment_id, job_id=job_id)


@router.post("/recommend", response_model=ProposalsPublic)
async def recommend(body: RecommendRequest, lake: LakeDep) -> ProposalsPublic:
    """The warm-start configurations the meta-model proposes for a dataset, with their evidence."""
    from tunelake.platform.automl import proposals_for

    proposals, task, _ = await run_in_threadpool(proposals_for, lake, body.data, body.target, body.k)
    return ProposalsPublic(task=task, data=[ProposalPublic(config=p.config, predicted=p.predicted,
                                                           evidence=p.evidence) for p in proposals])
