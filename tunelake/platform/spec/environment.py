"""What a spec's parameters become in a trial's process, and the limits the OS puts on that.

A trial gets its parameters as ``{name}`` placeholders in its command line,
as one ``TUNELAKE_PARAM_<NAME>`` variable each and as ``TUNELAKE_PARAMS``
(all of them as JSON). The names are said here, once, for the worker
(``platform/trial/protocol.py``) and for validation alike, so that a spec
whose trials the OS would refuse to start (``Argument list too long``) or
whose parameters would overwrite each other is an error before any trial.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from typing import Any, Iterable, Mapping

from pydantic import BaseModel

from tunelake.platform.spec.params import Choice, Constant, Grid, Int

PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
"""``{name}`` in a command; ``{{`` and ``}}`` stay literal braces."""

BUILTIN_PLACEHOLDERS = frozenset({"trial_id", "trial_dir", "model_dir", "experiment_id", "checkpoint_dir"})
"""Placeholders every trial fills itself: no search parameter may take these names."""

PARAM_PREFIX = "TUNELAKE_PARAM_"
PARAMS_VARIABLE = "TUNELAKE_PARAMS"

MAX_ARG_STRLEN = 131072
"""Linux's limit on one string of a new process' command line or environment (``NAME=value`` and its NUL)."""

ARG_MAX_CAP = 2 * 1024 * 1024
"""Linux's usual ``ARG_MAX`` (a quarter of the default 8 MiB stack): a worker node may have no more than this."""

FLOAT_CHARS = 24
"""The longest ``repr`` of a float (``-2.2250738585072014e-308``)."""

PATH_CHARS = 4096
"""What a built-in placeholder (a trial's dir, at most ``PATH_MAX``) may add to the command."""

FILE_HINT = ("pass big values through a file instead: put it in the code folder or on shared storage and make the "
             "parameter its path")


def format_value(value: Any) -> str:
    """A parameter's value as the trial sees it in its environment and command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(value))  # numpy's float64 is a float whose repr is "np.float64(...)"
    return str(value)


def env_name(param: str) -> str:
    """The environment variable that holds parameter ``param``."""
    return PARAM_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", param).upper()


def arg_max() -> int:
    """The OS limit on a new process' command line and environment together, here and on a usual worker."""
    try:
        here = os.sysconf("SC_ARG_MAX")
    except (AttributeError, ValueError, OSError):
        here = -1
    return min(here, ARG_MAX_CAP) if here > 0 else ARG_MAX_CAP


def _values(param: BaseModel) -> list[Any] | None:
    """Every value ``param`` can take, when it is a list of them; ``None`` for a range."""
    if isinstance(param, (Choice, Grid)):
        return list(param.values)
    if isinstance(param, Constant):
        return [param.value]
    return None


def _longest(param: BaseModel) -> tuple[int, int, int]:
    """The most bytes a value of ``param`` takes as a variable, as JSON and shell-quoted in the command."""
    values = _values(param)
    if values is None:
        if isinstance(param, Int):
            n = max(len(str(param.low)), len(str(param.high)))
            return n, n, n
        return FLOAT_CHARS, FLOAT_CHARS, FLOAT_CHARS + 2
    return (max(_size(format_value(v)) for v in values), max(_size(json.dumps(v)) for v in values),
            max(_size(shlex.quote(format_value(v))) for v in values))


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def names_problems(names: Iterable[str]) -> list[str]:
    """Parameter names that would shadow a built-in placeholder or share a ``TUNELAKE_PARAM_*`` variable."""
    problems: list[str] = []
    by_variable: dict[str, list[str]] = {}
    for name in names:
        if name in BUILTIN_PLACEHOLDERS:
            problems.append(f"search.{name}: {{{name}}} is a placeholder every trial fills itself "
                            f"({', '.join(sorted(BUILTIN_PLACEHOLDERS))}); rename the parameter")
        by_variable.setdefault(env_name(name), []).append(name)
    for variable, same in by_variable.items():
        if len(same) > 1:
            listed = " and ".join(repr(n) for n in same)
            problems.append(f"search: parameters {listed} would all be {variable} in the trial's environment "
                            "(names are upper-cased there); rename all but one")
    return problems


def size_problems(search: Mapping[str, BaseModel], command: str) -> list[str]:
    """Where the trial's command line or environment would exceed the OS limits, naming the parameter."""
    longest = {name: _longest(param) for name, param in search.items()}
    problems: list[str] = []
    variables = {}
    for name, (chars, _, _) in longest.items():
        variables[name] = _size(env_name(name)) + 1 + chars + 1
        if variables[name] > MAX_ARG_STRLEN:
            problems.append(f"search.{name}: a value takes up to {variables[name]} bytes as {env_name(name)}, more "
                            f"than one environment variable may hold ({MAX_ARG_STRLEN} bytes, Linux's "
                            f"MAX_ARG_STRLEN); {FILE_HINT}")
    if problems:
        return problems
    # {"name": value, ...}: each name quoted, ": ", ", " between entries.
    as_json = _size(PARAMS_VARIABLE) + 1 + 2 + sum(_size(json.dumps(n)) + 2 + j + 2 for n, (_, j, _) in
                                                   longest.items()) + 1
    if as_json > MAX_ARG_STRLEN:
        biggest = sorted(longest, key=lambda n: -longest[n][1])[:3]
        problems.append(f"search: the {len(search)} parameters take up to {as_json} bytes as {PARAMS_VARIABLE} (all of "
                        f"them as JSON), more than one environment variable may hold ({MAX_ARG_STRLEN} bytes, "
                        f"Linux's MAX_ARG_STRLEN); the biggest: {', '.join(biggest)}; use fewer parameters, or "
                        f"{FILE_HINT}")
    line = _size(command) + 1
    for name in PLACEHOLDER.findall(command):
        line += (longest[name][2] if name in longest else PATH_CHARS) - len(name) - 2
    if line > MAX_ARG_STRLEN:
        problems.append(f"command: filled in, it takes up to {line} bytes, more than one command-line string may "
                        f"hold ({MAX_ARG_STRLEN} bytes, Linux's MAX_ARG_STRLEN); read the parameters from "
                        f"{PARAMS_VARIABLE}_FILE rather than the command line, or {FILE_HINT}")
    total = as_json + line + sum(variables.values()) + 8 * (len(variables) + 4)
    if not problems and total > arg_max() // 2:
        problems.append(f"search: the trial's parameters take up to {total} bytes of its command line and "
                        f"environment, more than half the OS limit for both ({arg_max()} bytes, ARG_MAX; the "
                        f"rest is for the environment the trial inherits); use fewer parameters, or {FILE_HINT}")
    return problems
