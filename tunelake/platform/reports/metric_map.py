"""The map of an experiment's primary metric over two of its parameters (the
source document's Figure 4), as a PNG. Needs the ``plot`` extra (matplotlib)."""

from __future__ import annotations

import json
from pathlib import Path

from tunelake.errors import UserInputError
from tunelake.store import catalog
from tunelake.store.lake import Lake


def _axis(values: list) -> tuple[list[float], list[float] | None, list[str] | None, bool]:  # type: ignore[type-arg]
    """Positions, tick positions and labels (for categories), and whether the axis is logarithmic."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        floats = [float(v) for v in values]
        log = min(floats) > 0 and max(floats) / min(floats) > 100
        return floats, None, None, log
    levels = sorted({str(v) for v in values})
    return [float(levels.index(str(v))) for v in values], [float(i) for i in range(len(levels))], levels, False


def metric_map(lake: Lake, experiment_id: str, x: str, y: str, out: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserInputError("plotting needs matplotlib: pip install 'tunelake[plot]'") from None
    exp = catalog.experiment(lake, experiment_id)
    if exp is None:
        raise UserInputError(f"experiment {experiment_id!r} is not in the lake {lake.uri}")
    params = list(json.loads(exp["spec"] or "{}").get("search", {}))
    for name in (x, y):
        if name not in params:
            raise UserInputError(f"{name!r} is not a parameter of {experiment_id}; its parameters: {', '.join(params)}")
    rows = catalog.completed_points(lake, [experiment_id])
    points = [(json.loads(r["params"]), r["value"]) for r in rows]
    points = [(p[x], p[y], v) for p, v in points if x in p and y in p]
    if not points:
        raise UserInputError(f"experiment {experiment_id} has no completed trials to map yet")
    xs, xticks, xlabels, xlog = _axis([p[0] for p in points])
    ys, yticks, ylabels, ylog = _axis([p[1] for p in points])
    values = [p[2] for p in points]
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=120)
    cmap = "viridis" if exp["mode"] == "max" else "viridis_r"
    dots = ax.scatter(xs, ys, c=values, cmap=cmap, s=90, edgecolors="black", linewidths=0.4)
    fig.colorbar(dots, ax=ax, label=exp["primary_metric"])
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    if xticks is not None:
        ax.set_xticks(xticks, xlabels)
    if yticks is not None:
        ax.set_yticks(yticks, ylabels)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{exp['primary_metric']} over {x} and {y}\n{experiment_id} ({len(points)} completed trials)",
                 fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
