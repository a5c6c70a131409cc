"""``/experiments``: submit a spec as a Ray job, list, inspect, follow and stop experiments."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from tunelake.errors import CodeSourceError, SpecError
from tunelake.ids import new_experiment_id
from tunelake.platform.service.deps import Authorized, JobsDep, LakeDep, known_id
from tunelake.platform.service.schemas import (
    ExperimentCreated,
    ExperimentPublic,
    ExperimentsPublic,
    ParetoPoint,
    ParetoPublic,
    SpecCheck,
    Stopped,
)
from tunelake.platform.reports.history import experiment_duration, finite
from tunelake.platform.spec import Spec, load_document, parse_spec
from tunelake.redact import redact
from tunelake.store import catalog

router = APIRouter(prefix="/experiments", tags=["experiments"], dependencies=Authorized)

SPEC_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": Spec.model_json_schema(ref_template="#/components/schemas/{model}")},
    "application/yaml": {"schema": {"type": "string"}},
}}}


async def _spec_from(request: Request) -> tuple[Spec, dict[str, Any]]:
    """The body as a spec, parsed and validated in a worker thread: a 1 MB YAML file must not stop the service."""
    return await run_in_threadpool(_parse, await request.body())


def _parse(raw: bytes) -> tuple[Spec, dict[str, Any]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(["spec: not UTF-8 text; send JSON or YAML"]) from None
    document = load_document(text)
    return parse_spec(document), document


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ExperimentCreated, openapi_extra=SPEC_BODY)
async def create_experiment(request: Request, jobs: JobsDep) -> ExperimentCreated:
    """Validate a spec (JSON or YAML body) and start it as a Ray job; 422 lists every problem."""
    spec, document = await _spec_from(request)
    experiment_id = new_experiment_id(spec.display_name())
    try:  # off the loop: a code URL with a password is fetched here, then Ray uploads the job's files
        job_id = await run_in_threadpool(jobs.submit, experiment_id, document)
    except CodeSourceError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, redact(str(exc))) from None
    return ExperimentCreated(experiment_id=experiment_id, job_id=job_id)


@router.post("/validate", response_model=SpecCheck, openapi_extra=SPEC_BODY)
async def validate_experiment(request: Request) -> SpecCheck:
    """Check a spec without running it."""
    spec, _ = await _spec_from(request)
    return SpecCheck(valid=True, trials=spec.trial_count(), name=spec.display_name())


def _public(row: dict[str, Any], counts: dict[str, int], job_status: str | None) -> ExperimentPublic:
    spec = json.loads(row["spec"]) if row.get("spec") else {}
    return ExperimentPublic(
        experiment_id=row["experiment_id"], name=row.get("name"), status=row["status"], job_status=job_status,
        primary_metric=row.get("primary_metric"), mode=row.get("mode"), algorithm=row.get("algorithm"),
        num_samples=row.get("num_samples"), counts=counts, best_trial_id=row.get("best_trial_id"),
        best_value=finite(row.get("best_value")),
        best_params=json.loads(row["best_params"]) if row.get("best_params") else None,
        params=list(spec.get("search", {})), created_at=row.get("created_at"), finished_at=row.get("finished_at"),
        duration_s=experiment_duration(row), error=row.get("error"), objectives=catalog.objectives_of(row),
        cpu_hours=row.get("cpu_hours"), gpu_hours=row.get("gpu_hours"), cost_usd=row.get("cost_usd"),
        priced_trials=row.get("priced_trials"), price_table=row.get("price_table"),
    )


def _not_in_lake(experiment_id: str, job_status: str) -> ExperimentPublic:
    """A job whose driver has not written the experiment's row: ``submitted`` while the job may still write it,
    ``failed`` once the job ended without (a driver that could not start: its logs say why)."""
    if job_status in ("PENDING", "RUNNING"):
        return ExperimentPublic(experiment_id=experiment_id, status="submitted", job_status=job_status)
    return ExperimentPublic(experiment_id=experiment_id, status="failed", job_status=job_status,
                            error=f"the Ray job ended ({job_status}) before its driver wrote to the lake; "
                                  f"GET /experiments/{experiment_id}/logs says why")


EXPERIMENT_SORTS = Literal["created_at", "name", "status", "best_value", "duration_s", "experiment_id"]


@router.get("", response_model=ExperimentsPublic)
def list_experiments(lake: LakeDep, jobs: JobsDep, offset: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     q: Annotated[str, Query(max_length=200, description="text in the id, name, status, metric or "
                                                                          "algorithm (any case)")] = "",
                     sort: EXPERIMENT_SORTS = "created_at", order: Literal["asc", "desc"] = "desc") -> ExperimentsPublic:
    """Experiments, newest first unless sorted otherwise (empty values last): those in the lake, and submitted
    jobs whose driver has not written yet (the newest of all)."""
    rows = catalog.experiments(lake)
    counts = catalog.all_status_counts(lake)
    submitted = jobs.submitted()
    known = {r["experiment_id"] for r in rows}
    pending = [_not_in_lake(e, s) for e, s in sorted(submitted.items(), reverse=True) if e not in known]
    data = pending + [_public(r, counts.get(r["experiment_id"], {}), submitted.get(r["experiment_id"])) for r in rows]
    if q:
        data = [e for e in data if q.lower() in " ".join(
            str(v) for v in (e.experiment_id, e.name, e.status, e.primary_metric, e.algorithm) if v).lower()]
    if (sort, order) != ("created_at", "desc"):  # else as listed: pending jobs, then the lake's newest first
        present = [e for e in data if getattr(e, sort) is not None]
        present.sort(key=lambda e: getattr(e, sort), reverse=order == "desc")
        data = present + [e for e in data if getattr(e, sort) is None]
    return ExperimentsPublic(data=data[offset:offset + limit], count=len(data))


@router.get("/{experiment_id}", response_model=ExperimentPublic)
def get_experiment(experiment_id: str, lake: LakeDep, jobs: JobsDep) -> ExperimentPublic:
    """Status from the Ray job and the lake: trial counts, best value and params, times."""
    experiment_id = known_id(experiment_id)
    row = catalog.experiment(lake, experiment_id)
    job_status = jobs.status(experiment_id)
    if row is None:
        if job_status is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
        return _not_in_lake(experiment_id, job_status)
    return _public(row, catalog.status_counts(lake, experiment_id), job_status)


@router.get("/{experiment_id}/pareto", response_model=ParetoPublic)
def pareto_front(experiment_id: str, lake: LakeDep) -> ParetoPublic:
    """The Pareto front over the experiment's objectives (one objective: its best trials)."""
    experiment_id = known_id(experiment_id)
    row = catalog.experiment(lake, experiment_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
    data = [ParetoPoint(trial_id=r["trial_id"], params=json.loads(r["params"] or "{}"),
                        objectives=[finite(v) for v in r["objectives"]],
                        metrics={k: finite(v) for k, v in json.loads(r["metrics"] or "{}").items()})
            for r in catalog.pareto_front(lake, experiment_id)]
    return ParetoPublic(objectives=catalog.objectives_of(row), data=data, count=len(data))


@router.get("/{experiment_id}/logs", response_class=PlainTextResponse)
def experiment_logs(experiment_id: str, jobs: JobsDep) -> str:
    """The Ray job's driver output."""
    logs = jobs.logs(known_id(experiment_id))
    if logs is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job for experiment {experiment_id!r}")
    return redact(logs) or ""


@router.post("/{experiment_id}/stop", response_model=Stopped)
def stop_experiment(experiment_id: str, jobs: JobsDep) -> Stopped:
    """Stop the experiment's Ray job (its trials are ended and recorded)."""
    experiment_id = known_id(experiment_id)
    if jobs.status(experiment_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job for experiment {experiment_id!r}")
    return Stopped(stopped=jobs.stop(experiment_id))
