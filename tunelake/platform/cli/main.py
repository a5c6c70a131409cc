"""The ``tunelake`` command line.

Exit codes: 0 done (even when some trials failed), 2 bad input (nothing ran),
1 anything else. Errors print one message, never a traceback, unless
``TUNELAKE_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tunelake.errors import TunelakeError, UserInputError
from tunelake.redact import redact
from tunelake.store.schema import TABLES as _TABLES

TABLE_NAMES = tuple(_TABLES)

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT = 0, 1, 2


LAKE_HELP = "lake root (default: $TUNELAKE_LAKE, else ./tunelake-lake)"


def _run_options(p: argparse.ArgumentParser) -> None:
    """Where a search runs and writes: shared by run, resume and automl."""
    p.add_argument("--lake", help=LAKE_HELP)
    p.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunelake",
        description="Tune any program on Ray; every trial lands in a Parquet lake you can query with SQL.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    lake_help = LAKE_HELP

    p = sub.add_parser("validate", help="check an experiment spec without running it")
    p.add_argument("spec", help="experiment spec, JSON or YAML")

    p = sub.add_parser("run", help="run an experiment")
    p.add_argument("spec", help="experiment spec, JSON or YAML")
    _run_options(p)
    p.add_argument("--experiment-id", help="use this id (the service assigns ids before the job starts)")

    p = sub.add_parser("resume", help="continue an experiment whose driver died (Tune's saved state)")
    p.add_argument("experiment", help="experiment id")
    _run_options(p)

    p = sub.add_parser("sql", help="query the lake with DuckDB SQL")
    p.add_argument("query", help="e.g. \"SELECT status, count(*) FROM trials GROUP BY 1\"")
    p.add_argument("--lake", help=lake_help)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")

    p = sub.add_parser("automl", help="point at data (CSV/Parquet), get a tuned model, warm-started from the lake")
    p.add_argument("data")
    p.add_argument("--target", required=True, help="the column to predict")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--time-budget", type=float,
                   help="seconds of wall clock for all of it: meta-features, search, refit of the best model")
    p.add_argument("--metric", help="a scikit-learn scorer (default: accuracy or r2)")
    p.add_argument("--folds", type=int, default=3)
    p.add_argument("--no-warm-start", action="store_true", help="start cold (only the robust default first)")
    p.add_argument("--no-early-stop", action="store_true",
                   help="run every fold of every configuration (by default ASHA stops the worse half after one fold)")
    p.add_argument("--ensemble", action="store_true",
                   help="store a weighted ensemble of the best pipelines, chosen on their out-of-fold predictions, "
                        "when it scores better there than the best alone (by default: the best pipeline alone)")
    p.add_argument("--experiment-id", help="use this id (the service assigns ids before the job starts)")
    _run_options(p)

    p = sub.add_parser("recommend", help="the warm-start configurations the meta-model proposes for a dataset")
    p.add_argument("data")
    p.add_argument("--target", required=True)
    p.add_argument("-k", type=int, default=5, help="how many proposals")
    p.add_argument("--lake", help=lake_help)
    p.add_argument("--format", choices=("table", "json"), default="table")

    p = sub.add_parser("metalearn", help="build the meta-learning prior")
    meta = p.add_subparsers(dest="metalearn_command", metavar="ACTION", required=True)
    m = meta.add_parser("bootstrap", help="a fixed budget of AutoML trials on each dataset of a folder (resumable)")
    m.add_argument("directory", help="a folder of Parquet datasets with a 'target' column (and an index.csv)")
    m.add_argument("--trials", type=int, default=12)
    m.add_argument("--limit", type=int, help="at most this many datasets now (run again to continue)")
    m.add_argument("--time-budget", type=float, metavar="S",
                   help="at most S seconds of search per dataset (large datasets then get fewer trials)")
    m.add_argument("--lake", help=lake_help)
    m = meta.add_parser("evaluate", help="warm vs cold AutoML, leave-one-group-out, as normalized regret curves")
    m.add_argument("directory", help="a folder of Parquet datasets with a 'target' column (and an index.csv)")
    m.add_argument("--trials", type=int, default=10)
    m.add_argument("--limit", type=int, help="only the first N datasets (smallest first)")
    m.add_argument("--sample", type=int, help="N datasets spread evenly over the sizes")
    m.add_argument("--max-rows", type=int, help="only datasets with at most this many rows")
    m.add_argument("--lake", help=lake_help)
    m.add_argument("--out", default="benchmarks/results/metalearn", help="folder for the JSON and the PNG")
    m = meta.add_parser("prior", help="write the prior (best configs per dataset) from a bootstrapped lake")
    m.add_argument("--lake", help=lake_help)
    m.add_argument("-o", "--output", help="where to write it (default: the package's prior.json)")

    p = sub.add_parser("plot", help="a PNG map of the primary metric over two parameters")
    p.add_argument("experiment")
    p.add_argument("--x", required=True, help="parameter on the x axis")
    p.add_argument("--y", required=True, help="parameter on the y axis")
    p.add_argument("-o", "--output", default="map.png")
    p.add_argument("--lake", help=lake_help)

    p = sub.add_parser("serve", help="the REST API and web page; experiments run as Ray jobs")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--lake", help=lake_help)
    p.add_argument("--address", help="Ray dashboard address of a cluster (default: start a local Ray)")

    p = sub.add_parser("models", help="list or fetch the models trials saved")
    models = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    m = models.add_parser("list", help="the models of an experiment, best first")
    m.add_argument("experiment")
    m.add_argument("--lake", help=lake_help)
    m = models.add_parser("get", help="copy a trial's model (default: the best trial's) to a folder")
    m.add_argument("experiment")
    m.add_argument("trial", nargs="?", help="trial id (default: the best completed trial)")
    m.add_argument("--to", required=True, help="destination folder")
    m.add_argument("--lake", help=lake_help)

    p = sub.add_parser("cluster", help="Ray cluster configs for a spec's resources (AWS, KubeRay)")
    cluster = p.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    m = cluster.add_parser("render", help="print a Ray cluster-launcher YAML (for `ray up`) or a KubeRay RayJob")
    m.add_argument("spec")
    m.add_argument("--kuberay", action="store_true", help="a KubeRay RayJob manifest instead")
    m.add_argument("--region", help="AWS region (default: $AWS_DEFAULT_REGION, else us-west-2)")
    m.add_argument("--lake", help="lake URI for the job (KubeRay; use s3://...)")
    m.add_argument("-o", "--output", help="write to this file instead of stdout")
    for action in ("up", "down"):
        m = cluster.add_parser(action, help=f"`ray {action}` with the rendered config")
        m.add_argument("spec")
        m.add_argument("--region", help="AWS region")

    p = sub.add_parser("lake", help="maintain the lake")
    lake = p.add_subparsers(dest="lake_command", metavar="ACTION", required=True)
    m = lake.add_parser("compact", help="merge each table folder's small files into one (safe beside readers)")
    m.add_argument("--lake", help=lake_help)
    m.add_argument("--table", action="append", choices=sorted(TABLE_NAMES), help="only this table (repeatable)")
    m = lake.add_parser("replay", help="write rows kept locally while the lake was unreachable (runs do it too)")
    m.add_argument("--lake", help=lake_help)
    return parser


def cmd_validate(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.spec import load_spec

    spec = load_spec(args.spec)
    n = len(spec.search)
    out.print(f"{args.spec}: valid ({n} parameter{'s' if n != 1 else ''}, "
              f"{spec.optimizer.algorithm.value} / {spec.optimizer.scheduler.value}, "
              f"{spec.trial_count()} trials, {spec.mode.value} {spec.primary_result_key})", highlight=False)
    return EXIT_OK


def cmd_run(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.experiments.resume import resume
    from tunelake.platform.experiments.run import run

    if args.command == "resume":
        result = resume(args.experiment, lake=args.lake, address=args.address, progress=not args.quiet)
    else:
        result = run(args.spec, lake=args.lake, address=args.address, progress=not args.quiet,
                     experiment_id=args.experiment_id)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items())) or "no trials"
    out.print(f"experiment  {result.experiment_id}  ({result.status}: {counts})", highlight=False, markup=False)
    if result.best_trial_id is not None:
        params = ", ".join(f"{k}={v}" for k, v in (result.best_params or {}).items())
        out.print(f"best        {result.best_value:.6g}  trial {result.best_trial_id}  {params}", highlight=False, markup=False)
    out.print(f"lake        {result.lake}", highlight=False, markup=False)
    out.print(f"models      {result.models}", highlight=False, markup=False)
    order = "DESC" if result.mode == "max" else "ASC"
    out.print(f"query       tunelake sql \"SELECT trial_id, status, value, params FROM trials "
              f"WHERE experiment_id = '{result.experiment_id}' ORDER BY value {order}\"", highlight=False,
              markup=False)
    if result.error:
        out.print(f"[red]error[/red]       {escape(result.error)}", highlight=False)
        return EXIT_ERROR
    return EXIT_OK


def cmd_sql(args: argparse.Namespace, out: Console) -> int:
    from tunelake.store.lake import Lake
    from tunelake.store.query import query

    table = query(Lake(args.lake), args.query)
    if args.format == "csv":
        import pyarrow.csv as pacsv

        sink = sys.stdout.buffer
        pacsv.write_csv(table, sink)
        sink.flush()
    elif args.format == "json":
        sys.stdout.write(json.dumps(table.to_pylist(), default=str, indent=1) + "\n")
    else:
        view = Table(show_lines=False)
        for name in table.column_names:
            view.add_column(name, overflow="fold")
        for row in table.to_pylist():
            view.add_row(*(Text("" if v is None else str(v)) for v in row.values()))
        out.print(view)
        out.print(f"({table.num_rows} row{'s' if table.num_rows != 1 else ''})", highlight=False, markup=False)
    return EXIT_OK


def cmd_models(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.models.store import store_for_uri
    from tunelake.store.lake import Lake
    from tunelake.store.query import query

    lake = Lake(args.lake)
    trials = query(
        lake,
        "SELECT t.trial_id, t.status, t.value, t.model_uri FROM trials t JOIN experiments e USING (experiment_id) "
        "WHERE experiment_id = ? ORDER BY t.model_uri IS NULL, t.status <> 'completed', "
        "CASE WHEN e.mode = 'min' THEN t.value ELSE -t.value END NULLS LAST, t.trial_id",
        [args.experiment], args.experiment,
    ).to_pylist()
    if not trials:
        raise UserInputError(f"experiment {args.experiment!r} has no trials in {lake.uri}; "
                             "list experiments with: tunelake sql \"SELECT experiment_id FROM experiments\"")
    if args.models_command == "list":
        view = Table()
        for name in ("trial_id", "status", "value", "model_uri"):
            view.add_column(name, overflow="fold")
        for t in trials:
            view.add_row(*(Text("" if t[k] is None else str(t[k])) for k in ("trial_id", "status", "value", "model_uri")))
        out.print(view)
        return EXIT_OK
    if args.trial:
        chosen = next((t for t in trials if t["trial_id"] == args.trial), None)
        if chosen is None:
            raise UserInputError(f"trial {args.trial!r} is not in experiment {args.experiment!r}")
    else:
        chosen = trials[0] if trials[0]["status"] == "completed" else None
    if chosen is None or not chosen["model_uri"]:
        raise UserInputError(f"no stored model for {args.trial or 'the best trial'} of {args.experiment!r}; "
                             "see: tunelake models list " + args.experiment)
    files = store_for_uri(chosen["model_uri"]).fetch(chosen["model_uri"], Path(args.to))
    out.print(f"trial {chosen['trial_id']} ({chosen['status']}, value {chosen['value']}): "
              f"{len(files)} file(s) from {chosen['model_uri']} to {args.to}", markup=False)
    return EXIT_OK


def cmd_automl(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.automl.run import automl
    from tunelake.platform.spec import parse_automl

    spec = parse_automl({"data": args.data, "target": args.target, "trials": args.trials,
                         "time_budget_s": args.time_budget, "metric": args.metric, "folds": args.folds,
                         "warm_start": not args.no_warm_start, "early_stop": not args.no_early_stop,
                         "ensemble": args.ensemble}, "tunelake automl")
    result = automl(spec, lake=args.lake, address=args.address, progress=not args.quiet,
                    experiment_id=args.experiment_id)
    board = Table(title=f"leaderboard ({result.experiment_id})", title_justify="left")
    for name in ("rank", "trial", "status", "score", "configuration"):
        board.add_column(name, overflow="fold")
    for i, t in enumerate(result.trials.head(10).itertuples(), start=1):
        board.add_row(str(i), t.trial_id, t.status, "" if t.value != t.value else f"{t.value:.4f}", Text(t.params))
    out.print(board)
    if result.best_trial_id is None:
        out.print(f"error: {result.error}", markup=False)
        return EXIT_ERROR
    best = result.trials.iloc[0]
    out.print(f"best        {result.best_value:.4f}  {result.best_params}", markup=False)
    what = "a fitted scikit-learn pipeline" if len(result.members) == 1 else (
        f"a weighted ensemble of {len(result.members)} pipelines: " + ", ".join(
            f"{m['params']['family']} {m['weight']:.2f}" for m in result.members)
        + (f"; {result.ensemble_score:.4f} out of fold" if result.ensemble_score is not None else "")
        + "; members.json beside it")
    out.print(f"model       {best['model_uri']}/model.pkl  ({what})", markup=False)
    out.print(f"lake        {result.lake}", markup=False)
    return EXIT_OK


def cmd_recommend(args: argparse.Namespace, out: Console) -> int:
    from tunelake.metalearn.recommend import proposals_for
    from tunelake.store.lake import Lake

    proposals, task, _ = proposals_for(Lake(args.lake), args.data, args.target, args.k)
    if args.format == "json":
        sys.stdout.write(json.dumps([{"config": p.config, "predicted": p.predicted, "evidence": p.evidence}
                                     for p in proposals], indent=1, default=str) + "\n")
        return EXIT_OK
    view = Table(title=f"warm-start proposals ({task})", title_justify="left")
    for name in ("#", "family", "hyperparameters", "predicted", "evidence"):
        view.add_column(name, overflow="fold")
    for i, p in enumerate(proposals, start=1):
        params = {k: v for k, v in p.config.items() if k != "family"}
        view.add_row(str(i), p.config["family"], Text(json.dumps(params)),
                     "" if p.predicted is None else f"{p.predicted:.3f}", Text(json.dumps(p.evidence)))
    out.print(view)
    return EXIT_OK


def cmd_metalearn(args: argparse.Namespace, out: Console) -> int:
    from tunelake.store.lake import Lake

    if args.metalearn_command == "bootstrap":
        from tunelake.platform.automl.offline.bootstrap import bootstrap

        n = bootstrap(Path(args.directory), args.lake, args.trials, args.limit, time_budget_s=args.time_budget,
                      say=lambda text: out.print(text, markup=False))
        out.print(f"searched {n} dataset(s) now", markup=False)
        return EXIT_OK
    if args.metalearn_command == "evaluate":
        from tunelake.platform.automl.offline.evaluate import evaluate, plot, summary, write_json

        curves = evaluate(Path(args.directory), args.lake, args.trials, args.limit,
                          say=lambda text: out.print(text, markup=False), sample=args.sample,
                          max_rows=args.max_rows)
        figures = summary(curves, args.trials)
        write_json(curves, args.trials, Path(args.out) / "evaluate.json")
        png = plot(curves, args.trials, Path(args.out) / "evaluate.png")
        out.print(json.dumps(figures), markup=False)
        out.print(f"wrote {Path(args.out) / 'evaluate.json'}" + (f" and {png}" if png else ""), markup=False)
        return EXIT_OK
    from tunelake.metalearn.prior import PRIOR_PATH, build_prior

    prior = build_prior(Lake(args.lake))
    path = Path(args.output) if args.output else PRIOR_PATH
    path.write_text(prior.model_dump_json())
    out.print(f"wrote {path}: {len(prior.datasets)} datasets, "
              f"{sum(len(d.trials) for d in prior.datasets)} configurations", markup=False)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.reports.metric_map import metric_map
    from tunelake.store.lake import Lake

    path = metric_map(Lake(args.lake), args.experiment, args.x, args.y, Path(args.output))
    out.print(f"wrote {path}", markup=False)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.service.server import serve

    serve(args.host, args.port, args.lake, args.address, args.argv, say=lambda text: out.print(text, markup=False))
    return EXIT_OK


def cmd_cluster(args: argparse.Namespace, out: Console) -> int:
    import subprocess

    import yaml

    from tunelake.cluster import render
    from tunelake.paths import cache_root
    from tunelake.platform.spec import load_spec

    spec = load_spec(args.spec)
    if args.cluster_command == "render" and args.kuberay:
        docs = render.kuberay_manifest(spec.display_name(), spec.resources, Path(args.spec).read_text(), args.lake)
        text = yaml.safe_dump_all(docs, sort_keys=False)
    else:
        text = yaml.safe_dump(render.launcher_config(spec.display_name(), spec.resources, args.region), sort_keys=False)
    if args.cluster_command == "render":
        if args.output:
            Path(args.output).write_text(text)
            out.print(f"wrote {args.output}", markup=False)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    path = cache_root() / "clusters" / f"{render.launcher_config(spec.display_name(), spec.resources, args.region)['cluster_name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    try:
        return subprocess.run(["ray", args.cluster_command, "-y", str(path)], check=False).returncode
    except FileNotFoundError:
        raise TunelakeError("the `ray` command is not on PATH; install ray[default]") from None


def cmd_lake(args: argparse.Namespace, out: Console) -> int:
    from tunelake.paths import cache_root
    from tunelake.store import spool
    from tunelake.store.compact import compact
    from tunelake.store.lake import Lake

    if args.lake_command == "replay":
        moved = spool.replay(cache_root() / "spool", Lake(args.lake))
        out.print(f"replayed {moved} kept row(s)", markup=False)
        return EXIT_OK
    done = compact(Lake(args.lake), args.table)
    for c in done:
        out.print(f"{c.table}: {c.files_before} files -> 1 ({c.rows} rows)", markup=False)
    out.print(f"compacted {len(done)} table(s)", markup=False)
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "resume": cmd_run, "sql": cmd_sql, "models": cmd_models, "lake": cmd_lake,
            "cluster": cmd_cluster, "serve": cmd_serve, "plot": cmd_plot, "automl": cmd_automl,
            "recommend": cmd_recommend, "metalearn": cmd_metalearn}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.argv = argv
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return COMMANDS[args.command](args, out)
    except UserInputError as exc:
        err.print(f"[red]error:[/red] {escape(redact(str(exc)) or '')}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except TunelakeError as exc:
        err.print(f"[red]error:[/red] {escape(redact(str(exc)) or '')}", soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:  # a bug: say so plainly, keep the traceback behind a switch
        if os.environ.get("TUNELAKE_DEBUG"):
            raise
        err.print(f"[red]internal error:[/red] {type(exc).__name__}: {escape(redact(str(exc)) or '')} "
                  "(set TUNELAKE_DEBUG=1 for the traceback)", soft_wrap=True)
        return EXIT_ERROR
