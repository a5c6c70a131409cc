"""What a trial cost: its resources times its time, and an on-demand price estimate for its share of the node.

A trial that reserves part of a node pays for that part: its share is the larger of its share of the
node's vCPUs and of its GPUs (the dominant resource, as Ray's scheduler sees the node), so two trials
with ``gpus_per_trial: 0.5`` on a one-GPU node each pay half of it. The prices are
``prices.json``: versioned data with its source and date, one region's on-demand list prices. Spot,
savings plans and other regions are cheaper or dearer; the estimate says which table it used.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunelake.cluster.aws import INSTANCE_TYPES

_PRICES = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class PriceTable:
    name: str
    version: str
    region: str
    currency: str
    source: str
    prices: dict[str, float]

    @property
    def label(self) -> str:
        """How a trial row names the table its estimate came from."""
        return f"{self.name}@{self.version}"


@functools.cache
def price_table() -> PriceTable:
    data = json.loads(_PRICES.read_text())
    return PriceTable(name=data["name"], version=data["version"], region=data["region"],
                      currency=data["currency"], source=data["source"], prices=dict(data["prices"]))


@dataclass(frozen=True)
class TrialCost:
    cpu_hours: float
    gpu_hours: float
    cost_usd: float | None  # None: the node's instance type is not one the price table knows
    price_table: str | None

    def columns(self) -> dict[str, Any]:
        """The trial row's cost columns."""
        return {"cpu_hours": self.cpu_hours, "gpu_hours": self.gpu_hours, "cost_usd": self.cost_usd,
                "price_table": self.price_table}


def trial_cost(seconds: float, cpus: float, gpus: float, instance_type: str | None) -> TrialCost:
    """The cost of a trial that held ``cpus`` and ``gpus`` of a node of ``instance_type`` for ``seconds``."""
    hours = max(seconds, 0.0) / 3600
    table = price_table()
    node = INSTANCE_TYPES.get(instance_type or "")
    price = table.prices.get(instance_type or "")
    if node is None or price is None:
        return TrialCost(cpus * hours, gpus * hours, None, None)
    share = cpus / node.vcpus
    if node.gpus:
        share = max(share, gpus / node.gpus)
    return TrialCost(cpus * hours, gpus * hours, min(share, 1.0) * price * hours, table.label)
