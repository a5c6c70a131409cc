from __future__ import annotations

import json

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
