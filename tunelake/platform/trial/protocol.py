"""The trial protocol: how a trial's parameters reach the user's program.

Every trial gets its parameters three ways, so any language can read them:
``{name}`` placeholders in the command (shell-quoted), ``TUNELAKE_PARAMS``
(JSON) plus ``TUNELAKE_PARAMS_FILE`` (the same JSON in a file), and one
``TUNELAKE_PARAM_<NAME>`` variable each. ``TUNELAKE_TRIAL_ID``,
``TUNELAKE_EXPERIMENT_ID``, ``TUNELAKE_TRIAL_DIR`` and ``TUNELAKE_MODEL_DIR``
say where it runs and where to save its model.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from tunelake.platform.spec import PLACEHOLDER, env_name, format_value
from tunelake.platform.spec.environment import PARAMS_VARIABLE

SERVER_SECRETS = ("TUNELAKE_API_TOKEN", "RAY_AUTH_TOKEN")
"""Settings of the tunelake process itself that a user's trial must never see."""


def plain(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as plain Python values: searchers built on numpy (BayesOpt, HyperOpt, BOHB) propose numpy
    scalars, which JSON cannot write and which print as ``np.float64(0.5)``."""
    return {name: value.item() if hasattr(value, "item") else value for name, value in params.items()}


def render_command(template: str, values: dict[str, Any]) -> str:
    """Fill ``{name}`` placeholders (shell-quoted); ``{{`` and ``}}`` become braces."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return shlex.quote(format_value(values[name]))

    rendered = PLACEHOLDER.sub(fill, template)
    return rendered.replace("{{", "{").replace("}}", "}")


def trial_env(
    base: dict[str, str],
    params: dict[str, Any],
    params_file: str,
    ids: dict[str, str],
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The trial's environment: ``base`` minus server secrets, plus the protocol's variables."""
    env = {k: v for k, v in base.items() if k not in SERVER_SECRETS}
    env[PARAMS_VARIABLE] = json.dumps(params, sort_keys=True)
    env["TUNELAKE_PARAMS_FILE"] = params_file
    for name, value in params.items():
        env[env_name(name)] = format_value(value)
    for name, value in ids.items():
        env[f"TUNELAKE_{name.upper()}"] = value
    env.update(extra or {})
    return env
