"""Secrets out of everything tunelake stores or shows.

A trial may print its environment, an error may quote a URL with a password
in it: text that reaches the lake, a log or an API response passes through
:func:`redact` first. Secrets are the values of environment variables whose
names say they are secret (``*_TOKEN``, ``*SECRET*``, ``*PASSWORD*``,
``*_KEY``, ...), the values a process declared with :func:`keep_secret`
(the service's API token, which is never in any environment), plus
credentials written into URLs.
"""

from __future__ import annotations

import os
import re
from typing import Mapping

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|ACCESS_KEY", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s@:]+(:[^/\s@]*)?@", re.IGNORECASE)
MIN_SECRET_CHARS = 6
"""Shorter values (``1``, ``true``) would blank out ordinary text and protect nothing."""
MASK = "***"
_KEPT: set[str] = set()


def keep_secret(value: str) -> None:
    """Mask ``value`` in this process from now on, whatever any environment says."""
    if len(value) >= MIN_SECRET_CHARS:
        _KEPT.add(value)


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The values to hide, longest first (so a secret inside another is not half-masked)."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_CHARS} | _KEPT
    return sorted(values, key=len, reverse=True)


def redact(text: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """``text`` with every secret of ``env`` (default: this process'), every kept secret and URL
    credentials masked."""
    if not text:
        return text
    for value in secret_values(env):
        text = text.replace(value, MASK)
    return URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
