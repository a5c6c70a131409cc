"""``tunelake resume``: continue an experiment whose driver died, from Ray Tune's saved state."""

from __future__ import annotations

import json
from typing import Any

from tunelake.errors import UserInputError
from tunelake.platform.experiments.lifecycle import Result
from tunelake.platform.experiments.run import Experiment
from tunelake.platform.spec import parse_spec
from tunelake.platform.trial.result import FINAL, Outcome, TrialResult
from tunelake.platform.tune.runner import TuneStorage, can_restore, tune_storage
from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.schema import ExperimentStatus


def resume(experiment_id: str, lake: str | None = None, address: str | None = None,
           progress: bool = False) -> Result:
    """Continue an experiment whose driver died, from Ray Tune's saved state.

    Completed trials stay as they are (in Tune and in the lake); trials that
    were running start again under their own ids; the searcher continues
    from its saved state. The code must be what it was (same commit).
    """
    the_lake = Lake(lake, create=False)
    row = catalog.experiment(the_lake, experiment_id)
    if row is None:
        raise UserInputError(f"experiment {experiment_id!r} is not in the lake {the_lake.uri}")
    if row["status"] == ExperimentStatus.COMPLETED.value:
        raise UserInputError(f"experiment {experiment_id!r} has completed; there is nothing to resume")
    source = row["code_source"] or ""
    if "***@" in source:
        raise UserInputError(f"experiment {experiment_id!r} fetched its code with credentials in the URL, which the "
                             "lake does not keep; use an SSH URL or a credential helper, then run it again")
    spec = parse_spec(json.loads(row["spec"]))
    git = row["code_commit"] and not row["code_commit"].startswith("sha256:")
    spec = spec.model_copy(update={"code_github": source, "code_ref": row["code_commit"] if git else None})
    experiment = Experiment(spec, the_lake, None, address, experiment_id=experiment_id, created=row["created_at"])
    experiment.expected_commit = row["code_commit"]
    experiment.replay = _completed_results(the_lake, experiment_id)
    # in the lake (a search that spanned nodes) or in this machine's cache: wherever the run left it
    places = {str(s): s for s in (tune_storage(the_lake, shared=True), tune_storage(the_lake, shared=False))}.values()
    experiment.storage = next((s for s in places if _restorable(s, experiment_id)), None)
    if experiment.storage is None:
        where = " or ".join(str(s.state_path(experiment_id)) for s in places)
        raise UserInputError(f"experiment {experiment_id!r} has no saved Tune state at {where}; it cannot be resumed")
    return experiment.run(progress=progress, restore=True)


def _restorable(storage: TuneStorage, experiment_id: str) -> bool:
    try:
        return can_restore(storage, experiment_id)
    except OSError:  # the lake's storage is unreachable: as if the state were not there (the message says where)
        return False


def _completed_results(lake: Lake, experiment_id: str) -> dict[str, dict[str, Any]]:
    """The lake's completed trials of an experiment, as the final results Tune would have seen."""
    rows = catalog.completed_results(lake, experiment_id)
    return {
        r["trial_id"]: TrialResult(
            kind=FINAL, outcome=Outcome.COMPLETED, objective=r["value"], metrics=json.loads(r["metrics"] or "{}"),
            steps=r["iterations"], exit_code=r["exit_code"], model_uri=r["model_uri"], duration_s=r["duration_s"],
        ).to_tune()
        for r in rows
    }
