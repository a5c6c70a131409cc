"""A git URL's password reaches git and the server, never a file: not the mirror's config, not a credential store."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_repo
from tests.platform.code.git_http import git_http_server
from tunelake.platform.code.source import GIT_PASSWORD_VAR, GIT_USER_VAR, code_source, url_credentials

PASSWORD = "pa55-Wd-9f8e7d"


def _everything_under(*roots: Path) -> bytes:
    return b"".join(p.read_bytes() for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A bare repository behind basic auth, and a home whose git config stores every credential it sees."""
    repo = write_repo(tmp_path / "work", {"train.py": "print('score=1')"}, git=True)
    repos = tmp_path / "served"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(repos / "proj.git")], check=True)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    with git_http_server(repos, "alice", PASSWORD) as (base, seen):
        yield base, seen, home


def test_the_password_in_the_url_is_used_but_never_written(served, tmp_path: Path):
    base, seen, home = served
    url = base.replace("http://", f"http://alice:{PASSWORD}@") + "/proj.git"
    cache = tmp_path / "cache"
    snap = code_source(url, None, cache).snapshot()
    assert snap.archive and PASSWORD not in snap.source
    assert "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode() in seen  # it did authenticate
    assert PASSWORD.encode() not in _everything_under(cache, home)
    (mirror,) = (cache / "git").glob("*.git")
    config = (mirror / "config").read_text()
    assert f"url = {base}/proj.git" in config, config
    code_source(url, None, cache).snapshot()  # an update of the mirror authenticates the same way
    assert PASSWORD.encode() not in _everything_under(cache, home)


def test_credentials_can_come_from_the_environment(served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    base, _, home = served
    clean, env = url_credentials(base.replace("http://", f"http://alice:{PASSWORD}@") + "/proj.git")
    assert clean == f"{base}/proj.git" and env == {GIT_USER_VAR: "alice", GIT_PASSWORD_VAR: PASSWORD}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert code_source(clean, None, tmp_path / "cache").snapshot().archive
    assert PASSWORD.encode() not in _everything_under(tmp_path / "cache", home)


def test_a_wrong_password_is_a_clear_error_without_the_password(served, tmp_path: Path):
    base, _, _ = served
    url = base.replace("http://", "http://alice:wrong-password-1@") + "/proj.git"
    with pytest.raises(Exception, match="git clone failed") as caught:
        code_source(url, None, tmp_path / "cache").snapshot()
    assert "wrong-password-1" not in str(caught.value)
