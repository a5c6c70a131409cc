"""What a spec file names on the machine it is read on: its local code folder and ``install_script``.

A git URL is fetched at run time, but a folder is there (or not) now, so a
spec whose folder, ``dir`` or install script is missing fails validation,
not its first trial. ``platform/code/source.py`` reads ``code_github`` by the
same rule (:func:`is_git_url`).
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

from tunelake.platform.spec.experiment import Spec

_SCP_LIKE = re.compile(r"^[\w.\-]+@[\w.\-]+:")
_SHELL_SYNTAX = re.compile(r"[;&|<>()`$\n*?\[\]{}~#=]")


def is_git_url(location: str) -> bool:
    """A git URL (``https://``, ``ssh://``, ``file://``, ``git@host:path``); anything else is a directory."""
    return "://" in location or bool(_SCP_LIKE.match(location))


def code_folder(location: str, base_dir: Path | None) -> Path:
    """The directory a local ``code_github`` names: relative ones from ``base_dir`` (default: here)."""
    path = Path(location).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    return path.resolve()


def local_problems(spec: Spec, base_dir: Path | None) -> list[str]:
    """Problems with the local code folder ``spec`` names (none for a git URL): each a line led by the field."""
    if is_git_url(spec.code_github):
        return []
    folder = code_folder(spec.code_github, base_dir)
    if not folder.is_dir():
        return [f"code_github: {spec.code_github!r} is neither a git URL nor an existing directory (looked at "
                f"{folder}); give the folder of the code, relative to the spec's folder, or a git URL"]
    workdir = folder / spec.dir
    if not workdir.is_dir():
        return [f"dir: {spec.dir!r} does not exist in {folder}; name a folder inside the code"]
    problem = _install_script_problem(spec.install_script, workdir)
    return [problem] if problem else []


def _install_script_problem(script: str | None, workdir: Path) -> str | None:
    """A script file that is not there (``setup.sh``, ``./setup.sh``, ``bash setup.sh``), or a one-word
    command found neither in ``dir`` nor on PATH.

    The node runs ``install_script`` with bash when it is a file in ``dir``, else as a shell command.
    """
    if not script or (workdir / script).is_file():
        return None
    try:
        words = shlex.split(script)
    except ValueError:
        return None  # the shell will say what is wrong with the quoting
    if not words or _SHELL_SYNTAX.search(script):
        return None  # a pipeline, a variable, a glob: only running it tells
    if words[0] in ("bash", "sh") and len(words) > 1 and not words[1].startswith("-"):
        wanted = words[1]
    elif "/" in words[0]:
        wanted = words[0]
    elif len(words) > 1 or shutil.which(words[0]):
        return None
    else:
        wanted = words[0]
    if (workdir / wanted).exists():
        return None
    return (f"install_script: {wanted!r} is neither a file in {workdir} nor a command on PATH; give the script's "
            "path relative to dir (e.g. \"setup.sh\"), or a shell command")
