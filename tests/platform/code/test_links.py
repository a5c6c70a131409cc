"""Links in a code tree: kept when they stay inside it, refused (naming them) when they lead out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import commit_all, write_repo
from tunelake.errors import CodeSourceError
from tunelake.platform.code import workspace
from tunelake.platform.code.source import code_source


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "driver-home" / "credentials"
    secret.parent.mkdir()
    secret.write_text("DRIVER-SECRET")
    return secret


@pytest.mark.parametrize("how", ["absolute", "relative", "folder"])
def test_a_link_out_of_the_folder_is_refused_naming_it(tmp_path: Path, how: str):
    secret = _secret(tmp_path)
    repo = write_repo(tmp_path / "repo", {"train.py": "print(1)"})
    (repo / "sub").mkdir()
    target = {"absolute": str(secret), "relative": "../../driver-home/credentials", "folder": str(secret.parent)}[how]
    (repo / "sub" / "creds").symlink_to(target)
    with pytest.raises(CodeSourceError, match=f"sub/creds is a link to {target}, which is outside the folder"):
        code_source(str(repo), None, tmp_path / "cache").snapshot()


def test_links_inside_the_folder_reach_every_trial_copy(tmp_path: Path):
    repo = write_repo(tmp_path / "repo", {"data/big.csv": "a,b\n1,2\n", "conf/base.yaml": "lr: 1"})
    (repo / "train.csv").symlink_to("data/big.csv")
    (repo / "absolute.csv").symlink_to(repo / "data" / "big.csv")  # absolute, but inside: made relative
    (repo / "settings").symlink_to("conf")  # a linked folder
    snap = code_source(str(repo), None, tmp_path / "cache").snapshot()
    tree = workspace.prepare(snap.workspace_key(None), lambda: snap.archive, None, ".", root=tmp_path / "node")
    workspace.working_copy(tree, tmp_path / "trial")
    copy = tmp_path / "trial"
    assert (copy / "train.csv").is_symlink() and (copy / "train.csv").read_text() == "a,b\n1,2\n"
    assert os.readlink(copy / "absolute.csv") == "data/big.csv"
    assert (copy / "settings").is_symlink() and (copy / "settings" / "base.yaml").read_text() == "lr: 1"
    (repo / "settings").unlink()
    (repo / "settings").symlink_to("data")
    assert code_source(str(repo), None, tmp_path / "cache").snapshot().commit != snap.commit


def test_a_committed_link_out_of_the_repository_is_refused(tmp_path: Path):
    _secret(tmp_path)
    repo = write_repo(tmp_path / "repo", {"train.py": "print(1)"}, git=True)
    (repo / "creds").symlink_to("../driver-home/credentials")
    commit_all(repo, "a link out")
    with pytest.raises(CodeSourceError, match="creds is a link to ../driver-home/credentials, which is outside"):
        code_source(repo.as_uri(), None, tmp_path / "cache").snapshot()


def test_a_chain_of_links_that_leads_out_is_refused_on_the_node(tmp_path: Path):
    """``here -> .`` and ``creds -> here/../driver-home/credentials`` look inside read as text, but lead out."""
    _secret(tmp_path)
    repo = write_repo(tmp_path / "repo", {"train.py": "print(1)"}, git=True)
    (repo / "here").symlink_to(".")
    (repo / "creds").symlink_to("here/../driver-home/credentials")
    commit_all(repo, "a chain out")
    snap = code_source(repo.as_uri(), None, tmp_path / "cache").snapshot()
    with pytest.raises(CodeSourceError, match="creds, a link to here/../driver-home/credentials, which leads outside"):
        workspace.prepare("k", lambda: snap.archive, None, ".", root=tmp_path / "node")
    assert not (tmp_path / "node" / "workspaces" / "k").exists()
