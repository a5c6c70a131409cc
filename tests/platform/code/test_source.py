from __future__ import annotations

import io
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from tests.conftest import commit_all, write_repo
from tunelake.errors import CodeSourceError, UserInputError
from tunelake.platform.code import workspace
from tunelake.platform.code.source import GitSource, PathSource, code_source, redact_url


def names(archive: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return set(tar.getnames())


def test_git_url_is_pinned_to_the_ref(tmp_path: Path):
    repo = write_repo(tmp_path / "repo", {"a.txt": "one"}, git=True)

    first = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    (repo / "b.txt").write_text("two")
    second = commit_all(repo, "second")
    cache = tmp_path / "cache"
    head = code_source(repo.as_uri(), None, cache).snapshot()
    pinned = code_source(repo.as_uri(), first, cache).snapshot()
    assert head.commit == second and names(head.archive) >= {"a.txt", "b.txt"}
    assert pinned.commit == first and "b.txt" not in names(pinned.archive)
    with pytest.raises(CodeSourceError, match="no-such-branch"):
        code_source(repo.as_uri(), "no-such-branch", cache).snapshot()


def test_local_path_snapshot_skips_vcs_and_changes_key_with_content(tmp_path: Path):
    repo = write_repo(tmp_path / "repo", {"a.py": "print(1)", ".git/config": "x", "sub/b.sh": "echo"})
    source = code_source(str(repo), None, tmp_path / "cache")
    assert isinstance(source, PathSource)
    one = source.snapshot()
    assert names(one.archive) == {"a.py", "sub", "sub/b.sh"}
    assert source.snapshot().commit == one.commit
    (repo / "a.py").write_text("print(2)")
    assert source.snapshot().commit != one.commit


def test_local_git_repo_with_a_ref_uses_git(tmp_path: Path):
    repo = write_repo(tmp_path / "repo", {"a.txt": "x"}, git=True)
    assert isinstance(code_source(str(repo), "main", tmp_path / "c"), GitSource)


def test_bad_locations_are_user_errors(tmp_path: Path):
    with pytest.raises(UserInputError, match="neither a git URL nor an existing directory"):
        code_source("no/such/dir", None, tmp_path)
    with pytest.raises(UserInputError, match="not a git repository"):
        code_source(str(tmp_path), "v1", tmp_path)


def test_credentials_never_leave_the_url():
    assert redact_url("https://user:tok3n@github.com/org/repo.git") == "https://***@github.com/org/repo.git"
    assert redact_url("https://github.com/org/repo") == "https://github.com/org/repo"


def test_install_runs_once_per_key_even_when_trials_race(tmp_path: Path):
    count = tmp_path / "count"
    repo = write_repo(tmp_path / "repo", {"install.sh": f"echo x >> {count}\nsleep 0.3\n"})
    snap = PathSource(repo).snapshot()
    key = snap.workspace_key("install.sh")
    trees = []
    threads = [threading.Thread(target=lambda: trees.append(
        workspace.prepare(key, lambda: snap.archive, "install.sh", ".", root=tmp_path / "ws"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count.read_text() == "x\n"
    assert len(set(trees)) == 1 and (trees[0] / "install.sh").exists()


def test_install_failure_is_one_clear_error_with_the_log_tail(tmp_path: Path):
    repo = write_repo(tmp_path / "repo", {"install.sh": "echo compiling; echo 'missing header foo.h' >&2; exit 4\n"})
    snap = PathSource(repo).snapshot()
    with pytest.raises(CodeSourceError) as info:
        workspace.prepare(snap.workspace_key("install.sh"), lambda: snap.archive, "install.sh", ".",
                          root=tmp_path / "ws")
    assert "exit code 4" in str(info.value) and "missing header foo.h" in str(info.value)


def test_missing_dir_is_named(tmp_path: Path):
    snap = PathSource(write_repo(tmp_path / "repo", {"a": "1"})).snapshot()
    with pytest.raises(CodeSourceError, match="dir: 'nope' does not exist"):
        workspace.prepare("k", lambda: snap.archive, None, "nope", root=tmp_path / "ws")


def test_working_copies_are_private(tmp_path: Path):
    tree = write_repo(tmp_path / "tree", {"data.txt": "original"})
    workspace.working_copy(tree, tmp_path / "t1")
    (tmp_path / "t1" / "data.txt").write_text("changed by a trial")
    assert (tree / "data.txt").read_text() == "original"
