"""What the page's charts draw, computed here so the page holds no logic the API lacks: an experiment's history,
its map over two parameters, parameter importance, an AutoML leaderboard and the proposals it started from,
experiments compared, and warm against cold starts across datasets."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from tunelake.platform.reports import history, importance, warmstart
from tunelake.platform.service.deps import Authorized, LakeDep, known_id
from tunelake.platform.service.schemas import (
    ComparePublic,
    HistoryPublic,
    ImportancePublic,
    LeaderboardPublic,
    MapPublic,
    RegretPublic,
    WarmStartPublic,
)
from tunelake.store import browse

router = APIRouter(tags=["charts"], dependencies=Authorized)


@router.get("/experiments/{experiment_id}/history", response_model=HistoryPublic)
def get_history(experiment_id: str, lake: LakeDep) -> HistoryPublic:
    """Every trial in start order (value, status, best completed value so far, params) and an axis per parameter
    (``log`` for log-scale ones, ``category`` with its labels for choices): the history, parallel coordinates
    and slice plots."""
    return HistoryPublic(**history.history(lake, known_id(experiment_id)))


@router.get("/experiments/{experiment_id}/map", response_model=MapPublic)
def get_map(experiment_id: str, lake: LakeDep, x: Annotated[str, Query(max_length=200)],
            y: Annotated[str, Query(max_length=200)],
            bins: Annotated[int, Query(ge=0, le=50, description="cells per numeric axis of a heat map of the best "
                                                                "value per cell; 0: points only")] = 0) -> MapPublic:
    """The metric over parameters ``x`` and ``y``: both axes, every trial with a value (stopped ones too) and,
    with ``bins``, a heat map."""
    return MapPublic(**history.metric_map(lake, known_id(experiment_id), x, y, bins))


@router.get("/experiments/{experiment_id}/importance", response_model=ImportancePublic)
def get_importance(experiment_id: str, lake: LakeDep,
                   evaluator: importance.Evaluator = importance.Evaluator.FANOVA) -> ImportancePublic:
    """Hyperparameter importance by Optuna's evaluators (fANOVA, PED-ANOVA or MDI) over the completed trials."""
    return ImportancePublic(**importance.param_importance(lake, known_id(experiment_id), evaluator))


@router.get("/experiments/{experiment_id}/leaderboard", response_model=LeaderboardPublic)
def get_leaderboard(experiment_id: str, lake: LakeDep) -> LeaderboardPublic:
    """An AutoML experiment's model families, best score first: trials, completed, the best trial and params."""
    row = history.experiment_row(lake, known_id(experiment_id))
    data = [{**f, "best": history.finite(f["best"]), "best_params": json.loads(f["best_params"])
             if f["best_params"] else None} for f in browse.families(lake, experiment_id)]
    return LeaderboardPublic(experiment_id=experiment_id, metric=row.get("primary_metric"), data=data)


@router.get("/compare", response_model=ComparePublic)
def compare(lake: LakeDep, ids: Annotated[list[str], Query(max_length=5, description="2 to 5 experiments")]
            ) -> ComparePublic:
    """Experiments side by side: each one's history (for one chart) and its best value, trial and params."""
    return ComparePublic(data=history.compare(lake, [known_id(i) for i in ids]))


@router.get("/experiments/{experiment_id}/proposals", response_model=WarmStartPublic)
def get_proposals(experiment_id: str, lake: LakeDep) -> WarmStartPublic:
    """The meta-model's proposals an AutoML experiment started from, each with the trial that ran it."""
    return WarmStartPublic(**warmstart.proposals(lake, known_id(experiment_id)))


@router.get("/warmstart/regret", response_model=RegretPublic)
def get_regret(lake: LakeDep) -> RegretPublic:
    """How much warm starting helped: mean normalized regret after each trial, warm-started AutoML runs against
    cold ones, over the datasets the lake holds both for."""
    return RegretPublic(**warmstart.regret_curves(lake))
