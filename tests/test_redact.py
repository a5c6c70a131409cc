"""Secrets are masked in text that tunelake stores or shows."""

from __future__ import annotations

import pytest

import tunelake.redact
from tunelake.redact import MASK, keep_secret, redact, secret_values


@pytest.fixture(autouse=True)
def _no_kept_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets kept by other tests of this process (a service's token) stay out of these."""
    monkeypatch.setattr(tunelake.redact, "_KEPT", set())


ENV = {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG", "TUNELAKE_API_TOKEN": "tok-0123456789",
       "GITHUB_TOKEN": "ghp_abcdef", "DB_PASSWORD": "hunter22", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE1",
       "HOME": "/home/someone", "FLAG_TOKEN": "yes", "MONKEY": "banana-split", "SSH_PRIVATE_KEY_FILE": "/k/id_rsa"}


def test_values_of_secret_names_are_masked_and_others_kept():
    text = "\n".join(f"{k}={v}" for k, v in ENV.items())
    masked = redact(text, ENV)
    for name in ("AWS_SECRET_ACCESS_KEY", "TUNELAKE_API_TOKEN", "GITHUB_TOKEN", "DB_PASSWORD", "AWS_ACCESS_KEY_ID"):
        assert f"{name}={MASK}" in masked and ENV[name] not in masked
    assert "HOME=/home/someone" in masked and "MONKEY=banana-split" in masked  # KEY inside a word is no secret
    assert "FLAG_TOKEN=yes" in masked  # too short to be a secret worth masking


def test_url_credentials_are_masked_anywhere_in_text():
    text = "cloning https://user:pa55@github.com/o/r.git failed; also ssh://git@host/x and s3://b/k"
    assert redact(text, {}) == "cloning https://***@github.com/o/r.git failed; also ssh://***@host/x and s3://b/k"


def test_longest_secret_first_and_empty_text():
    env = {"A_TOKEN": "abcdef", "B_TOKEN": "abcdefghij"}
    assert secret_values(env) == ["abcdefghij", "abcdef"]
    assert redact("x abcdefghij y", env) == f"x {MASK} y"
    assert redact(None, env) is None and redact("", env) == ""


def test_a_kept_secret_is_masked_whatever_the_environment_says():
    keep_secret("service-token-0123456789")
    keep_secret("short")  # too short to mask
    assert redact("got service-token-0123456789 and short", {}) == f"got {MASK} and short"
    assert "service-token-0123456789" in secret_values({"HOME": "/h"})
