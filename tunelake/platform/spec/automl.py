"""What an AutoML run is asked for: one schema behind ``tunelake automl``, ``POST /automl`` and ``automl()``."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from tunelake.errors import SpecError
from tunelake.platform.spec.messages import format_errors
from tunelake.platform.spec.params import Number, _Model


PROPOSALS = 10
"""How many proposals a warm search starts from, and `recommend` shows, unless told otherwise: as many as TPE's
random start-up trials, which they replace."""


class AutoMLSpec(_Model):
    """Data in, fitted model out: the data, its target, and how hard to search."""

    data: StrictStr = Field(min_length=1, max_length=2000,
                            description="a CSV or Parquet file the cluster can read (a path, or s3://...)")
    target: StrictStr = Field(min_length=1, max_length=500, description="the column to predict")
    trials: StrictInt = Field(20, ge=1, le=10_000, description="configurations to try at most")
    time_budget_s: Number | None = Field(None, gt=0, description="seconds of wall clock for all of it: "
                                                                  "meta-features, search, refit of the final model")
    metric: StrictStr | None = Field(None, max_length=100,
                                     description="a scikit-learn scorer (by default accuracy, or r2 for regression)")
    folds: StrictInt = Field(3, ge=2, le=20, description="cross-validation folds per configuration")
    warm_start: StrictBool = Field(True, description="start from the meta-model's proposals for this data")
    k: StrictInt = Field(PROPOSALS, ge=1, le=100, description="how many proposals to start from (by default as many as "
                                                          "TPE's random start-up trials, which they replace)")
    seed: StrictInt = 0
    early_stop: StrictBool = Field(True, description="let ASHA stop a configuration whose first folds are in the "
                                                     "worse half")
    ensemble: StrictBool = Field(False, description="store a weighted ensemble of the best pipelines, chosen on "
                                                    "their out-of-fold predictions, when it scores better there "
                                                    "than the best alone")
    families: list[StrictStr] | None = Field(None, min_length=1, max_length=20,
                                             description="only these model families, comma-separated (e.g. "
                                                         "lgbm,torch; default: every installed one; the untuned "
                                                         "default still runs first as the safety net)")
    gpus_per_trial: Number = Field(0, ge=0, le=64, description="GPUs each trial reserves (0.5: two trials share "
                                                              "one); the torch family trains on them")

    @field_validator("families")
    @classmethod
    def _known_families(cls, names: list[str] | None) -> list[str] | None:
        from tunelake.metalearn import zoo  # the zoo names the families; the schema stays importable without it

        for name in names or []:
            family = zoo.FAMILIES.get(name)
            if family is None:
                raise ValueError(f"{name!r} is not a model family; use some of: {', '.join(zoo.FAMILIES)}")
            if not family.available():
                raise ValueError(f"the {name!r} family needs {family.requires}: pip install "
                                 f"\"tunelake[{family.requires}]\"")
        return names


def parse_automl(data: Any, source: str = "automl") -> AutoMLSpec:
    """Validate an AutoML request; raise :class:`SpecError` listing every problem with its field."""
    if not isinstance(data, dict):
        raise SpecError([f"automl: must be a JSON/YAML object, got {type(data).__name__}"], source)
    try:
        return AutoMLSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_errors(exc, AutoMLSpec), source) from None
