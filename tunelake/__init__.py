"""tunelake: tune any program on Ray, keep every trial in a Parquet lake, start warm.

The notebook API is :func:`run` (an experiment spec in, a :class:`Result` out)
and :func:`sql` (DuckDB over the lake). Heavy modules load on first use, so
``import tunelake`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tunelake._version import __version__

if TYPE_CHECKING:
    from tunelake.platform.experiments.lifecycle import Result
    from tunelake.platform.experiments.resume import resume
    from tunelake.platform.experiments.run import run
    from tunelake.platform.spec import Spec, load_spec

__all__ = ["Result", "Spec", "load_spec", "resume", "run", "sql", "__version__"]


def sql(query: str, lake: str | None = None, params: list[Any] | None = None):  # -> pandas.DataFrame
    """Run a SQL query over the lake's tables; returns a pandas DataFrame."""
    from tunelake.store.lake import Lake
    from tunelake.store.query import query as _query

    return _query(Lake(lake, create=False), query, params).to_pandas()


def __getattr__(name: str) -> Any:
    if name in ("run", "resume", "Result"):
        from tunelake.platform.experiments import lifecycle, resume, run

        return {"run": run.run, "resume": resume.resume, "Result": lifecycle.Result}[name]
    if name in ("Spec", "load_spec"):
        from tunelake.platform import spec

        return getattr(spec, name)
    raise AttributeError(f"module 'tunelake' has no attribute {name!r}")
