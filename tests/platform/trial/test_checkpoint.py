"""The checkpoint folder of the trial protocol: snapshots, what Tune stores, what a restored trial finds."""

from __future__ import annotations

import json
from pathlib import Path

from tunelake.platform.trial.checkpoint import FILES, META, CheckpointFolder, stage_restore, store


def test_a_snapshot_is_taken_only_when_the_folder_changed(tmp_path: Path):
    folder = CheckpointFolder(tmp_path / "trial")
    folder.prepare()
    assert not folder.take({"step": 1})  # nothing written yet
    (folder.live / "model.bin").write_bytes(b"one")
    assert folder.take({"step": 2})
    assert not folder.take({"step": 3})  # unchanged since the last report
    (folder.live / "sub").mkdir()
    (folder.live / "sub" / "opt.bin").write_bytes(b"two")
    assert folder.take({"step": 4})
    assert (folder.snapshot / "sub" / "opt.bin").read_bytes() == b"two"
    (folder.live / "model.bin").write_bytes(b"later")  # the trial goes on writing: the snapshot stays
    assert (folder.snapshot / "model.bin").read_bytes() == b"one"


def test_what_tune_stores_is_the_snapshot_and_its_step(tmp_path: Path):
    folder = CheckpointFolder(tmp_path / "trial")
    folder.prepare()
    (folder.live / "w.txt").write_text("epoch 2")
    folder.take({"step": 2, "metrics": {"loss": 0.5}})
    (folder.live / "w.txt").write_text("epoch 3, not reported yet")
    folder.save(tmp_path / "tune", {"step": 3})
    assert (tmp_path / "tune" / FILES / "w.txt").read_text() == "epoch 2"
    assert json.loads((tmp_path / "tune" / META).read_text()) == {"step": 2, "metrics": {"loss": 0.5}}
    state = stage_restore(tmp_path / "tune", tmp_path / "restore")
    assert state["step"] == 2 and (tmp_path / "restore" / "w.txt").read_text() == "epoch 2"


def test_a_trial_without_a_checkpoint_stores_its_step_and_restores_empty(tmp_path: Path):
    folder = CheckpointFolder(tmp_path / "trial")
    folder.prepare()
    folder.save(tmp_path / "tune", {"step": 5})
    assert stage_restore(tmp_path / "tune", tmp_path / "restore") == {"step": 5}
    assert list((tmp_path / "restore").iterdir()) == []
    store(tmp_path / "bare", None, {})
    (tmp_path / "bare" / META).unlink()
    assert stage_restore(tmp_path / "bare", tmp_path / "restore2") == {}


def test_a_restored_checkpoint_is_saved_again_until_a_new_one_is_written(tmp_path: Path):
    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / "state").write_text("from the donor")
    folder = CheckpointFolder(tmp_path / "trial")
    folder.prepare()
    folder.adopt(restored, {"step": 7})
    folder.save(tmp_path / "tune", {"step": 0})
    assert (tmp_path / "tune" / FILES / "state").read_text() == "from the donor"
    assert json.loads((tmp_path / "tune" / META).read_text()) == {"step": 7}
