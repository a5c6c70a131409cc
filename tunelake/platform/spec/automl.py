"""What an AutoML run is asked for: one schema behind ``tunelake automl``, ``POST /automl`` and ``automl()``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, ValidationError

from tunelake.errors import SpecError
from tunelake.platform.spec.messages import format_errors
from tunelake.platform.spec.params import Number, _Model


class AutoMLSpec(_Model):
    """Data in, fitted model out: the data, its target, and how hard to search."""

    data: Annotated[StrictStr, Field(min_length=1, max_length=2000,
                                     description="a CSV or Parquet file the cluster can read (a path, or s3://...)")]
    target: Annotated[StrictStr, Field(min_length=1, max_length=500, description="the column to predict")]
    trials: Annotated[StrictInt, Field(ge=1, le=10_000, description="configurations to try at most")] = 20
    time_budget_s: Annotated[Number, Field(gt=0, description="the whole wall clock: meta-features, search and "
                                                             "refit")] | None = None
    metric: Annotated[StrictStr, Field(max_length=100, description="a scikit-learn scorer (default: accuracy "
                                                                  "or r2)")] | None = None
    folds: Annotated[StrictInt, Field(ge=2, le=20, description="cross-validation folds per configuration")] = 3
    warm_start: StrictBool = Field(True, description="start from the meta-model's proposals")
    k: Annotated[StrictInt, Field(ge=1, le=100, description="proposals to start from")] = 5
    seed: StrictInt = 0
    early_stop: StrictBool = Field(True, description="stop a configuration whose first folds are in the worse half")
    ensemble: StrictBool = Field(False, description="a weighted ensemble of the best pipelines when it scores "
                                                    "better out of fold; false stores the best pipeline alone")


def parse_automl(data: Any, source: str = "automl") -> AutoMLSpec:
    """Validate an AutoML request; raise :class:`SpecError` listing every problem with its field."""
    if not isinstance(data, dict):
        raise SpecError([f"automl: must be a JSON/YAML object, got {type(data).__name__}"], source)
    try:
        return AutoMLSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_errors(exc, AutoMLSpec), source) from None
