"""``/automl`` and ``/recommend``: point at data; get a tuned model, or the meta-model's proposals."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool

from tunelake.errors import UserInputError
from tunelake.ids import new_experiment_id
from tunelake.metalearn.dataset import table_shape
from tunelake.metalearn.learnable import check_file
from tunelake.platform.service.deps import Authorized, JobsDep, LakeDep, SettingsDep
from tunelake.platform.service.schemas import (
    DatasetUploaded,
    ExperimentCreated,
    ProposalPublic,
    ProposalsPublic,
    RecommendRequest,
)
from tunelake.platform.spec import AutoMLSpec

router = APIRouter(tags=["automl"], dependencies=Authorized)


@router.post("/automl", status_code=status.HTTP_201_CREATED, response_model=ExperimentCreated)
def create_automl(body: AutoMLSpec, jobs: JobsDep) -> ExperimentCreated:
    """An AutoML experiment as a Ray job; follow it under ``/experiments/{id}``.

    Data on this machine (an upload) is checked first: a metric that does not fit the task, a target
    with one value, too few rows are a 422 here rather than a job whose every trial fails."""
    check_file(body.data, body.target, body.metric, body.folds)
    experiment_id = new_experiment_id(f"automl-{Path(body.data).stem}")
    job_id = jobs.submit_automl(experiment_id, body.model_dump(mode="json"))
    return ExperimentCreated(experiment_id=experiment_id, job_id=job_id)


@router.post("/datasets", status_code=status.HTTP_201_CREATED, response_model=DatasetUploaded,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}},
                 "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}}})
async def upload_dataset(request: Request, settings: SettingsDep,
                         format: Literal["csv", "parquet"] = "csv") -> DatasetUploaded:
    """Upload a dataset (the raw file as the body); use the returned ``uri`` as ``data`` in ``/automl``.

    Files are kept by content, so uploading the same data twice gives the same URI.
    """
    folder = settings.state_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = await _receive_to_file(request, folder, format)
    try:
        rows, columns = await run_in_threadpool(table_shape, path)
    except UserInputError:
        path.unlink(missing_ok=True)
        raise
    return DatasetUploaded(uri=str(path), rows=rows, columns=columns)


async def _receive_to_file(request: Request, folder: Path, suffix: str) -> Path:
    """The body, written to disk chunk by chunk as it arrives, then named by its hash.

    Only one chunk is in memory at a time. Whatever ends the upload early (the
    size limit, a dropped connection) removes the partial file; the rename
    is atomic, so two uploads of one file at once leave one whole file.
    """
    digest = hashlib.sha256()
    partial = folder / f".partial-{secrets.token_hex(8)}.{suffix}"
    try:
        with partial.open("wb") as out:
            async for chunk in request.stream():
                digest.update(chunk)
                out.write(chunk)
            empty = out.tell() == 0
        if empty:
            raise UserInputError("the body is empty: send the CSV or Parquet file itself")
        path = folder / f"{digest.hexdigest()[:24]}.{suffix}"
        partial.replace(path)
        return path
    finally:
        partial.unlink(missing_ok=True)


@router.post("/recommend", response_model=ProposalsPublic)
async def recommend(body: RecommendRequest, lake: LakeDep) -> ProposalsPublic:
    """The warm-start configurations the meta-model proposes for a dataset, with their evidence."""
    from tunelake.metalearn.recommend import proposals_for

    proposals, task, _ = await run_in_threadpool(proposals_for, lake, body.data, body.target, body.k)
    return ProposalsPublic(task=task, data=[ProposalPublic(config=p.config, predicted=p.predicted,
                                                           evidence=p.evidence) for p in proposals])
