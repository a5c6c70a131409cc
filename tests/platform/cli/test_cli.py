from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tunelake.platform.cli.main import main


def tunelake(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tunelake", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_validate_examples(capsys):
    assert main(["validate", str(EXAMPLES / "svm" / "experiment.json")]) == 0
    assert "valid (2 parameters, tpe / asha, 12 trials, max accuracy)" in capsys.readouterr().out
    assert main(["validate", str(EXAMPLES / "awk" / "experiment.yaml")]) == 0


def test_bad_spec_exits_2_with_field_paths_and_no_traceback(tmp_path: Path):
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({"code_github": ".", "command": "run {C} {gamma}", "primary_result_key": "acc",
                                "optimizer": {"algorithm": "nope"},
                                "search": {"C": {"type": "uniform", "low": 5, "high": 1}}}))
    for command in ("validate", "run"):
        done = tunelake(command, str(spec), *(["--lake", str(tmp_path / "lake")] if command == "run" else []))
        assert done.returncode == 2, done.stderr
        assert "optimizer.algorithm: 'nope' is not known" in done.stderr
        assert "search.C: low must be below high (5 >= 1)" in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "lake").exists(), "a bad spec must write nothing to the lake"


def test_sql_formats_and_errors(tmp_path: Path, capsys):
    from tunelake.store.lake import Lake

    lake = str(tmp_path / "lake")
    Lake(lake).append("trials", [{"experiment_id": "e", "trial_id": "t[1]", "status": "failed", "value": None}])
    assert main(["sql", "SELECT trial_id, status FROM trials", "--lake", lake, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"trial_id": "t[1]", "status": "failed"}]
    assert main(["sql", "SELECT trial_id, status FROM trials", "--lake", lake, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ['"trial_id","status"', '"t[1]","failed"']
    nested = "SELECT list(trial_id) AS ids, {'n': count(*)} AS s, NULL::INT[] AS none FROM trials"
    assert main(["sql", nested, "--lake", lake, "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ['"ids","s","none"', '"[""t[1]""]","{""n"": 1}",']
    assert main(["sql", "SELECT trial_id FROM trials", "--lake", lake]) == 0
    out = capsys.readouterr().out
    assert "t[1]" in out and "(1 row)" in out
    assert main(["sql", "SELECT nope FROM trials", "--lake", lake]) == 2
    assert "nope" in capsys.readouterr().err


def test_lake_defaults_to_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    from tunelake.store.lake import Lake

    monkeypatch.chdir(tmp_path)
    assert main(["sql", "SELECT count(*) AS n FROM experiments", "--format", "json"]) == 2
    assert f"no lake at {tmp_path / 'tunelake-lake'}" in capsys.readouterr().err
    Lake(None).append("experiments", [{"experiment_id": "e"}])
    assert main(["sql", "SELECT count(*) AS n FROM experiments", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 1}]
    monkeypatch.setenv("TUNELAKE_LAKE", str(tmp_path / "elsewhere"))
    assert main(["sql", "SELECT 1 AS one", "--format", "json"]) == 2
    assert f"no lake at {tmp_path / 'elsewhere'}" in capsys.readouterr().err


def test_plot_writes_the_metric_map(tmp_path: Path, capsys):
    from tunelake.store.lake import Lake

    lake = str(tmp_path / "lake")
    spec = {"search": {"lr": {"type": "loguniform", "low": 1e-5, "high": 1e-1}, "kernel": ["a", "b"]}}
    Lake(lake).append("experiments", [{"experiment_id": "e", "primary_metric": "acc", "mode": "max",
                                       "spec": json.dumps(spec)}])
    Lake(lake).append("trials", [{"experiment_id": "e", "trial_id": f"t{i}", "status": "completed", "value": i / 10,
                                  "params": json.dumps({"lr": 10 ** -(i % 5 + 1), "kernel": "ab"[i % 2]})}
                                 for i in range(8)])
    out = tmp_path / "map.png"
    assert main(["plot", "e", "--x", "lr", "--y", "kernel", "-o", str(out), "--lake", lake]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    assert main(["plot", "e", "--x", "lr", "--y", "nope", "-o", str(out), "--lake", lake]) == 2
    assert "its parameters: lr, kernel" in capsys.readouterr().err


def test_automl_flags_become_the_spec():
    from tunelake.platform.cli.automl import automl_spec
    from tunelake.platform.cli.main import build_parser

    args = build_parser().parse_args(["automl", "d.csv", "--target", "y", "--proposals", "3", "--trials", "7"])
    spec = automl_spec(args)
    assert (spec.k, spec.trials, spec.warm_start) == (3, 7, True)
    assert automl_spec(build_parser().parse_args(["automl", "d.csv", "--target", "y"])).k == 10
    assert main(["automl", "d.csv", "--target", "y", "--proposals", "0"]) == 2


@pytest.mark.parametrize("argv", [["recommend", "d.csv", "--target", "y", "-k", "0"],
                                  ["metalearn", "evaluate", "corpus", "-k", "0"],
                                  ["metalearn", "evaluate", "corpus", "-k", "two"]])
def test_a_count_below_one_is_refused(argv, capsys):
    """-k 0 once meant "the default" for evaluate; it is an error, as --proposals 0 is."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "-k" in capsys.readouterr().err
