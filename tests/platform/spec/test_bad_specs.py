"""A corpus of malformed specs through the CLI: each is exit 2, one clear line naming the field, no
traceback, and nothing written to the lake."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tunelake.platform.cli.main import main

GOOD = {
    "code_github": ".", "command": "run --C {C} --k {kernel}", "primary_result_key": "accuracy",
    "search": {"C": {"type": "loguniform", "low": 0.001, "high": 1000},
               "kernel": {"type": "choice", "values": ["rbf", "linear"]}},
    "optimizer": {"algorithm": "tpe", "num_samples": 4},
}


def changed(**fields) -> str:
    doc = json.loads(json.dumps(GOOD))
    for dotted, value in fields.items():
        *parents, last = dotted.split("__")
        node = doc
        for p in parents:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return json.dumps(doc)


def search(**params) -> str:
    return changed(search=params, command="run " + " ".join(f"{{{k}}}" for k in params))


CASES = {
    # syntax and file-level garbage
    "truncated JSON": ('{"command": "x", ', "invalid JSON at line 1"),
    "trailing comma": ('{"command": "x",}', "invalid JSON"),
    "unclosed YAML list": ("command: [a, b\nsearch: {}", "invalid YAML"),
    "YAML alias bomb": ("a: &a [1, 1]\nb: &b [*a, *a]\nc: &c [*b, *b]\n", "aliases"),
    "YAML tab indentation": ("search:\n\tx: 1\n", "invalid YAML"),
    "top-level list": ("[1, 2, 3]", "must be a JSON/YAML object"),
    "top-level string": ('"just a string"', "must be a JSON/YAML object"),
    "empty file": ("", "spec: is empty"),
    "deeply nested JSON": ("[" * 10000 + "]" * 10000, "nested too deeply"),
    "binary garbage": (b"\x00\x9f\xff\xfe\x01" * 200, "UTF-8"),
    "huge file": (" " * 2_000_001, "larger than"),
    # missing fields
    "no command": (changed(command=None), "command: is required"),
    "no primary_result_key": (changed(primary_result_key=None), "primary_result_key: is required"),
    "no code_github": (changed(code_github=None), "code_github: is required"),
    "no search": (changed(search=None), "search: is required"),
    # wrong types
    "command is a number": (changed(command=5), "command:"),
    "num_samples is text": (changed(optimizer__num_samples="ten"), "optimizer.num_samples:"),
    "search is a list": (changed(search=[1, 2]), "search:"),
    "low is text": (search(n={"type": "int", "low": "a", "high": 3}), "search.n.low:"),
    "resources is text": (changed(resources="big"), "resources:"),
    "choice values empty": (search(k={"type": "choice", "values": []}), "search.k"),
    # impossible values
    "low above high": (search(C={"type": "uniform", "low": 5, "high": 1}), "search.C: low must be below high"),
    "loguniform from 0": (search(C={"type": "loguniform", "low": 0, "high": 1}), "search.C:"),
    "negative num_samples": (changed(optimizer__num_samples=-3), "optimizer.num_samples:"),
    "negative concurrency": (changed(optimizer__max_concurrent_trials=-1), "optimizer.max_concurrent_trials:"),
    "unknown mode": (changed(mode="maximize-ish"), "mode:"),
    # unknown names
    "unknown algorithm": (changed(optimizer__algorithm="hyperband9"), "optimizer.algorithm: 'hyperband9' is not known"),
    "unknown scheduler": (changed(optimizer__scheduler="sjf"), "optimizer.scheduler:"),
    "unknown type": (search(C={"type": "normal", "mu": 0}), "search.C: unknown type 'normal'"),
    "misspelt field": (changed(optimizer__algoritm="tpe"), "optimizer.algoritm: unknown field"),
    "unknown top-level field": (changed(comand="x"), "comand: unknown field"),
    # placeholders and regexes
    "placeholder without parameter": (changed(command="run {C} {gamma}"), "gamma"),
    "metric regex without group": (changed(metrics={"accuracy": "acc=[0-9.]+"}), "needs one capture group"),
    "metric regex broken": (changed(metrics={"accuracy": "acc=(["}), "does not compile"),
    "grid under TPE": (search(b={"type": "grid", "values": [1, 2]}), "cannot search grid parameters"),
    # valid in form, but no run could start or finish them
    "num_samples 1e30": (changed(optimizer__num_samples=10**30), "optimizer.num_samples:"),
    "a grid of more trials than a search runs": (
        changed(optimizer__num_samples=1_000_000, optimizer__algorithm="random",
                search={"C": {"type": "grid", "values": [1, 2]}}, command="run {C}"), "2000000 trials"),
    "time budget of 1e30 s": (changed(optimizer__time_budget_s=1e30), "optimizer.time_budget_s:"),
    "seed beyond 32 bits": (changed(optimizer__seed=2**40), "optimizer.seed:"),
    "int bound beyond 64 bits": (search(n={"type": "int", "low": 0, "high": 10**30}), "search.n: low and high"),
    "10,000 parameters": (changed(search={f"p{i}": i for i in range(10_000)}, command="run"),
                          "as TUNELAKE_PARAMS (all of them as JSON), more than one environment variable"),
    "a 140 KB value": (changed(search={"blob": "x" * 140_000}, command="run"),
                       "search.blob: a value takes up to 140021 bytes as TUNELAKE_PARAM_BLOB"),
    "a command line past the OS limit": (changed(search={"q": ["'" * 30_000, "b"]}, command="run {q}"),
                                         "command: filled in, it takes up to"),
    "parameter named trial_id": (search(trial_id=[1, 2]), "search.trial_id: {trial_id} is a placeholder"),
    "parameter named model_dir": (changed(search={"model_dir": "m"}, command="run"), "search.model_dir:"),
    "parameters a and A": (changed(search={"a": 1, "A": 2}, command="run"),
                           "parameters 'a' and 'A' would all be TUNELAKE_PARAM_A"),
    "code folder that does not exist": (changed(code_github="no-such-folder"),
                                        "code_github: 'no-such-folder' is neither a git URL nor an existing"),
    "dir that does not exist": (changed(dir="sub"), "dir: 'sub' does not exist in"),
    "install_script file that does not exist": (changed(install_script="setup.sh"),
                                                "install_script: 'setup.sh' is neither a file in"),
    "install_script run by bash that does not exist": (changed(install_script="bash scripts/setup.sh"),
                                                       "install_script: 'scripts/setup.sh' is neither"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_spec_is_exit_2_naming_the_problem(name: str, tmp_path: Path, capsys):
    text, needle = CASES[name]
    path = tmp_path / ("spec.yaml" if "YAML" in name else "spec.json")
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    for command in ("validate", "run"):
        args = [command, str(path)] + (["--lake", str(tmp_path / "lake")] if command == "run" else [])
        assert main(args) == 2, (name, command)
        err = capsys.readouterr().err
        assert needle in err, (name, err)
        assert "Traceback" not in err
    assert not (tmp_path / "lake").exists(), "a bad spec must write nothing to the lake"


def test_specs_near_the_limits_still_validate(tmp_path: Path, capsys):
    """A 100 KB value, 2,000 parameters, an install command on PATH, odd text: all fit, and stay valid."""
    (tmp_path / "setup.sh").write_text("true\n")
    for doc in (changed(search={"blob": "x" * 100_000}, command="run"),
                changed(search={f"p{i}": i for i in range(2_000)}, command="run"),
                changed(install_script="setup.sh"), changed(install_script="bash ./setup.sh"),
                changed(install_script="pip install -r requirements.txt"), changed(install_script="true"),
                changed(optimizer__num_samples=1_000_000, optimizer__time_budget_s=86400 * 365),
                changed(search={"s": ["\ud800"]}, command="run {s}")):  # JSON may hold a lone surrogate
        (tmp_path / "spec.json").write_text(doc)
        assert main(["validate", str(tmp_path / "spec.json")]) == 0, capsys.readouterr().err


def test_a_small_arg_max_is_taken_into_account(tmp_path: Path):
    """Under a 1 MiB stack Linux allows 256 KiB of command line and environment, not 2 MiB: 200 parameters
    of 600 bytes fit one variable each and TUNELAKE_PARAMS, but not half of that."""
    path = tmp_path / "spec.json"
    path.write_text(changed(search={f"p{i}": "v" * 600 for i in range(200)}, command="run"))
    args = [sys.executable, "-m", "tunelake", "validate", str(path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0

    def small_stack() -> None:
        resource.setrlimit(resource.RLIMIT_STACK, (1 << 20, resource.getrlimit(resource.RLIMIT_STACK)[1]))

    done = subprocess.run(args, env=env, capture_output=True, text=True, preexec_fn=small_stack)
    assert done.returncode == 2 and "more than half the OS limit for both (262144 bytes, ARG_MAX" in done.stderr


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30
