"""What the commands print: tables, result summaries, query results as CSV or JSON, and errors.

Results go to stdout as plain text (a path, an id or a query's value is data, never rich markup);
errors go to stderr with a red label.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tunelake.redact import redact

if TYPE_CHECKING:
    import pyarrow as pa

    from tunelake.platform.automl.run import AutoMLResult
    from tunelake.platform.experiments.run import Result
    from tunelake.store.damage import Damaged


def consoles() -> tuple[Console, Console]:
    """stdout for results and stderr for errors; neither wraps long lines, so paths and SQL stay copyable."""
    return (Console(highlight=False, soft_wrap=True, markup=False),
            Console(stderr=True, highlight=False, soft_wrap=True))


def print_error(err: Console, exc: BaseException, internal: bool = False) -> None:
    """One line, never a traceback, with every secret the process knows masked (a URI may carry a key)."""
    text = escape(redact(str(exc)) or "")
    if internal:
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {text} (set TUNELAKE_DEBUG=1 for the traceback)")
    else:
        err.print(f"[red]error:[/red] {text}")


def warn_skipped(skipped: Sequence[Damaged]) -> None:
    """On stderr, so a script parsing stdout still gets clean rows, but nobody takes them for the whole table."""
    from tunelake.store.damage import HINT

    if not skipped:
        return
    err = consoles()[1]
    for d in skipped:
        err.print(f"[yellow]warning:[/yellow] skipped damaged file {escape(d.path)}: {escape(redact(d.reason) or '')}")
    err.print(f"[yellow]warning:[/yellow] {plural(len(skipped), 'file')} left out; {HINT}")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> Table:
    """Cells are literal text (a trial id like ``t[1]`` is not markup), ``None`` is blank, long cells fold."""
    view = Table(title=title, title_justify="left")
    for name in columns:
        view.add_column(name, overflow="fold")
    for row in rows:
        view.add_row(*(Text("" if v is None else str(v)) for v in row))
    return view


def write_json(value: Any) -> None:
    """Straight to stdout: rich would re-wrap or style what a script is going to parse."""
    sys.stdout.write(json.dumps(value, default=str, indent=1) + "\n")


def print_rows(out: Console, rows: pa.Table, fmt: str) -> None:
    """A query's result as a table with its row count, as CSV (bytes, for pyarrow's writer) or as JSON records."""
    if fmt == "csv":
        import pyarrow.csv as pacsv

        sink = sys.stdout.buffer
        pacsv.write_csv(_flat(rows), sink)
        sink.flush()
    elif fmt == "json":
        write_json(rows.to_pylist())
    else:
        out.print(table(rows.column_names, (row.values() for row in rows.to_pylist())))
        out.print(f"({plural(rows.num_rows, 'row')})")


def _flat(rows: pa.Table) -> pa.Table:
    """CSV has no lists, structs or maps (``params``, ``list(...)``): such a column becomes JSON text."""
    import pyarrow as pa

    for i, field in enumerate(rows.schema):
        if pa.types.is_nested(field.type):
            text = [None if v is None else json.dumps(v, default=str) for v in rows.column(i).to_pylist()]
            rows = rows.set_column(i, field.name, pa.array(text, pa.string()))
    return rows


def print_run(out: Console, result: Result, objectives: list[dict] | None = None,
              front: list[dict] | None = None) -> None:
    """The summary of ``run`` and ``resume``, ending with the query that lists every trial; with several
    ``objectives``, their Pareto ``front`` (its first five trials)."""
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items())) or "no trials"
    out.print(f"experiment  {result.experiment_id}  ({result.status}: {counts})")
    if result.best_trial_id is not None:
        params = ", ".join(f"{k}={v}" for k, v in (result.best_params or {}).items())
        out.print(f"best        {result.best_value:.6g}  trial {result.best_trial_id}  {params}")
    if objectives:
        over = ", ".join(f"{o['metric']} ({o['mode']})" for o in objectives)
        shown = "; ".join(f"{r['trial_id']} " + ", ".join(f"{o['metric']}={v:.6g}" for o, v in
                                                         zip(objectives, r["objectives"])) for r in (front or [])[:5])
        out.print(f"pareto      {plural(len(front or []), 'trial')} on the front of {over}: {shown}")
    spent = cost_line(result.trials)
    if spent:
        out.print(spent)
    out.print(f"lake        {result.lake}")
    out.print(f"models      {result.models}")
    order = "DESC" if result.mode == "max" else "ASC"
    # --lake always: a job's default lake is not the one `tunelake sql` picks in the user's folder.
    out.print(f"query       tunelake sql --lake {shlex.quote(result.lake)} \"SELECT trial_id, status, value, params "
              f"FROM trials WHERE experiment_id = '{result.experiment_id}' ORDER BY value {order}\"")
    if result.error:
        out.print(f"[red]error[/red]       {escape(result.error)}", markup=True)
    cause = commonest_failure(result.trials)
    if cause and not result.counts.get("completed"):
        out.print(cause)


def cost_line(trials: Any) -> str | None:
    """What the trials used and, where their nodes' instance types are priced, an on-demand estimate."""
    if trials is None or not len(trials) or "cpu_hours" not in trials or trials["cpu_hours"].isna().all():
        return None
    return "cost        " + describe_cost(trials["cpu_hours"].sum(), trials["gpu_hours"].sum(),
                                          trials["cost_usd"].sum(min_count=1), int(trials["cost_usd"].notna().sum()),
                                          len(trials), trials["price_table"].dropna().max())


def describe_cost(cpu_hours: float, gpu_hours: float, cost_usd: float | None, priced: int, total: int,
                  price_table: str | None) -> str:
    text = f"{cpu_hours:.3g} CPU-hours" + (f", {gpu_hours:.3g} GPU-hours" if gpu_hours else "")
    if cost_usd is None or cost_usd != cost_usd:
        return text + "; no price estimate: the nodes' instance type is not known (off AWS, or set " \
                      "TUNELAKE_INSTANCE_TYPE on the nodes)"
    some = "" if priced == total else f" for {priced} of {total} trials"
    return text + f"; {dollars(cost_usd)} on-demand{some} ({price_table} prices)"


def dollars(amount: float) -> str:
    """Cents; below one cent (a trial of a few seconds) two significant digits, so it never reads $0.00."""
    return f"${amount:,.2f}" if amount >= 0.01 else f"${amount:.2g}"


def commonest_failure(trials: Any, lines: int = 12) -> str | None:
    """When trials failed: how many failed the commonest way, that reason, and the end of one such trial's
    stderr (what a user needs when every trial fails alike: a missing module, a wrong flag)."""
    if trials is None or not len(trials) or "status" not in trials:
        return None
    failed = trials[trials["status"] == "failed"]
    if failed.empty:
        return None
    reasons = failed["reason"].fillna("no reason recorded")
    reason = reasons.value_counts().index[0]
    same = failed[reasons == reason]
    tails = [t for t in same["stderr_tail"].dropna() if t.strip()]
    text = f"failed      {len(same)} of {len(trials)} trials: {redact(reason)}"
    if tails:
        text += "\nstderr of trial " + str(same[same["stderr_tail"] == tails[0]]["trial_id"].iloc[0]) + ":\n" + \
            "\n".join("  " + line for line in redact(tails[0]).splitlines()[-lines:])
    return text


def print_automl(out: Console, result: AutoMLResult) -> None:
    """The leaderboard's top ten, then the best model and what it is, or why there is none."""
    rows = ((str(i), t.trial_id, t.status, "" if t.value != t.value else f"{t.value:.4f}", t.params)
            for i, t in enumerate(result.trials.head(10).itertuples(), start=1))
    out.print(table(("rank", "trial", "status", "score", "configuration"), rows,
                    title=f"leaderboard ({result.experiment_id})"))
    if result.best_trial_id is None:
        out.print(f"error: {result.error}")
        return
    holder = result.members[0]["trial_id"] if result.members else result.best_trial_id
    stored = result.trials[result.trials.trial_id == holder].iloc[0]  # by id: scores can tie
    out.print(f"best        {result.best_value:.4f}  {result.best_params}")
    what = "a fitted scikit-learn pipeline" if len(result.members) == 1 else (
        f"a weighted ensemble of {len(result.members)} pipelines: " + ", ".join(
            f"{m['params']['family']} {m['weight']:.2f}" for m in result.members)
        + (f"; {result.ensemble_score:.4f} out of fold" if result.ensemble_score is not None else "")
        + "; members.json beside it")
    if holder != result.best_trial_id:
        what += f"; the default configuration (trial {holder}, {stored['value']:.4f}): refitting the best would " \
                "overrun the time budget"
    out.print(f"model       {stored['model_uri']}/model.pkl  ({what})")
    spent = cost_line(result.trials)
    if spent:
        out.print(spent)
    out.print(f"lake        {result.lake}")
