"""The start gate on a real Ray instance: it holds first trials until the others arrive, never forever."""

from __future__ import annotations

import time

import pytest
import ray

from tunelake.platform.tune.slots import StartGate, close_gate, start_gate


def test_the_gate_opens_when_all_arrive(ray_cluster):
    gate = StartGate.remote(3, wait_s=600)
    first, second = gate.arrive.remote(), gate.arrive.remote()
    ready, _ = ray.wait([first, second], timeout=1)
    assert ready == []  # both held: one actor still to come
    assert ray.get(gate.arrive.remote(), timeout=60) == 3
    assert sorted(ray.get([first, second], timeout=60)) == [1, 2]


def test_a_gate_whose_others_never_come_opens_after_its_wait(ray_cluster):
    gate = StartGate.remote(2, wait_s=0.5)
    assert ray.get(gate.arrive.remote(), timeout=60) == 1
    assert ray.get(gate.arrive.remote(), timeout=60) == 2  # open from then on


def test_no_gate_when_trials_run_one_at_a_time(ray_cluster):
    _wait_until_idle()  # an earlier test's trial actors may still be giving their CPUs back
    assert start_gate(slots=1, trials=10) is None
    assert start_gate(slots=4, trials=1) is None
    assert start_gate(slots=4, trials=10, cpus_per_trial=2) is None  # two free CPUs hold one such trial
    assert start_gate(slots=2, trials=10) is not None


def _wait_until_idle(timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while ray.available_resources().get("CPU", 0) < ray.cluster_resources().get("CPU", 0):
        if time.monotonic() > deadline:
            pytest.fail(f"the cluster's CPUs are still held after {timeout_s:g} s: {ray.available_resources()}")
        time.sleep(0.2)


def test_a_closed_gate_is_gone(ray_cluster):
    gate = StartGate.remote(2)
    close_gate(gate)
    with pytest.raises(ray.exceptions.RayActorError):
        ray.get(gate.arrive.remote(), timeout=60)
