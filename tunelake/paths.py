"""Where tunelake keeps its own files on a machine (apart from the lake, which the user names)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$TUNELAKE_CACHE``, else ``$XDG_CACHE_HOME/tunelake``, else ``~/.cache/tunelake``."""
    explicit = os.environ.get("TUNELAKE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "tunelake"


LOCAL_LAKE = "./tunelake-lake"
JOB_LAKE = "~/.tunelake/lake"
RAY_JOB_VARIABLE = "RAY_JOB_CONFIG_JSON_ENV_VAR"
"""Set by Ray for the entrypoint of every job (``ray job submit``, the service's jobs)."""


def default_lake() -> str:
    """The lake when none is named: ``$TUNELAKE_LAKE``, else ``./tunelake-lake``.

    A Ray job's entrypoint runs inside the job's working-dir package, which Ray unpacks under its temp
    dir and deletes later, so a job's default is ``~/.tunelake/lake`` instead: the home of the user that
    runs Ray on the head node. A real cluster names a lake every node reaches (``--lake s3://...``).
    """
    explicit = os.environ.get("TUNELAKE_LAKE")
    if explicit:
        return explicit
    if os.environ.get(RAY_JOB_VARIABLE):
        return str(Path(JOB_LAKE).expanduser())
    return LOCAL_LAKE
