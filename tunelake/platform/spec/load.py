"""Spec documents in: JSON or YAML text or files, hardened against what is not a spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tunelake.errors import SpecError
from tunelake.platform.spec.experiment import Spec
from tunelake.platform.spec.local import local_problems
from tunelake.platform.spec.messages import format_errors

MAX_SPEC_BYTES = 1_000_000
"""Specs are short documents; a bigger file is a mistake, not a spec."""


def parse_spec(data: Any, source: str = "spec") -> Spec:
    """Validate a parsed document; raise :class:`SpecError` listing every problem."""
    if data is None:
        raise SpecError(["spec: is empty; write a JSON/YAML object with command, primary_result_key, "
                         "code_github and search"], source)
    if not isinstance(data, dict):
        raise SpecError([f"spec: must be a JSON/YAML object, got {type(data).__name__}"], source)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(format_errors(exc), source) from None
    except RecursionError:
        raise SpecError(["spec: nested too deeply to be an experiment spec"], source) from None
    problems = spec.problems()
    if problems:
        raise SpecError(problems, source)
    return spec


def load_document(text: str, source: str = "spec") -> Any:
    """Parse JSON, or YAML when it is not JSON; errors name the line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError([f"spec: larger than {MAX_SPEC_BYTES} bytes; a spec is a short JSON or YAML file"], source)
    if "\x00" in text:
        raise SpecError(["spec: contains NUL bytes; it must be a JSON or YAML text file"], source)
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError([f"spec: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"], source) \
                from None
        except RecursionError:
            raise SpecError(["spec: nested too deeply to be an experiment spec"], source) from None
    try:
        return yaml.load(text, Loader=_SafeNoAliasLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError([f"spec: invalid YAML{where}: {problem}"], source) from None
    except RecursionError:
        raise SpecError(["spec: nested too deeply to be an experiment spec"], source) from None


class _NoAliases(yaml.composer.Composer):
    """YAML without anchors and aliases: a spec never needs them, and they allow 'billion laughs' bombs."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "YAML aliases (*name) are not allowed in a spec", event.start_mark
            )
        return super().compose_node(parent, index)


class _PythonLoader(_NoAliases, yaml.SafeLoader):
    """PyYAML's own parser, where PyYAML was built without libyaml."""


if yaml.__with_libyaml__:
    class _LibyamlLoader(_NoAliases, yaml.cyaml.CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's parser (a 1 MB spec in 0.7 s instead of 3 s) under PyYAML's composer, which refuses aliases."""

        def __init__(self, stream) -> None:  # type: ignore[no-untyped-def]
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            _NoAliases.__init__(self)

    _SafeNoAliasLoader: type = _LibyamlLoader
else:
    _SafeNoAliasLoader = _PythonLoader


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file (JSON or YAML), and the local code folder it names (from its folder)."""
    p = Path(path)
    source = str(path)
    if not p.is_file():
        raise SpecError([f"spec: file {source!r} not found; pass the path of an experiment JSON or YAML file"],
                        source)
    raw = p.read_bytes()
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([f"spec: larger than {MAX_SPEC_BYTES} bytes; a spec is a short JSON or YAML file"], source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(["spec: not UTF-8 text; a spec is a JSON or YAML file"], source) from None
    spec = parse_spec(load_document(text, source), source)
    problems = local_problems(spec, p.resolve().parent)
    if problems:
        raise SpecError(problems, source)
    return spec
