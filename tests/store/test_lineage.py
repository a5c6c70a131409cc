"""PBT's lineage from the lake's trial_events: who was cloned from whom, and what each inherited."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tunelake.store import catalog
from tunelake.store.lake import Lake
from tunelake.store.schema import TRIAL_EVENTS

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def exploit(trial: str, source: str, step: int, minute: int, lr: float) -> dict:
    return {"experiment_id": "e", "trial_id": trial, "event_id": f"{minute:020d}", "kind": "exploit", "step": step,
            "source_trial_id": source, "source_step": step, "params": json.dumps({"lr": lr}),
            "happened_at": T0 + timedelta(minutes=minute)}


def test_lineage_walks_back_through_the_sources_earlier_exploits(tmp_path: Path):
    lake = Lake(str(tmp_path / "lake"))
    lake.append(TRIAL_EVENTS, [
        exploit("b", "a", 4, 1, 0.1),   # b <- a
        exploit("c", "b", 8, 2, 0.2),   # c <- b (which came from a)
        exploit("b", "c", 12, 3, 0.3),  # later, b <- c: happened after c was cloned, so not c's ancestry
        {"experiment_id": "e", "trial_id": "a", "event_id": "x", "kind": "restart", "step": 2, "happened_at": T0},
        {**exploit("z", "y", 4, 1, 0.9), "experiment_id": "other"},
    ])
    rows = catalog.lineage(lake, "e")
    chain = {}
    for r in rows:
        chain.setdefault(r["descendant"], []).append((r["depth"], r["trial_id"], r["source_trial_id"], r["step"]))
    assert chain["c"] == [(1, "c", "b", 8), (2, "b", "a", 4)]
    assert chain["b"] == [(1, "b", "c", 12), (1, "b", "a", 4), (2, "c", "b", 8), (3, "b", "a", 4)]
    assert "a" not in chain and "z" not in chain
