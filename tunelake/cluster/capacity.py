"""How many trials a set of Ray resources holds side by side."""

from __future__ import annotations

AUTOSCALING_VARIABLE = "TUNELAKE_AUTOSCALING"
"""Set to 1 where a driver's cluster may still add nodes (the configs ``tunelake cluster render`` writes set it on
the head): a trial no node holds yet is then waited for, not refused."""


def fits(resources: dict[str, float], cpus_per_trial: float = 1, gpus_per_trial: float = 0) -> int:
    """Trials of ``cpus_per_trial`` / ``gpus_per_trial`` that ``resources`` (Ray's resource dict) hold at once."""
    count = resources.get("CPU", 0.0) / cpus_per_trial
    if gpus_per_trial:
        count = min(count, resources.get("GPU", 0.0) / gpus_per_trial)
    return int(count)
