"""Node-local code workspaces: one prepared tree per node and commit, one copy per trial.

Preparing (unpacking the snapshot and running ``install_script``) happens once
per node and commit, under a file lock, so concurrent trials and experiments
on a node wait for the first one instead of installing again. Each trial then
gets its own copy, so trials side by side never share ``model_dir`` or
scratch files.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Callable

from tunelake.errors import CodeSourceError
from tunelake.paths import cache_root
from tunelake.platform.code.locks import file_lock

READY = ".tunelake-ready"
INSTALL_LOG = ".tunelake-install.log"
LOW_DISK_BYTES = 8 * 1024 * 1024


def free_bytes(path: Path) -> int | None:
    """Free space on the disk that holds ``path`` (or would hold it)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def disk_hint(path: Path) -> str:
    """A note for a failure's reason when the disk holding ``path`` is nearly full, its likely cause."""
    free = free_bytes(path)
    if free is None or free >= LOW_DISK_BYTES:
        return ""
    return (f"; the disk holding {path} is full ({free} bytes free): free space there, or point "
            "TUNELAKE_CACHE at a larger disk")


def python_path_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` with the directory of the running Python first on ``PATH``."""
    env = dict(base)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bindir, env.get("PATH", os.defpath)])
    return env


def prepare(
    key: str,
    load_archive: Callable[[], bytes],
    install_script: str | None,
    subdir: str,
    root: Path | None = None,
    env: dict[str, str] | None = None,
) -> Path:
    """The prepared tree for ``key`` on this node, preparing it if needed."""
    base = (root or cache_root()) / "workspaces" / key
    tree = base / "tree"
    if (base / READY).exists():
        return tree
    with file_lock(base.with_suffix(".lock")):
        if (base / READY).exists():
            return tree
        shutil.rmtree(base, ignore_errors=True)
        tree.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(load_archive()), mode="r:") as tar:
            tar.extractall(tree, filter="tar")
        try:
            _refuse_links_out(tree)
        except CodeSourceError:
            shutil.rmtree(base, ignore_errors=True)
            raise
        workdir = tree / subdir
        if not workdir.is_dir():
            shutil.rmtree(base, ignore_errors=True)
            raise CodeSourceError(f"dir: {subdir!r} does not exist in the code tree; check the spec's dir")
        if install_script:
            try:
                _install(workdir, install_script, base / INSTALL_LOG, env or dict(os.environ))
            except CodeSourceError:
                shutil.rmtree(tree, ignore_errors=True)
                raise
        (base / READY).write_text(key)
    return tree


def _refuse_links_out(tree: Path) -> None:
    """Refuse a tree holding a link that leads out of it (following every link on the way, as a trial would)."""
    root = tree.resolve()
    for folder, dirs, files in os.walk(tree):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(root):
                raise CodeSourceError(
                    f"the code tree holds {path.relative_to(tree).as_posix()}, a link to {os.readlink(path)}, "
                    "which leads outside the tree, so trials would read that path on this node: commit what it "
                    "names instead, or remove the link"
                )


def _install(workdir: Path, script: str, log: Path, env: dict[str, str]) -> None:
    """Run ``script`` (a file in ``dir``, run with bash, or else a shell command)."""
    argv = ["bash", script] if (workdir / script).is_file() else ["/bin/sh", "-c", script]
    with open(log, "wb") as out:
        done = subprocess.run(
            argv, cwd=workdir, env=python_path_env(env), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, check=False,
        )
    if done.returncode != 0:
        tail = log.read_bytes()[-3000:].decode(errors="replace")
        raise CodeSourceError(
            f"install_script {script!r} failed with exit code {done.returncode}; its output ends with:\n{tail}"
        )


def working_copy(tree: Path, dest: Path) -> None:
    """A private copy of ``tree`` at ``dest`` (copy-on-write where the disk supports it)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("cp") and sys.platform.startswith("linux"):
        done = subprocess.run(["cp", "-a", "--reflink=auto", str(tree), str(dest)], capture_output=True)
        if done.returncode == 0:
            return
        shutil.rmtree(dest, ignore_errors=True)
    try:
        shutil.copytree(tree, dest, symlinks=True)
    except shutil.Error as exc:  # one (src, dst, why) per file: the first says enough
        _, failed, why = exc.args[0][0]
        raise OSError(f"{why} (copying to {failed})") from None
