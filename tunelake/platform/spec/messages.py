"""pydantic's validation errors as lines a user can act on: ``field.path: problem; fix``."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from tunelake.platform.spec.experiment import ONE_OR_SEVERAL_TAGS, Spec
from tunelake.platform.spec.params import PARAM_TYPES


def format_errors(exc: ValidationError, root: type[BaseModel] = Spec) -> list[str]:
    """One line per problem: the field's dotted path, then what is wrong and how to fix it."""
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        # Drop the union member tags pydantic inserts (search.C.uniform.low -> search.C.low).
        loc = [p for p in loc if p not in PARAM_TYPES and p not in ONE_OR_SEVERAL_TAGS
               and not p.startswith(("tagged-union[", "function-"))]
        path = ".".join(loc) or "spec"
        kind = err["type"]
        msg = err["msg"].removeprefix("Value error, ")
        if kind == "missing":
            msg = "is required"
        elif kind == "extra_forbidden":
            parent = _model_at(root, loc[:-1])
            known = ", ".join(sorted(parent.model_fields)) if parent else ""
            msg = f"unknown field; known fields here: {known}" if known else "unknown field"
        elif kind == "union_tag_invalid":
            msg = f"unknown type {err['input'].get('type')!r}; use one of: {', '.join(PARAM_TYPES)}"
        elif kind == "union_tag_not_found":
            msg = f"needs a \"type\": one of {', '.join(PARAM_TYPES)}"
        elif kind == "enum":
            msg = f"{err['input']!r} is not known; use one of: {err['ctx']['expected']}"
        elif kind in ("model_type", "dict_type"):
            msg = f"must be an object, got {type(err['input']).__name__}"
        if kind.endswith("_type") and "input" in err and kind not in ("model_type", "dict_type"):
            msg = f"{msg} (got {_short(err['input'])})"
        lines.append(f"{path}: {msg}")
    return lines


def _model_at(root: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return model


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
