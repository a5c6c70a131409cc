"""What users write: the experiment spec (and its parameters), validated by one pydantic schema.

Pure pydantic, no Ray and no lake: the CLI, the API's OpenAPI document and
every error message come from these models.
"""

from tunelake.platform.spec.automl import PROPOSALS, AutoMLSpec, parse_automl
from tunelake.platform.spec.experiment import Backend, Dataset, Mode, ModelStorage, Resources, Spec, WarmStart
from tunelake.platform.spec.optimizer import (
    ALGORITHM_ALIASES,
    EXTRAS,
    OPTUNA_SAMPLERS,
    POPULATION,
    Algorithm,
    Optimizer,
    SchedulerKind,
)
from tunelake.platform.spec.environment import BUILTIN_PLACEHOLDERS, PLACEHOLDER, env_name, format_value
from tunelake.platform.spec.load import MAX_SPEC_BYTES, load_document, load_spec, parse_spec
from tunelake.platform.spec.params import PARAM_TYPES, Choice, Constant, Grid, Int, LogUniform, Param, Uniform

__all__ = [
    "ALGORITHM_ALIASES", "EXTRAS", "OPTUNA_SAMPLERS", "POPULATION", "PROPOSALS", "AutoMLSpec", "BUILTIN_PLACEHOLDERS",
    "MAX_SPEC_BYTES", "PARAM_TYPES", "PLACEHOLDER",
    "Algorithm", "Backend", "Choice", "Constant", "Dataset", "Grid", "Int", "LogUniform", "Mode", "ModelStorage",
    "Optimizer", "Param", "Resources", "SchedulerKind", "Spec", "Uniform", "WarmStart", "env_name", "format_value",
    "load_document", "load_spec", "parse_automl", "parse_spec",
]
