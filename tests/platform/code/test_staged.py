"""A snapshot staged for a job is used only for the URL it was made of, and is checked like a fetched one."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tunelake.errors import CodeSourceError
from tunelake.platform.code.source import Snapshot
from tunelake.platform.code.staged import StagedSource, stage


def _archive(**links: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = b"print('score=1')"
        info = tarfile.TarInfo("train.py")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            link = tarfile.TarInfo(name)
            link.type, link.linkname = tarfile.SYMTYPE, target
            tar.addfile(link)
    return buffer.getvalue()


def test_a_staged_snapshot_round_trips(tmp_path: Path):
    made = Snapshot(source="https://git.example/proj.git", commit="a" * 40, archive=_archive())
    stage(made, tmp_path / "code")
    assert StagedSource(tmp_path / "code", "https://alice:pw@git.example/proj.git").snapshot() == made


def test_a_snapshot_of_another_url_is_refused(tmp_path: Path):
    stage(Snapshot(source="https://git.example/other.git", commit="b" * 40, archive=_archive()), tmp_path / "code")
    with pytest.raises(CodeSourceError, match="holds 'https://git.example/other.git', not the spec's"):
        StagedSource(tmp_path / "code", "https://git.example/proj.git").snapshot()


def test_a_staged_link_out_of_the_tree_is_refused(tmp_path: Path):
    stage(Snapshot(source="https://git.example/proj.git", commit="c" * 40, archive=_archive(creds="/etc/shadow")),
          tmp_path / "code")
    with pytest.raises(CodeSourceError, match="creds is a link to /etc/shadow"):
        StagedSource(tmp_path / "code", "https://git.example/proj.git").snapshot()


def test_no_snapshot_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CodeSourceError, match="no snapshot there"):
        StagedSource(tmp_path / "missing", "https://git.example/proj.git").snapshot()
