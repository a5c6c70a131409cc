from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from tunelake.errors import SpecError
from tunelake.platform.spec import parse_spec
from tunelake.platform.spec.environment import MAX_ARG_STRLEN
from tunelake.platform.trial.process import shell_argv
from tunelake.platform.trial.protocol import env_name, render_command, trial_env


def test_placeholders_are_filled_and_shell_quoted():
    cmd = render_command("run --C {C} --k {kernel} --flag {on} awk '{{print}}' {unknown}",
                         {"C": 0.5, "kernel": "it's", "on": True})
    assert cmd == "run --C 0.5 --k 'it'\"'\"'s' --flag true awk '{print}' {unknown}"


def test_env_carries_params_three_ways_and_drops_server_secrets():
    env = trial_env({"PATH": "/bin", "TUNELAKE_API_TOKEN": "secret", "RAY_AUTH_TOKEN": "t"},
                    {"C": 0.25, "n-layers": 3}, "/t/params.json", {"trial_id": "t1", "model_dir": "/m"})
    assert json.loads(env["TUNELAKE_PARAMS"]) == {"C": 0.25, "n-layers": 3}
    assert env["TUNELAKE_PARAMS_FILE"] == "/t/params.json"
    assert env["TUNELAKE_PARAM_C"] == "0.25" and env[env_name("n-layers")] == "3"
    assert env["TUNELAKE_TRIAL_ID"] == "t1" and env["TUNELAKE_MODEL_DIR"] == "/m"
    assert "TUNELAKE_API_TOKEN" not in env and "RAY_AUTH_TOKEN" not in env


def _spec(search: dict, command: str = "true") -> dict:
    return {"code_github": ".", "command": command, "primary_result_key": "acc", "search": search}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MAX_ARG_STRLEN is Linux's")
def test_the_largest_value_that_validates_starts_a_trial_and_one_byte_more_does_not_validate(tmp_path):
    """The OS really refuses one string over MAX_ARG_STRLEN (what failed every trial with `Argument list too
    long`), validation's estimate keeps below it, and the trial's real environment and command line start."""
    with pytest.raises(OSError) as refused:
        subprocess.run(["true"], env={"X": "x" * (MAX_ARG_STRLEN - len("X="))}, check=True)
    assert refused.value.errno == errno.E2BIG
    subprocess.run(["true"], env={"X": "x" * (MAX_ARG_STRLEN - len("X=") - 1)}, check=True)

    largest = None
    for n in range(MAX_ARG_STRLEN - 64, MAX_ARG_STRLEN):
        try:
            parse_spec(_spec({"blob": ["x" * n]}, "true {blob}"))
        except SpecError as exc:
            assert "MAX_ARG_STRLEN" in str(exc)
            break
        largest = n
    assert largest is not None
    params = {"blob": "x" * largest}
    env = trial_env({"PATH": os.environ["PATH"]}, params, str(tmp_path / "params.json"),
                    {"trial_id": "t" * 40, "model_dir": str(tmp_path)})
    subprocess.run(shell_argv(render_command("true {blob}", params)), env=env, check=True)


def test_numpy_values_from_a_searcher_reach_the_trial_as_plain_numbers():
    import numpy as np

    from tunelake.platform.trial.protocol import plain

    params = plain({"x": np.float64(0.25), "n": np.int64(3), "k": "rbf", "f": 0.5})
    assert params == {"x": 0.25, "n": 3, "k": "rbf", "f": 0.5} and type(params["n"]) is int
    assert render_command("run {x} {n}", params) == "run 0.25 3"
    env = trial_env({}, params, "/p.json", {})
    assert env["TUNELAKE_PARAM_X"] == "0.25" and json.loads(env["TUNELAKE_PARAMS"])["n"] == 3
