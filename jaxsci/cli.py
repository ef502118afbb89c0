"""Command line: `jaxsci run CONFIG [--set key=value ...] [--out DIR] [--overwrite] [--quiet]`,
`jaxsci run --resume RUN_DIR [--set key=value ...]` and `jaxsci run --list`.

As a command (`jaxsci ...`, `python -m jaxsci.cli ...`) it turns on JAX's persistent
compilation cache (see `compilation_cache`) and handles SIGINT and SIGTERM
(`runs/_signals.py`: checkpoint, mark the run directory, print the command that resumes it,
exit with 128 + the signal; a second signal exits at once). Called in Python as
`main([...])` (tests, notebooks) it leaves JAX's configuration and the signal handlers alone
unless `command=True`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

CACHE_ENV = "JAXSCI_COMPILATION_CACHE"


def compilation_cache() -> str | None:
    """Turn on JAX's persistent compilation cache, so that a second run of the same config
    (or a resumed one) reads its compiled programs from disk instead of compiling them again.

    Where: `$JAXSCI_COMPILATION_CACHE` if it names a directory, else
    `$XDG_CACHE_HOME/jaxsci/xla` (default `~/.cache/jaxsci/xla`), in a subdirectory per JAX
    and jaxlib version (`jax-0.10.2_jaxlib-0.10.2`), so `rm -rf ~/.cache/jaxsci/xla` clears it
    and entries of another version are never even looked at. JAX's own cache key holds the
    program, the jaxlib and backend versions, the devices and the compile options, so an entry
    is only used for the same program on the same kind of device.
    `JAXSCI_COMPILATION_CACHE=0` (or `off`) turns it off; a cache directory set through JAX
    itself (`JAX_COMPILATION_CACHE_DIR`) is left as it is.

    Every program is written, however quickly it compiled (JAX's default writes only those
    over 1 s): a PINN run compiles a hundred small programs, which together cost more than
    its big ones.

    **Returns:** the directory in use, or `None`."""
    import jax
    import jaxlib

    setting = os.environ.get(CACHE_ENV, "").strip()
    if setting.lower() in ("0", "off", "false", "no", "none"):
        return None
    if jax.config.jax_compilation_cache_dir:  # the user's own choice
        return jax.config.jax_compilation_cache_dir
    base = setting or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "jaxsci",
        "xla",
    )
    path = os.path.join(base, f"jax-{jax.__version__}_jaxlib-{jaxlib.__version__}")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        print(f"jaxsci: compilation cache off: cannot create {path}: {e.strerror}", file=sys.stderr)
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path


def main(argv: list[str] | None = None, *, command: bool | None = None) -> int:
    """`jaxsci ...` (`argv` default: the command line). `command`: set up the process as the
    command does (compilation cache, signal handling); default: when `argv` is `None`."""
    parser = argparse.ArgumentParser(prog="jaxsci", description="jaxsci experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    from .runs._run import solvers_help

    run = sub.add_parser(
        "run",
        help="run the experiment a config file describes, or resume a stopped run",
        description="Run the experiment a TOML config describes and write its run directory "
        "(config.toml, metrics.json, history, learning curve, trained model, plots), or "
        "continue a stopped run with --resume RUN_DIR. Solvers (`solver = ...` in the "
        "config):\n" + solvers_help(),
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
        help="override a config entry, e.g. train.steps=200 (with --resume: only those that "
        "leave the result alone, e.g. train.chunk_size)",
    )
    run.add_argument("--out", default=None, help="output directory (default: output_dir/NAME-TIME)")
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        default=None,
        help="continue the stopped run in RUN_DIR with its own config.toml: finished seeds "
        "are kept, the others continue from their checkpoints, to the result an "
        "uninterrupted run gives",
    )
    run.add_argument("--overwrite", action="store_true", help="replace the finished run in --out")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--list", action="store_true", help="list the problems, systems, tasks and shipped configs"
    )
    args = parser.parse_args(argv)
    if command is None:
        command = argv is None

    from . import runs, train

    if args.list:
        print(runs.catalogue())
        return 0
    if args.resume is not None and (args.config is not None or args.out or args.overwrite):
        parser.error("run: --resume RUN_DIR takes no CONFIG, --out or --overwrite")
    if args.config is None and args.resume is None:
        parser.error("run: give a CONFIG file, --resume RUN_DIR, or --list")
    if command:
        compilation_cache()
    train.initialize()  # joins a multi-process run when JAXSCI_COORDINATOR is set
    try:
        cfg = None if args.resume else runs.load_config(args.config, args.overrides)
    except (ValueError, FileNotFoundError, IsADirectoryError) as e:
        print(f"jaxsci: config error: {e}", file=sys.stderr)
        return 2
    # a progress bar only for a person watching: not when output goes to a file or pipe
    progress = not args.quiet and sys.stderr.isatty()
    from .runs._signals import stop_on_signals

    try:
        with stop_on_signals() if command else contextlib.nullcontext():
            if args.resume:
                m = runs.resume(args.resume, args.overrides, progress=progress)
            else:
                m = runs.run(cfg, args.out, progress=progress, overwrite=args.overwrite)
    except train.Interrupted as e:
        return _interrupted(e)
    except ValueError as e:  # a refusal, a bad config value, a checkpoint that cannot resume
        print(f"jaxsci: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, read-only directory: one line naming the path
        where = e.filename or ""
        print(f"jaxsci: cannot write {where}: {e.strerror or e}", file=sys.stderr)
        return 2
    for line in m["seed_lines"]:
        print(line)
    shown = ", ".join(str(p) for p in m["outputs"].values() if p)
    print(f"{m['summary']}\nwrote {m['out_dir']}: metrics.json, config.toml, {shown}")
    return 0 if m["ok"] else 1


def _interrupted(e) -> int:
    """Say where the stopped run stands and how to resume it; the exit status is 128 + the
    signal number (130 for SIGINT, 143 for SIGTERM), as a shell reports a process it stopped."""
    import signal

    record = getattr(e, "record", None) or {}
    run_dir = getattr(e, "run_dir", None)
    try:
        name = signal.Signals(e.signal).name
    except ValueError:
        name = str(e.signal)
    lines = [f"jaxsci: interrupted by {name}"]
    done = record.get("finished_seeds", [])
    if done:
        lines.append(f"  finished seeds: {done}")
    for name, step in record.get("checkpoints", {}).items():
        lines.append(f"  {name}: step {step}")
    if run_dir is not None:
        lines.append(f"resume with:\n  {record.get('resume')}")
    print("\n".join(lines), file=sys.stderr)
    return 128 + int(e.signal)


if __name__ == "__main__":
    sys.exit(main())
