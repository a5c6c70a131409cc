"""``automl``, ``recommend`` and ``metalearn``: data in, a tuned model out, warm-started by the meta-learner."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from tunelake.errors import UserInputError
from tunelake.platform.cli import Exit, options
from tunelake.platform.cli.output import print_automl, table, write_json

DATASETS_HELP = "a folder of Parquet datasets with a 'target' column (and an index.csv)"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("automl", help="point at data (CSV/Parquet), get a tuned model, warm-started from the lake")
    p.add_argument("data", nargs="?", help="a CSV or Parquet file (a path, or s3://...)")
    p.add_argument("--target", help="the column to predict")
    p.add_argument("--spec", help="an AutoML spec (JSON or YAML, the fields of POST /automl) instead of DATA, "
                                  "--target and the flags below")
    _spec_flags(p)
    options.experiment_id(p)
    options.run_options(p)
    p.set_defaults(handler=cmd_automl)

    p = sub.add_parser("recommend", help="the warm-start configurations the meta-model proposes for a dataset")
    p.add_argument("data")
    p.add_argument("--target", required=True)
    p.add_argument("-k", type=options.count, help="how many proposals (default: as many as automl starts from)")
    options.lake(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=cmd_recommend)

    _register_metalearn(sub.add_parser("metalearn", help="the dense history, the artifact and its evaluation"))


def _register_metalearn(p: argparse.ArgumentParser) -> None:
    meta = p.add_subparsers(dest="metalearn_command", metavar="ACTION", required=True)
    m = meta.add_parser("bootstrap", help="score the fixed candidate pool on each dataset of a folder: the dense "
                                          "history (resumable)")
    m.add_argument("directory", help=DATASETS_HELP)
    m.add_argument("--limit", type=int, help="at most this many datasets now (run again to continue)")
    m.add_argument("--max-rows", type=int, default=2000, help="subsample larger datasets to this many rows")
    m.add_argument("--folds", type=int, default=3, help="cross-validation folds per configuration")
    options.lake(m)
    m.set_defaults(handler=cmd_bootstrap)

    m = meta.add_parser("evaluate", help="warm vs cold AutoML, leave-one-group-out, as normalized regret curves")
    m.add_argument("directory", help=DATASETS_HELP)
    m.add_argument("--trials", type=int, default=10)
    m.add_argument("--limit", type=int, help="only the first N datasets (smallest first)")
    m.add_argument("--sample", type=int, help="N datasets spread evenly over the sizes")
    m.add_argument("--max-rows", type=int, help="only datasets with at most this many rows")
    m.add_argument("-k", type=options.count, help="proposals the warm search starts from (default: automl's)")
    options.lake(m)
    m.add_argument("--out", default="benchmarks/results/metalearn", help="folder for the JSON and the PNG")
    m.set_defaults(handler=cmd_evaluate)

    m = meta.add_parser("build", help="the artifact (portfolio, fitted meta-model, the matrix, leave-one-group-out "
                                      "figures) from a bootstrapped lake, or from an artifact's own matrix")
    options.lake(m)
    m.add_argument("--from-artifact", metavar="PATH",
                   help="start from the matrix this artifact keeps (`shipped`: the package's), with the lake's "
                        "bootstrapped datasets (if --lake is given) merged in: rebuilds after a change to the "
                        "meta-model without the bootstrap's lake")
    m.add_argument("--corpus", help="the bootstrapped folder: its index.csv names each dataset's group (datasets "
                                    "of one group are held out together)")
    m.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                   help="skip leave-one-group-out (it chooses the ordering that ships)")
    m.add_argument("-o", "--output", help="where to write it (default: the package's artifact.json)")
    m.set_defaults(handler=cmd_build)

    m = meta.add_parser("fit", help="refit the meta-model on the shipped history plus this lake's AutoML trials "
                                    "(kept in the lake, where recommend and automl look first)")
    options.lake(m)
    m.add_argument("--evaluate", action="store_true", help="choose the ordering again by leave-one-group-out")
    m.set_defaults(handler=cmd_fit)


# flag -> AutoMLSpec field; help and defaults come from the schema, so CLI, API and Python agree
SPEC_FLAGS = {"--trials": "trials", "--time-budget": "time_budget_s", "--metric": "metric", "--folds": "folds",
              "--no-warm-start": "warm_start", "--proposals": "k", "--no-early-stop": "early_stop",
              "--ensemble": "ensemble", "--families": "families", "--gpus-per-trial": "gpus_per_trial"}


def _spec_flags(p: argparse.ArgumentParser) -> None:
    from tunelake.platform.spec import AutoMLSpec

    for flag, name in SPEC_FLAGS.items():
        info = AutoMLSpec.model_fields[name]
        if isinstance(info.default, bool):
            text = f"do not {info.description}" if info.default else info.description
            p.add_argument(flag, dest=name, action="store_const", const=not info.default, help=text)
        else:
            shown = "" if info.default is None else f" (default: {info.default})"
            kind = {"trials": int, "k": int, "folds": int, "time_budget_s": float, "families": _names,
                    "gpus_per_trial": float}.get(name, str)
            p.add_argument(flag, dest=name, type=kind, metavar=flag.removeprefix("--").split("-")[-1].upper(),
                           help=f"{info.description}{shown}")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def automl_spec(args: argparse.Namespace) -> Any:
    """The AutoMLSpec the command line names: a spec file, or DATA, --target and the flags."""
    from tunelake.platform.spec import load_document, parse_automl

    given = {name: getattr(args, name) for name in SPEC_FLAGS.values() if getattr(args, name) is not None}
    if args.spec:
        if args.data or args.target or given:
            raise UserInputError("--spec: give either a spec file or DATA --target and flags, not both")
        path = Path(args.spec)
        if not path.is_file():
            raise UserInputError(f"--spec: {args.spec!r} is not a file")
        return parse_automl(load_document(path.read_text(), args.spec), args.spec)
    if not args.data or not args.target:
        raise UserInputError("automl: give DATA and --target COLUMN (or --spec FILE)")
    return parse_automl({"data": args.data, "target": args.target, **given}, "tunelake automl")


def cmd_automl(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.automl.run import automl

    result = automl(automl_spec(args), lake=args.lake, address=args.address, progress=not args.quiet,
                    experiment_id=args.experiment_id)
    print_automl(out, result)
    return Exit.ERROR if result.best_trial_id is None else Exit.OK


def cmd_recommend(args: argparse.Namespace, out: Console) -> int:
    from tunelake.metalearn.recommend import proposals_for
    from tunelake.platform.spec import PROPOSALS
    from tunelake.store.lake import Lake

    k = PROPOSALS if args.k is None else args.k
    proposals, task, _ = proposals_for(Lake(args.lake), args.data, args.target, k)
    if args.format == "json":
        write_json([{"config": p.config, "predicted": p.predicted, "evidence": p.evidence} for p in proposals])
        return Exit.OK
    rows = ((str(i), p.config["family"], " ".join(f"{k}={v}" for k, v in p.config.items() if k != "family"),
             "" if p.predicted is None else f"{p.predicted:.3f}", *_evidence_columns(p.evidence))
            for i, p in enumerate(proposals, start=1))
    out.print(table(("#", "family", "hyperparameters", "predicted", "expected", "vs default", "portfolio",
                     "evidence"), rows,
                    title=f"warm-start proposals ({task}); predicted: normalized score, 1 = as good as the best "
                          "configuration known on such data; vs default: the chance it beats or ties the untuned "
                          "default"))
    return Exit.OK


def _evidence_columns(evidence: list[dict[str, Any]]) -> tuple[str, str, str, str]:
    """The expected metric value, the chance of beating the default, the portfolio rank and the nearest
    datasets, from a proposal's evidence."""
    first = evidence[0] if evidence else {}
    expected = next((f"{k.removeprefix('expected_')} {v:.4f}" for k, v in first.items()
                     if k.startswith("expected_") and v is not None), "")
    chance = first.get("chance_beats_or_ties_default")
    rank = f"#{first['portfolio_rank']}" if first.get("portfolio_rank") else ""
    near = first.get("nearest_datasets")
    shown = ", ".join(f"{d['dataset']} ({d['distance']})" for d in near) if near else json.dumps(evidence)
    return expected, "" if chance is None else f"{chance:.0%}", rank, shown


def cmd_bootstrap(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.automl.offline.bootstrap import bootstrap

    n = bootstrap(Path(args.directory), args.lake, args.limit, max_rows=args.max_rows, folds=args.folds,
                  say=out.print)
    out.print(f"scored the pool on {n} dataset(s) now")
    return Exit.OK


def cmd_evaluate(args: argparse.Namespace, out: Console) -> int:
    from tunelake.platform.automl.offline.evaluate import evaluate, plot, summary
    from tunelake.platform.automl.offline.evaluate import write_json as write_curves
    from tunelake.platform.spec import PROPOSALS

    k = PROPOSALS if args.k is None else args.k
    curves = evaluate(Path(args.directory), args.lake, args.trials, args.limit, say=out.print, sample=args.sample,
                      max_rows=args.max_rows, k=k)
    figures = summary(curves, args.trials)
    write_curves(curves, args.trials, Path(args.out) / "evaluate.json", k)
    png = plot(curves, args.trials, Path(args.out) / "evaluate.png")
    out.print(json.dumps(figures))
    out.print(f"wrote {Path(args.out) / 'evaluate.json'}" + (f" and {png}" if png else ""))
    return Exit.OK


def cmd_build(args: argparse.Namespace, out: Console) -> int:
    from tunelake.metalearn.artifact import SHIPPED
    from tunelake.metalearn.build import build_artifact, keep_orderings, matrices_of
    from tunelake.platform.automl.offline.bootstrap import index_rows
    from tunelake.store.lake import Lake

    groups = {r["name"]: r.get("group") or r["name"] for r in index_rows(Path(args.corpus))} if args.corpus else None
    base = _base_artifact(args.from_artifact) if args.from_artifact else None
    lake = Lake(args.lake, create=False) if args.lake or base is None else None
    matrices = matrices_of(base, lake, groups)
    if not matrices:
        raise UserInputError(f"no scored pool in the lake {args.lake or ''}: run `tunelake metalearn bootstrap` first")
    artifact = keep_orderings(build_artifact(matrices, evaluate=args.evaluate, say=out.print),
                              base if not args.evaluate else None)
    path = Path(args.output) if args.output else SHIPPED
    path.write_text(artifact.model_dump_json())
    out.print(f"wrote {path}: " + ", ".join(f"{t} {len(h.datasets)} datasets x {len(h.config_ids)} configurations"
                                            for t, h in artifact.tasks.items()))
    return Exit.OK


def _base_artifact(given: str) -> Any:
    """The artifact ``--from-artifact`` names (``shipped``: the package's), or an error that says what is wrong
    with it."""
    from pydantic import ValidationError

    from tunelake.metalearn.artifact import ARTIFACT_VERSION, SHIPPED, load_artifact
    from tunelake.metalearn.features import FEATURE_SET

    path = SHIPPED if given == "shipped" else Path(given)
    if not path.is_file():
        raise UserInputError(f"--from-artifact: no file {given!r}: give `shipped` or the path of an artifact "
                             "`tunelake metalearn build` wrote")
    try:
        base = load_artifact(path=path)
    except ValidationError as exc:
        raise UserInputError(f"--from-artifact: {given!r} is not an artifact ({exc.errors()[0]['msg']}): give "
                             "`shipped` or the path of one `tunelake metalearn build` wrote") from None
    if base is None:
        raise UserInputError(f"--from-artifact: {given!r} was made for another version or meta-feature set (this "
                             f"version reads artifact version {ARTIFACT_VERSION}, features {FEATURE_SET}): build it "
                             "again from its bootstrapped lake")
    return base


def cmd_fit(args: argparse.Namespace, out: Console) -> int:
    from tunelake.metalearn.artifact import load_artifact, save_to_lake
    from tunelake.metalearn.build import refit
    from tunelake.store.lake import Lake

    lake = Lake(args.lake, create=False)
    # the shipped history (or $TUNELAKE_PRIOR's), never an earlier fit of this lake: its trials would count twice
    artifact = refit(lake, load_artifact(), evaluate=args.evaluate, say=out.print)
    where_to = save_to_lake(lake, artifact)
    out.print(f"wrote {where_to}: " + ", ".join(
        f"{t} {len(h.datasets)} datasets + {h.extra_trials} trials of this lake" for t, h in artifact.tasks.items()))
    return Exit.OK
