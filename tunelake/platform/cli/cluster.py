"""``cluster render|up|down``: Ray cluster configs for a spec's resources, and Ray's launcher run on them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from tunelake.errors import TunelakeError
from tunelake.platform.cli import Exit, options


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cluster", help="Ray cluster configs for a spec's resources (AWS, KubeRay)")
    cluster = p.add_subparsers(dest="cluster_command", metavar="ACTION", required=True)
    m = cluster.add_parser("render", help="print a Ray cluster-launcher YAML (for `ray up`) or a KubeRay RayJob")
    options.spec(m)
    m.add_argument("--kuberay", action="store_true", help="a KubeRay RayJob manifest instead")
    options.region(m)
    # Not the shared --lake: the URI the job on the cluster writes to, with no local default.
    m.add_argument("--lake", help="lake URI for the job (KubeRay; use s3://...)")
    m.add_argument("--image", help="KubeRay: the pods' image, Ray's with tunelake installed from the source")
    m.add_argument("--wheel", help="KubeRay: URL of a tunelake wheel built from the source (`pip wheel .`), "
                   "installed in each pod by Ray's pip runtime env")
    m.add_argument("-o", "--output", help="write to this file instead of stdout")
    m.set_defaults(handler=cmd_render)
    m = cluster.add_parser("prices", help="the on-demand price table cost per trial uses: its source, date "
                                          "and each instance type's price and size")
    m.set_defaults(handler=cmd_prices)
    for action in ("up", "down"):
        m = cluster.add_parser(action, help=f"`ray {action}` with the rendered config")
        options.spec(m)
        options.region(m)
        m.set_defaults(handler=cmd_launcher)


def cmd_prices(args: argparse.Namespace, out: Console) -> int:
    from tunelake.cluster.aws import INSTANCE_TYPES
    from tunelake.cluster.cost import price_table
    from tunelake.platform.cli.output import table

    prices = price_table()
    out.print(table(("instance type", "vCPUs", "GPUs", "GPU", f"{prices.currency} per hour"), (
        (name, str(t.vcpus), str(t.gpus), t.gpu_model or "", f"{prices.prices[name]:.4f}")
        for name, t in sorted(INSTANCE_TYPES.items(), key=lambda kv: prices.prices[kv[0]])),
        title=f"{prices.label}: on-demand, {prices.region}"))
    out.print(f"source      {prices.source}")
    return Exit.OK


def cmd_render(args: argparse.Namespace, out: Console) -> int:
    import yaml

    from tunelake.cluster import kuberay, render
    from tunelake.platform.spec import load_spec
    from tunelake.platform.spec.local import is_git_url

    spec = load_spec(args.spec)
    if args.kuberay:
        docs = kuberay.manifest(spec.display_name(), spec.resources, Path(args.spec).read_text(), args.lake,
                                args.image, args.wheel)
        text = yaml.safe_dump_all(docs, sort_keys=False)
        local = None if is_git_url(spec.code_github) else spec.code_github
        for line in kuberay.notes(args.lake, args.image, args.wheel, local):
            sys.stderr.write(f"{line}\n")  # stdout is the manifest
    else:
        text = yaml.safe_dump(render.launcher_config(spec.display_name(), spec.resources, args.region),
                              sort_keys=False)
    if args.output:
        Path(args.output).write_text(text)
        out.print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)  # not through rich: the YAML must come out byte for byte
    return Exit.OK


def cmd_launcher(args: argparse.Namespace, out: Console) -> int:
    """``ray up`` or ``ray down``: Ray's launcher takes a file, so the config is written under the cache first."""
    import subprocess

    import yaml

    from tunelake.cluster import render
    from tunelake.paths import cache_root
    from tunelake.platform.spec import load_spec

    spec = load_spec(args.spec)
    config = render.launcher_config(spec.display_name(), spec.resources, args.region)
    path = cache_root() / "clusters" / f"{config['cluster_name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        return subprocess.run(["ray", args.cluster_command, "-y", str(path)], check=False).returncode
    except FileNotFoundError:
        raise TunelakeError("the `ray` command is not on PATH; install ray[default]") from None

