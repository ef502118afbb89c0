"""Command line: `jaxsci run CONFIG [--set key=value ...] [--out DIR]`."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jaxsci", description="jaxsci experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="solve the problem a config file describes")
    run.add_argument("config", help="TOML file, e.g. experiments/configs/helmholtz_2d.toml")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config entry, e.g. train.steps=200",
    )
    run.add_argument("--out", default=None, help="output directory (default: output_dir/NAME-TIME)")
    run.add_argument("--quiet", action="store_true", help="no per-chunk progress lines")
    args = parser.parse_args(argv)

    from ._config import load_config
    from ._experiment import run_experiment

    try:
        cfg = load_config(args.config, args.overrides)
    except (ValueError, FileNotFoundError) as e:
        print(f"jaxsci: config error: {e}", file=sys.stderr)
        return 2
    try:
        m = run_experiment(cfg, args.out, progress=not args.quiet)
    except ValueError as e:
        print(f"jaxsci: {e}", file=sys.stderr)
        return 2
    print(
        f"{m['problem']}: relative L2 {m['rel_l2']:.3e} (+- {m['rel_l2_std']:.1e} over "
        f"{len(m['runs'])} seed(s)), wall {m['wall_s']:.1f} s per seed, {m['steps']} steps on "
        f"{m['device']}\nwrote {m['out_dir']}/metrics.json and {m.get('plot', '(no plot)')}"
    )
    return 0 if all(r["failed_step"] is None for r in m["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
