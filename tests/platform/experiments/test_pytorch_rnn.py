"""The PyTorch RNN example, shrunk to run on CPU: ASHA and PBT, half a (fake) GPU per trial, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tunelake
from tests.conftest import EXAMPLES
from tunelake.platform.cli.main import main
from tunelake.platform.spec import load_spec
from tunelake.store.lake import Lake
from tunelake.store.query import query

pytestmark = pytest.mark.slow
pytest.importorskip("torch")

RNN = EXAMPLES / "pytorch-rnn"


def small(name: str, optimizer: dict, search: dict) -> dict:
    """The example's spec, with fewer trials and epochs (its code, install script and resources unchanged)."""
    doc = json.loads((RNN / name).read_text())
    doc["code_github"] = str(RNN)
    doc["optimizer"].update(optimizer)
    doc["search"].update(search)
    return doc


def rows(lake: str, sql: str) -> list[dict]:
    return query(Lake(lake), sql).to_pylist()


def test_the_specs_validate():
    for name in ("experiment.json", "pbt.json"):
        spec = load_spec(RNN / name)
        assert spec.resources.gpus_per_trial == 0.5 and spec.optimizer.max_failures > 0
        assert {"batch_size", "lr"} <= set(spec.search)


def test_asha_on_cpu_with_half_a_gpu_per_trial_then_the_map(ray_cluster, lake_uri, tmp_path):
    doc = small("experiment.json", {"num_samples": 4, "max_t": 3, "grace_period": 1},
                {"epochs": 3, "hidden": {"type": "choice", "values": [16]},
                 "seq_len": {"type": "choice", "values": [10, 40]}, "batch_size": {"type": "choice",
                                                                                    "values": [64, 128]}})
    result = tunelake.run(doc, lake=lake_uri)
    trials = rows(lake_uri, "SELECT * FROM trials")
    assert len(trials) == 4 and {t["status"] for t in trials} <= {"completed", "stopped"}
    completed = [t for t in trials if t["status"] == "completed"]
    assert completed and all(0 <= t["value"] <= 1 for t in completed)
    for t in completed:
        assert Path(t["model_uri"], "model.pt").is_file()
        assert "device=cpu CUDA_VISIBLE_DEVICES=" in t["stderr_tail"]
        assert t["stderr_tail"].split("CUDA_VISIBLE_DEVICES=")[1].split()[0] in {"0", "1"}  # Ray's (fake) GPU
    epochs = rows(lake_uri, f"SELECT count(*) AS n FROM results WHERE trial_id = '{completed[0]['trial_id']}'")
    assert epochs[0]["n"] == 3  # a report every epoch
    assert list(Path(lake_uri, "_tune", result.experiment_id).rglob("checkpoint_*/files/state.pt"))
    png = tmp_path / "map.png"
    assert main(["plot", result.experiment_id, "--x", "batch_size", "--y", "seq_len", "-o", str(png),
                 "--lake", lake_uri]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_pbt_on_cpu_clones_checkpoints_between_trials(ray_cluster, lake_uri):
    doc = small("pbt.json", {"num_samples": 4, "perturbation_interval": 1},
                {"epochs": 4, "hidden": 16, "seq_len": 20})
    tunelake.run(doc, lake=lake_uri)
    trials = rows(lake_uri, "SELECT * FROM trials")
    assert len(trials) == 4 and all(t["status"] == "completed" for t in trials)
    exploits = rows(lake_uri, "SELECT * FROM trial_events WHERE kind = 'exploit'")
    assert exploits
    for e in exploits:
        before, after = json.loads(e["params_before"]), json.loads(e["params"])
        assert set(before) == set(after) and after["batch_size"] in (16, 32, 64, 128)
