"""``/experiments/{id}/trials``: an experiment's trials, sorted, filtered and paged in SQL; one trial in full;
learning curves."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status

from tunelake.errors import UserInputError
from tunelake.platform.reports.history import finite, learning_curves
from tunelake.platform.service.deps import Authorized, LakeDep, known_id
from tunelake.platform.service.schemas import CurvesPublic, TrialDetail, TrialPublic, TrialsPublic
from tunelake.store import browse, catalog

COST_COLUMNS = ("instance_type", "cpus", "gpus", "cpu_hours", "gpu_hours", "cost_usd", "price_table")

router = APIRouter(prefix="/experiments", tags=["trials"], dependencies=Authorized)


def _public(r: dict[str, Any]) -> dict[str, Any]:
    return dict(
        trial_id=r["trial_id"], status=r["status"], params=json.loads(r["params"] or "{}"),
        value=finite(r["value"]), metrics={k: finite(v) for k, v in json.loads(r["metrics"] or "{}").items()},
        iterations=r["iterations"], started_at=r["started_at"], finished_at=r["finished_at"],
        duration_s=r["duration_s"], node=r["node"], reason=r["reason"], model_uri=r["model_uri"],
        restarts=r.get("restarts"), **{k: r.get(k) for k in COST_COLUMNS},
    )


@router.get("/{experiment_id}/trials", response_model=TrialsPublic)
def list_trials(
    experiment_id: str, lake: LakeDep, offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    sort: Annotated[str, Query(max_length=200, description=f"one of {', '.join(browse.TRIAL_COLUMNS)}, "
                                                          "param.<name> or metric.<name>")] = "finished_at",
    order: Literal["asc", "desc"] = "asc",
    status_: Annotated[list[Literal[browse.TRIAL_STATUSES]], Query(  # type: ignore[valid-type]
        alias="status", description="keep trials of these statuses (repeat it); all when absent")] = [],  # noqa: B006
    q: Annotated[str, Query(max_length=200, description="text in the id, params, node or reason (any case)")] = "",
) -> TrialsPublic:
    """An experiment's trials, filtered, sorted (empty values last) and paged by the lake; ``count`` is how many
    the filter keeps."""
    experiment_id = known_id(experiment_id)
    try:
        order_by = browse.TrialOrder(sort, descending=order == "desc")
    except ValueError as exc:
        raise UserInputError(str(exc)) from None
    rows, count = browse.trials_page(lake, experiment_id, order_by, browse.TrialFilter(tuple(status_), q),
                                     offset, limit)
    if not count and catalog.experiment(lake, experiment_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}")
    return TrialsPublic(data=[TrialPublic(**_public(r)) for r in rows], count=count)


@router.get("/{experiment_id}/trials/{trial_id}", response_model=TrialDetail)
def get_trial(experiment_id: str, trial_id: str, lake: LakeDep) -> TrialDetail:
    """One trial in full: params, metrics, status and reason, stderr tail, node, times, model, learning curve."""
    experiment_id = known_id(experiment_id)
    row = browse.trial(lake, experiment_id, trial_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no trial {trial_id!r} in experiment {experiment_id!r}")
    curve = [[r["step"], finite(r["value"])] for r in browse.learning_curves(lake, experiment_id, [trial_id])]
    return TrialDetail(**_public(row), exit_code=row["exit_code"], signal=row["signal"],
                       stderr_tail=row["stderr_tail"], code_commit=row["code_commit"], dataset_id=row["dataset_id"],
                       curve=curve)


@router.get("/{experiment_id}/curves", response_model=CurvesPublic)
def get_curves(experiment_id: str, lake: LakeDep,
               trial: Annotated[list[str], Query(max_length=200, description="trials to show (repeat it); "
                                                 "else those with the most reports")] = [],  # noqa: B006
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> CurvesPublic:
    """Learning curves: each trial's reports of the primary metric by step, with its status (ASHA's stops)."""
    return CurvesPublic(**learning_curves(lake, known_id(experiment_id), trial, limit))
