"""``tunelake plot``'s figures, drawn with matplotlib from the same data the API serves (:mod:`.history`,
:mod:`.importance`): the map of the metric over two parameters (the source document's Figure 4), the optimization
history and the parameter importance. A ``.png`` or ``.svg`` path picks the format; ``.html`` wraps an SVG in a page.
Needs the ``plot`` extra (matplotlib).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunelake.errors import UserInputError
from tunelake.platform.reports import history as report
from tunelake.platform.reports.importance import Evaluator, param_importance
from tunelake.store.lake import Lake

MARKERS = {"completed": "o", "stopped": "D", "failed": "^", "running": "s"}
COLOURS = {"completed": "#2563eb", "stopped": "#9ca3af", "failed": "#dc2626", "running": "#d97706"}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserInputError("plotting needs matplotlib: pip install 'tunelake[plot]'") from None
    return plt


def _axis(ax: Any, which: str, axis: dict[str, Any], values: list[Any]) -> list[Any]:
    """Set one matplotlib axis as the API's axis says; the values as positions on it."""
    set_scale, set_ticks, set_label = (ax.set_xscale, ax.set_xticks, ax.set_xlabel) if which == "x" else \
        (ax.set_yscale, ax.set_yticks, ax.set_ylabel)
    set_label(axis["name"] + (" (log)" if axis["scale"] == "log" else ""))
    if axis["scale"] != "category":
        if axis["scale"] == "log":
            set_scale("log")
        return values
    levels = list(dict.fromkeys([*axis["categories"], *values]))  # as the API's grid orders them
    set_ticks(range(len(levels)), levels)
    return [levels.index(v) for v in values]


def _save(fig: Any, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    if out.suffix.lower() == ".html":
        import io

        svg = io.StringIO()
        fig.savefig(svg, format="svg")
        out.write_text(f"<!doctype html><meta charset='utf-8'><title>{out.stem}</title>\n{svg.getvalue()}\n")
    else:
        fig.savefig(out)
    _pyplot().close(fig)
    return out


def metric_map(lake: Lake, experiment_id: str, x: str, y: str, out: Path) -> Path:
    data = report.metric_map(lake, experiment_id, x, y, bins=10)
    if not data["data"]:
        raise UserInputError(f"experiment {experiment_id} has no trials with a value to map yet")
    fig, ax = _pyplot().subplots(figsize=(7, 5.5), dpi=120)
    xs = _axis(ax, "x", data["x"], [p["x"] for p in data["data"]])
    ys = _axis(ax, "y", data["y"], [p["y"] for p in data["data"]])
    values = [p["value"] for p in data["data"]]
    cmap = "viridis" if data["mode"] == "max" else "viridis_r"
    _cells(ax, data["grid"], cmap, min(values), max(values))
    dots = None
    for status in ("completed", "stopped"):
        keep = [i for i, p in enumerate(data["data"]) if p["status"] == status]
        if keep:
            dots = ax.scatter([xs[i] for i in keep], [ys[i] for i in keep], c=[values[i] for i in keep], cmap=cmap,
                              vmin=min(values), vmax=max(values), s=90, marker=MARKERS[status], label=status,
                              edgecolors="black", linewidths=0.4, zorder=3)
    fig.colorbar(dots, ax=ax, label=data["metric"])
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"{data['metric']} over {x} and {y}\n{experiment_id} ({len(values)} trials with a value)", fontsize=10)
    return _save(fig, out)


def _cells(ax: Any, grid: dict[str, Any], cmap: str, low: float, high: float) -> None:
    """The heat map under the points: a rectangle per cell with a trial, coloured by its best value."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    colour, norm = colormaps[cmap], Normalize(low, high)

    def span(bounds: list[Any], i: int) -> tuple[float, float]:  # a category's cell is its tick, +-0.5
        return (i - 0.5, i + 0.5) if isinstance(bounds[0], str) else (bounds[i], bounds[i + 1])

    for i, j, best, _ in grid["cells"]:
        (x0, x1), (y0, y1) = span(grid["x"], i), span(grid["y"], j)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, color=colour(norm(best)), alpha=0.45, linewidth=0,
                               zorder=1))


def history(lake: Lake, experiment_id: str, out: Path) -> Path:
    data = report.history(lake, experiment_id)
    if not data["data"]:
        raise UserInputError(f"experiment {experiment_id} has no trials yet")
    fig, ax = _pyplot().subplots(figsize=(7.5, 4.5), dpi=120)
    valued = [p["value"] for p in data["data"] if p["value"] is not None]
    floor = min(valued) if valued else 0.0
    for status in ("completed", "stopped", "failed"):
        points = [p for p in data["data"] if p["status"] == status]
        if points:
            ax.scatter([p["number"] for p in points], [floor if p["value"] is None else p["value"] for p in points],
                       marker=MARKERS[status], color=COLOURS[status], s=30, label=status, zorder=3)
    best = [p for p in data["data"] if p["best"] is not None]
    if best:
        ax.step([p["number"] for p in best], [p["best"] for p in best], where="post", color="#111827",
                label="best so far")
    ax.set_xlabel("trial (in start order)")
    ax.set_ylabel(f"{data['metric']} ({data['mode']})")
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"optimization history of {experiment_id}", fontsize=10)
    return _save(fig, out)


def importance(lake: Lake, experiment_id: str, out: Path, evaluator: Evaluator = Evaluator.FANOVA) -> Path:
    data = param_importance(lake, experiment_id, evaluator)
    if not data["data"]:
        raise UserInputError(data["note"])
    rows = list(reversed(data["data"]))
    fig, ax = _pyplot().subplots(figsize=(6.5, 1.2 + 0.45 * len(rows)), dpi=120)
    ax.barh([r["param"] for r in rows], [r["importance"] for r in rows], color="#2563eb")
    for i, r in enumerate(rows):
        ax.text(r["importance"], i, f" {r['importance']:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel(f"importance for {data['metric']} ({evaluator.value}, {data['trials']} completed trials)")
    ax.set_title(f"hyperparameter importance in {experiment_id}", fontsize=10)
    return _save(fig, out)
