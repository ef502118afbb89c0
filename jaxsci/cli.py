"""Command line: `jaxsci run CONFIG [--set key=value ...] [--out DIR] [--quiet]` and
`jaxsci run --list`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jaxsci", description="jaxsci experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    from .runs._run import solvers_help

    run = sub.add_parser(
        "run",
        help="run the experiment a config file describes",
        description="Run the experiment a TOML config describes and write its run directory "
        "(config.toml, metrics.json, history, learning curve, trained model, plots). "
        "Solvers (`solver = ...` in the config):\n" + solvers_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "config", nargs="?", help="TOML file, e.g. experiments/configs/helmholtz_2d.toml"
    )
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry, e.g. train.steps=200",
    )
    run.add_argument("--out", default=None, help="output directory (default: output_dir/NAME-TIME)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--list", action="store_true", help="list the problems, systems, tasks and shipped configs"
    )
    args = parser.parse_args(argv)

    from . import runs, train

    train.initialize()  # joins a multi-process run when JAXSCI_COORDINATOR is set
    if args.list:
        print(runs.catalogue())
        return 0
    if args.config is None:
        parser.error("run: give a CONFIG file (or --list)")
    try:
        cfg = runs.load_config(args.config, args.overrides)
    except (ValueError, FileNotFoundError, IsADirectoryError) as e:
        print(f"jaxsci: config error: {e}", file=sys.stderr)
        return 2
    # a progress bar only for a person watching: not when output goes to a file or pipe
    progress = not args.quiet and sys.stderr.isatty()
    try:
        m = runs.run(cfg, args.out, progress=progress)
    except ValueError as e:
        print(f"jaxsci: {e}", file=sys.stderr)
        return 2
    for line in m["seed_lines"]:
        print(line)
    shown = ", ".join(str(p) for p in m["outputs"].values() if p)
    print(f"{m['summary']}\nwrote {m['out_dir']}: metrics.json, config.toml, {shown}")
    return 0 if m["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
