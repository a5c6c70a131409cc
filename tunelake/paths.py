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
