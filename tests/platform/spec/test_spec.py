from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tunelake.errors import SpecError
from tunelake.platform.spec import Algorithm, Constant, Grid, Int, load_spec, parse_spec
from tunelake.platform.spec import load as spec_load

BASE = {
    "code_github": "https://github.com/example/optimizer_example",
    "command": "python model_script.py --C {C} --kernel {kernel}",
    "primary_result_key": "accuracy",
    "search": {
        "C": {"type": "loguniform", "low": 0.001, "high": 1000},
        "kernel": {"type": "choice", "values": ["rbf", "linear"]},
    },
}

# The source document's example, with a real repository and the local backend.
SOURCE_DOCUMENT_EXAMPLE = {
    "code_github": "https://github.com/scikit-learn/scikit-learn",
    "command": "python model_script.py",
    "dir": "path/in/repo/to/script",
    "install_script": "install.sh",
    "primary_result_key": "accuracy",
    "backend": "local",
    "resources": {"instance_count": 10, "instance_type": "p3.8xlarge"},
    "optimizer": {"algorithm": "tpe", "num_samples": 20},
    "search": {"kernel": {"type": "choice", "values": ["rbf", "linear"]},
               "C": {"type": "loguniform", "low": 0.01, "high": 100}},
    "model_storage": {"type": "s3", "bucket": "my-bucket", "model_dir": "saved_model", "clean_model_dir_flag": True},
}


def problems(doc: dict) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(doc)
    return info.value.problems


def with_(**changes):
    doc = json.loads(json.dumps(BASE))
    doc.update(changes)
    return doc


def test_source_document_example_validates_unchanged():
    spec = parse_spec(SOURCE_DOCUMENT_EXAMPLE)
    assert spec.resources.instance_type == "p3.8xlarge"
    assert spec.model_storage.bucket == "my-bucket" and spec.model_storage.clean_model_dir_flag
    assert spec.optimizer.algorithm is Algorithm.TPE


def test_defaults_fill_everything_tunelake_adds():
    spec = parse_spec(BASE)
    assert spec.mode.value == "max" and spec.backend.value == "local" and spec.dir == "."
    assert spec.optimizer.samples() == 10 and spec.model_storage.type == "local"


@pytest.mark.parametrize("field", ["command", "primary_result_key", "code_github", "search"])
def test_missing_required_field_is_named(field):
    doc = with_()
    del doc[field]
    assert problems(doc) == [f"{field}: is required"]


def test_unknown_algorithm_lists_known_ones():
    (line,) = problems(with_(optimizer={"algorithm": "simulated-annealing"}))
    assert line.startswith("optimizer.algorithm:") and "'random', 'grid', 'tpe', 'nsga2', 'cmaes'" in line
    assert "or 'bohb'" in line


def test_unknown_scheduler_lists_known_ones():
    (line,) = problems(with_(optimizer={"scheduler": "pbt3"}))
    assert line.startswith("optimizer.scheduler:") and "'fifo', 'asha', 'median', 'hyperband'" in line
    assert "or 'pb2'" in line


def test_low_not_below_high_shows_both_values():
    (line,) = problems(with_(search={"C": {"type": "uniform", "low": 1000, "high": 100}}, command="x"))
    assert line == "search.C: low must be below high (1000 >= 100); swap them or widen the range"


def test_loguniform_needs_positive_low():
    (line,) = problems(with_(search={"C": {"type": "loguniform", "low": 0, "high": 1}}, command="x"))
    assert line.startswith("search.C: loguniform needs low > 0")


def test_empty_search():
    (line,) = problems(with_(search={}, command="x"))
    assert line.startswith("search: search is empty")


def test_placeholder_without_parameter_names_it_and_the_fix():
    (line,) = problems(with_(command="python m.py --C {C} --kernel {kernel} --gamma {gamma}"))
    assert line.startswith("command: uses {gamma}") and "{{gamma}}" in line


def test_literal_braces_and_builtin_placeholders_are_allowed():
    spec = parse_spec(with_(command="awk '{{print}}' {C} {kernel} {trial_id} {model_dir} awk '{print $1}'"))
    assert "{{print}}" in spec.command


def test_unknown_type_lists_types():
    (line,) = problems(with_(search={"C": {"type": "normal", "mu": 0}}, command="x"))
    assert line.startswith("search.C: unknown type 'normal'; use one of: uniform, loguniform, int")


@pytest.mark.parametrize(
    "doc,path",
    [
        (with_(code_github=5), "code_github"),
        (with_(resources="big"), "resources"),
        (with_(search={"C": {"type": "int", "low": "a", "high": 3}}, command="x"), "search.C.low"),
        (with_(optimizer={"num_samples": "ten"}), "optimizer.num_samples"),
        (with_(search=[1, 2]), "search"),
    ],
)
def test_wrong_json_types_name_the_field(doc, path):
    lines = problems(doc)
    assert any(line.startswith(f"{path}:") for line in lines), lines


def test_unknown_field_is_rejected_with_known_fields():
    (line,) = problems(with_(optimizer={"algoritm": "tpe"}))
    assert line.startswith("optimizer.algoritm: unknown field; known fields here: algorithm,")


def test_every_problem_is_reported_at_once():
    doc = with_(optimizer={"algorithm": "x", "scheduler": "y"})
    del doc["command"]
    assert len(problems(doc)) == 3


def test_grid_needs_a_non_bayesian_algorithm():
    (line,) = problems(with_(search={"b": {"type": "grid", "values": [1, 2]}}, command="x"))
    assert line.startswith("optimizer.algorithm: 'tpe' cannot search grid parameters (b)")


def test_shorthand_list_is_choice_and_scalar_is_constant():
    spec = parse_spec(with_(search={"k": ["a", "b"], "epochs": 5}, command="x"))
    assert spec.search["k"].type == "choice"
    assert isinstance(spec.search["epochs"], Constant) and spec.search["epochs"].value == 5


def test_int_bounds_are_inclusive_ints():
    spec = parse_spec(with_(search={"n": {"type": "int", "low": 1, "high": 4}}, command="x",
                            optimizer={"algorithm": "grid"}))
    assert isinstance(spec.search["n"], Int) and spec.search["n"].high == 4


def test_optimizer_type_alias_and_bayesian_alias():
    spec = parse_spec(with_(optimizer={"type": "bayesian"}))
    assert spec.optimizer.algorithm is Algorithm.TPE


def test_metric_regex_must_compile_and_capture():
    (line,) = problems(with_(metrics={"acc": "acc=[0-9.]+"}))
    assert "needs one capture group" in line
    (line,) = problems(with_(metrics={"acc": "acc=(["}))
    assert "does not compile" in line


def test_yaml_and_json_files(tmp_path: Path):
    (tmp_path / "a.json").write_text(json.dumps(BASE))
    (tmp_path / "b.yaml").write_text(
        "code_github: .\ncommand: run {x}\nprimary_result_key: loss\nmode: min\n"
        "search:\n  x: {type: uniform, low: 0, high: 1}\n"
    )
    assert load_spec(tmp_path / "a.json").command == BASE["command"]
    assert load_spec(tmp_path / "b.yaml").mode.value == "min"


@pytest.mark.parametrize(
    "text,needle",
    [
        ('{"command": ', "invalid JSON at line 1"),
        ("a: [1, 2\nb: 3", "invalid YAML"),
        ("a: &x [1]\nb: *x\n", "aliases"),
        ("- 1\n- 2\n", "must be a JSON/YAML object"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ],
)
def test_broken_files_give_one_clear_line(tmp_path: Path, text: str, needle: str):
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert needle in str(info.value)


def test_binary_and_huge_files(tmp_path: Path):
    (tmp_path / "bin").write_bytes(b"\x00\xff\xfe" * 100)
    (tmp_path / "big").write_text(" " * 2_000_001)
    for name, needle in (("bin", "UTF-8"), ("big", "larger than")):
        with pytest.raises(SpecError) as info:
            load_spec(tmp_path / name)
        assert needle in str(info.value)


def test_missing_file():
    with pytest.raises(SpecError) as info:
        load_spec("/nonexistent/spec.json")
    assert "not found" in str(info.value)


def test_grid_type_parses():
    spec = parse_spec(with_(search={"b": {"type": "grid", "values": [32, 64]}}, command="x",
                            optimizer={"algorithm": "grid"}))
    assert isinstance(spec.search["b"], Grid) and spec.optimizer.samples() == 1


@pytest.mark.parametrize("loader", ["_LibyamlLoader", "_PythonLoader"])
def test_yaml_reads_alike_with_libyaml_and_without(monkeypatch: pytest.MonkeyPatch, loader: str):
    """libyaml parses (5x faster); PyYAML's composer still refuses aliases and its constructor makes the values."""
    if not hasattr(spec_load, loader):
        pytest.skip("this PyYAML was built without libyaml")
    monkeypatch.setattr(spec_load, "_SafeNoAliasLoader", getattr(spec_load, loader))
    text = ("code_github: .\ncommand: run {x}\nprimary_result_key: loss\nmode: min\non: yes\nwhen: 2024-01-02\n"
            "search:\n  x: {type: uniform, low: 1e-3, high: 1}\n  k: [a, 'b', 3, null, .inf]\n")
    assert spec_load.load_document(text) == {
        "code_github": ".", "command": "run {x}", "primary_result_key": "loss", "mode": "min", True: True,
        "when": date(2024, 1, 2), "search": {"x": {"type": "uniform", "low": "1e-3", "high": 1},
                                             "k": ["a", "b", 3, None, float("inf")]}}
    for bad, needle in [("a: &x [1]\nb: *x\n", "YAML aliases (*name) are not allowed in a spec"),
                        ("a: [1, 2\nb: 3", "invalid YAML at line 2"), ("a:\n\t- 1\n", "invalid YAML at line 2"),
                        ("a: " + "[" * 5000 + "]" * 5000, "nested too deeply"), ("!!python/object:os.system x", "")]:
        with pytest.raises(SpecError) as info:
            spec_load.load_document(bad)
        assert needle in str(info.value), bad


def test_bohb_needs_its_searcher_and_its_scheduler_together():
    (line,) = problems(with_(optimizer={"algorithm": "bohb"}))
    assert line.startswith("optimizer:") and '"scheduler": "bohb"' in line
    (line,) = problems(with_(optimizer={"algorithm": "tpe", "scheduler": "bohb"}))
    assert '"algorithm": "bohb"' in line
    assert parse_spec(with_(optimizer={"algorithm": "bohb", "scheduler": "bohb"})).optimizer.algorithm is Algorithm.BOHB


def test_pbt_mutates_searched_params_and_draws_its_population_at_random():
    spec = parse_spec(with_(optimizer={"algorithm": "random", "scheduler": "pbt", "max_failures": 2},
                            command="python train.py --lr {lr}",
                            search={"lr": {"type": "loguniform", "low": 0.001, "high": 0.1}, "layers": 2}))
    assert spec.mutable() == ["lr"] and spec.optimizer.max_failures == 2
    (line,) = problems(with_(optimizer={"algorithm": "tpe", "scheduler": "pbt"}))
    assert line.startswith("optimizer.scheduler: 'pbt'") and "'random'" in line
    (line,) = problems(with_(optimizer={"algorithm": "random", "scheduler": "pbt", "mutate": ["C", "lr"]}))
    assert line == "optimizer.mutate: lr not in search"
    (line,) = problems(with_(optimizer={"algorithm": "random", "mutate": ["C"]}))
    assert "only schedulers 'pbt' and 'pb2'" in line


def test_pb2_needs_a_numeric_param_to_change():
    (line,) = problems(with_(optimizer={"algorithm": "random", "scheduler": "pb2", "mutate": ["kernel"]}))
    assert line.startswith("optimizer.mutate: 'pb2' changes numeric parameters only")


@pytest.mark.parametrize("algorithm", ["cmaes", "gp", "qmc", "hyperopt", "hebo", "ax", "bayesopt"])
def test_every_model_based_searcher_refuses_grid_params(algorithm):
    (line,) = problems(with_(optimizer={"algorithm": algorithm},
                             search={"C": {"type": "grid", "values": [1, 2]}, "kernel": "rbf"}))
    assert line.startswith(f"optimizer.algorithm: {algorithm!r} cannot search grid parameters (C)")


def test_several_metrics_take_a_mode_each_and_a_searcher_that_handles_them():
    doc = with_(primary_result_key=["accuracy", "latency_ms"], mode=["max", "min"])
    spec = parse_spec(doc)
    assert [(m, mode.value) for m, mode in spec.objectives()] == [("accuracy", "max"), ("latency_ms", "min")]
    assert spec.primary_metric == "accuracy" and spec.primary_mode.value == "max"
    assert parse_spec(with_(primary_result_key=["a", "b"], mode="min")).objectives()[1][1].value == "min"
    (line,) = problems(with_(primary_result_key=["a", "b"], mode=["max"]))
    assert line.startswith("mode: 1 modes for 2 metrics")
    (line,) = problems(with_(primary_result_key=["a", "b"], optimizer={"algorithm": "hyperopt"}))
    assert "optimizes one metric" in line and "'nsga2'" in line
    (line,) = problems(with_(primary_result_key=["a", "b"], optimizer={"algorithm": "tpe", "scheduler": "asha"}))
    assert line.startswith("optimizer.scheduler: 'asha'")
    (line,) = problems(with_(primary_result_key=["a", "a"]))
    assert "named twice" in line
