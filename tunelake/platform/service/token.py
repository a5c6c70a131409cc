"""The service's API token, kept where a trial cannot read it.

Trials run as the same user as the service, and any process of that user can
read ``/proc/<pid>/environ``, the environment a process *started* with
(``os.environ.pop`` does not change it). So a token given in
``TUNELAKE_API_TOKEN`` makes ``tunelake serve`` start itself again, once,
without that variable, handing the token over through a pipe; the token
never sits in the environment of the process that serves. The preferred way
is ``TUNELAKE_API_TOKEN_FILE``: a file only the service's user can read,
read once at start. Either way the value is kept by :mod:`tunelake.redact`,
so no response of the service shows it even if it reached the lake.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

from tunelake.errors import UserInputError
from tunelake.redact import keep_secret

TOKEN = "TUNELAKE_API_TOKEN"
TOKEN_FILE = "TUNELAKE_API_TOKEN_FILE"
TOKEN_FD = "TUNELAKE_API_TOKEN_FD"
"""Set only by :func:`restart_without_token`: the pipe the token comes through."""


def started_with_token() -> bool:
    """Whether this process' initial environment (what ``/proc/self/environ`` shows) holds the token."""
    return _initial_token() is not None


def restart_without_token(argv: Sequence[str]) -> None:
    """Start ``tunelake <argv>`` again in this process, with the token in a pipe instead of the environment."""
    token = os.environ.get(TOKEN) or _initial_token() or ""
    env = {k: v for k, v in os.environ.items() if k != TOKEN}
    read, write = os.pipe()
    os.write(write, token.encode())  # far below a pipe's buffer, so this never blocks
    os.close(write)
    os.set_inheritable(read, True)
    env[TOKEN_FD] = str(read)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "tunelake", *argv], env)


def _initial_token() -> str | None:
    """The token in this process' initial environment, if any (``os.environ`` where there is no /proc)."""
    try:
        entries = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return os.environ.get(TOKEN)
    prefix = TOKEN.encode() + b"="
    return next((e[len(prefix):].decode() for e in entries if e.startswith(prefix)), None)


def read_token() -> str | None:
    """The token handed over by a restart or named by ``TUNELAKE_API_TOKEN_FILE``; kept secret from now on."""
    fd = os.environ.pop(TOKEN_FD, None)
    if fd is not None:
        token = _drain(int(fd))
        if not token:
            raise UserInputError(f"the API token's pipe was empty: another process read it first; "
                                 f"start the service again, preferably with {TOKEN_FILE}")
    elif os.environ.get(TOKEN_FILE):
        path = Path(os.environ[TOKEN_FILE]).expanduser()
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise UserInputError(f"{TOKEN_FILE}: cannot read {path}: {exc.strerror}") from None
        if not token:
            raise UserInputError(f"{TOKEN_FILE}: {path} is empty; write the token into it")
    else:
        return None
    if len(token) < 16:
        raise UserInputError(f"the API token has {len(token)} characters; use at least 16 "
                             "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    keep_secret(token)
    return token


def _drain(fd: int) -> str:
    chunks = []
    with os.fdopen(fd, "rb") as pipe:
        while chunk := pipe.read(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode().strip()
