"""`run`, `resume` and `load`: one entry point for every solver's config, one run-directory
layout (`_rundir.py`), a run that survives being stopped.

A run holds its directory's lock (`_lock.py`) while it writes it, tags its checkpoints with
its config hash and solver (`train.checkpoint_tags`), marks each finished seed, and writes
`metrics.json` last. Stopped at any instant (a signal, Ctrl-C, SIGKILL), it is continued by
`resume(run_dir)` (`jaxsci run --resume RUN_DIR`) to what an uninterrupted run gives.

Every family module `runs/_<family>.py` registers its `Runner` (see `_runner.py`); this
module imports them all, so the registry is complete once `jaxsci.runs` is imported.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import pkgutil
import signal
import sys
import time

import jax

from .. import train
from . import _rundir
from ._config import load_config
from ._lock import RunLock, describe
from ._rundir import RunDirError
from ._runner import RUNNERS, Outcome
from ._signals import RUN

_INFRASTRUCTURE = {"_config", "_lock", "_run", "_rundir", "_runner", "_signals"}
for _module in pkgutil.iter_modules([os.path.dirname(__file__)]):
    if _module.name.startswith("_") and _module.name not in _INFRASTRUCTURE:
        importlib.import_module(f"{__package__}.{_module.name}")


def _host_devices(n: int) -> None:
    """On a CPU, split the host into `n` devices if JAX has not started yet: XLA runs one CPU
    device's element-wise work on one core, so points split over 2 host devices use both cores
    of a 2-core machine (1.15x to 1.5x faster steps for 4096 points; slower for ~1000 points,
    where the per-step exchange costs more than it saves). No effect on GPU or TPU devices, nor
    across processes (there `mesh.data` counts the devices of every process)."""
    if n > 1 and not jax.distributed.is_initialized():
        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError:  # JAX already started: the devices it has are the ones there are
            pass


def run(cfg, out_dir: str | None = None, *, progress: bool = True, overwrite: bool = False):
    """Run the experiment `cfg` describes (a config from `load_config`) and write its run
    directory: `out_dir`, or `cfg.output_dir/NAME-TIME`. A config with `mesh.data = n > 1` on a
    CPU gets `n` host devices if JAX has not started yet (see `_host_devices`).

    A directory that already holds a run is refused (`RunDirError`): a finished one unless
    `overwrite=True` (its files are removed first), an unfinished one too (continue it with
    `resume`). A directory another live process is writing is refused whatever `overwrite`
    says, naming that process (`_lock.py`).

    **Returns:** the metrics written to `metrics.json`, with `out_dir`, the `Outcome`'s
    `outputs`, one-line `summary`, per-seed `seed_lines`, `ok` (false when a seed failed) and
    `notes` (lines for a person, also printed on stderr: a stale lock taken over).

    **Raises:** `train.Interrupted` (a `KeyboardInterrupt`) when a signal or Ctrl-C stopped the
    run; its directory is then marked `INTERRUPTED` and `resume(out_dir)` continues it."""
    runner = RUNNERS[cfg.solver]
    mesh = getattr(cfg, "mesh", None)
    if mesh is not None:
        _host_devices(mesh.data)
    if out_dir is None:
        out_dir = os.path.join(cfg.output_dir, f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out_dir, exist_ok=True)
    with RunLock.acquire(out_dir) as lock:
        status = _rundir.status(out_dir)
        if status != "empty" and not overwrite:
            raise RunDirError(_occupied(out_dir, status))
        if status != "empty":
            _rundir.clear(out_dir)
        _rundir.write_config(out_dir, cfg)
        try:
            return _execute(runner, cfg, out_dir, progress, lock)
        except Exception:
            # a config the runner refused, or a failure before anything was computed: leave no
            # run behind (the directory is as it was), so the corrected command can use it
            if not _rundir.has_results(out_dir):
                os.remove(os.path.join(out_dir, _rundir.CONFIG_FILE))
            raise


def resume(run_dir: str, overrides: list[str] = (), *, progress: bool = True):
    """Continue the run in `run_dir` (interrupted, or killed) with its own `config.toml`:
    finished seeds are kept, the others continue from their checkpoints, and the run directory
    ends as an uninterrupted run's would (the parameters and losses to the bit).

    `overrides` (`key=value`) may change only what leaves the result alone
    (`Runner.resumable_overrides`, e.g. `train.chunk_size`); any other is refused, naming the
    keys. A finished run is left as it is.

    **Returns:** as `run` (`notes` says when there was nothing to resume)."""
    cfg = resume_config(run_dir, overrides)
    runner = RUNNERS[cfg.solver]
    mesh = getattr(cfg, "mesh", None)
    if mesh is not None:
        _host_devices(mesh.data)
    with RunLock.acquire(run_dir) as lock:
        if _rundir.status(run_dir) == "finished":
            return _finished(run_dir)
        _rundir.write_config(run_dir, cfg)
        return _execute(runner, cfg, run_dir, progress, lock)


def resume_config(run_dir: str, overrides: list[str] = ()):
    """The config of the run in `run_dir` with `overrides` applied, refused (`ValueError`
    naming the keys) when an override would change the result."""
    path = os.path.join(run_dir, _rundir.CONFIG_FILE)
    if not os.path.isfile(path):
        raise RunDirError(f"{run_dir} is not a run directory (no {_rundir.CONFIG_FILE})")
    saved = load_config(path)
    cfg = load_config(path, list(overrides))
    before, after = _rundir.flat_config(saved), _rundir.flat_config(cfg)
    allowed = set(RUNNERS[saved.solver].resumable_overrides(saved)) | {"output_dir"}
    changed = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    refused = [k for k in changed if k not in allowed]
    if refused:
        what = ", ".join(f"{k} ({before.get(k)!r} -> {after.get(k)!r})" for k in refused)
        raise ValueError(
            f"--resume {run_dir}: --set {what} would change the result of the run it resumes "
            f"(its config: {path}); overrides allowed when resuming: {sorted(allowed)}. Start "
            f"a new run for another config"
        )
    return cfg


def _occupied(out_dir: str, status: str) -> str:
    if status == "finished":
        return (
            f"{out_dir} holds a finished run ({os.path.join(out_dir, _rundir.METRICS_FILE)}): "
            "choose another --out, or pass --overwrite to replace it"
        )
    return (
        f"{out_dir} holds an unfinished run ({os.path.join(out_dir, _rundir.CONFIG_FILE)}, no "
        f"{_rundir.METRICS_FILE}): continue it with `{_rundir.resume_command(out_dir)}`, or pass "
        "--overwrite to start it again"
    )


def _execute(runner, cfg, out_dir: str, progress: bool, lock: RunLock) -> dict:
    """Run `cfg` in the locked `out_dir` (fresh or being resumed) and write `metrics.json`."""
    notes = []
    if lock.took_over:  # said at once: the run may take hours
        notes.append(f"took over the stale lock of {describe(lock.took_over)}: it is gone")
        print(f"jaxsci: {notes[-1]}", file=sys.stderr, flush=True)
    RUN.run_dir, RUN.lock = out_dir, lock
    harmless = set(runner.resumable_overrides(cfg)) | {"output_dir"}
    tags = {"config": _rundir.config_hash(cfg, harmless), "solver": cfg.solver}
    try:
        with train.checkpoint_tags(**tags):
            outcome = runner.run(cfg, out_dir, progress)
    except KeyboardInterrupt as e:  # train.Interrupted (a signal), or Ctrl-C in Python
        signum = getattr(e, "signal", signal.SIGINT)
        with RUN.marked:
            e.record = _rundir.mark_interrupted(out_dir, signum)
            lock.release()
        e.run_dir = out_dir
        raise
    finally:
        RUN.run_dir, RUN.lock = None, None
    if not isinstance(outcome, Outcome):
        raise TypeError(f"run: the {cfg.solver!r} runner returned {type(outcome).__name__}")
    _rundir.write_metrics(out_dir, outcome.metrics)
    _rundir.unmark_interrupted(out_dir)
    _rundir.remove_partial_writes(out_dir)
    return {
        **outcome.metrics,
        "outputs": outcome.outputs,
        "summary": outcome.summary,
        "seed_lines": outcome.seed_lines(),
        "ok": outcome.ok,
        "out_dir": out_dir,
        "notes": notes,
    }


def _finished(run_dir: str) -> dict:
    with open(os.path.join(run_dir, _rundir.METRICS_FILE)) as f:
        metrics = json.load(f)
    outcome = Outcome(metrics, {}, f"{run_dir} had finished: nothing to resume")
    return {
        **metrics,
        "outputs": {},
        "summary": outcome.summary,
        "seed_lines": outcome.seed_lines(),
        "ok": all(r.get("result", "successful") == "successful" for r in metrics.get("runs", [])),
        "out_dir": run_dir,
        "notes": [],
    }


def load(run_dir: str, seed: int | None = None):
    """The trained model of a run directory, ready for the user's own jitted code.

    - PINN runs: the `PINNSolution` (`sol(points)`, `sol.error()`, `sol.field`).
    - GP runs: the `GPSolution` (`sol(points)`, `sol.error()`; float64).
    - SSM runs: the trained `SequenceModel`.
    - Koopman runs: the fitted `KoopmanModel`.

    `seed` picks one of the config's seeds (default: the first). The structure is rebuilt from
    `RUN_DIR/config.toml` and the arrays read from `RUN_DIR/model_seed{seed}.eqx`. Pass modules
    to jitted functions as arguments (`eqx.filter_jit(lambda m, x: m(x))(model, x)`)."""
    path = os.path.join(run_dir, _rundir.CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"load: {run_dir!r} is not a run directory (no {_rundir.CONFIG_FILE})"
        )
    cfg = load_config(path)
    runner = RUNNERS[cfg.solver]
    seeds = runner.seeds(cfg)
    seed = seeds[0] if seed is None else seed
    if seed not in seeds:
        raise ValueError(f"load: `seed` {seed} was not run; the config's seeds are {seeds}")
    model = _rundir.model_path(run_dir, seed)
    if not os.path.isfile(model):
        found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(run_dir, "*.eqx")))
        raise FileNotFoundError(
            f"load: {run_dir!r} has no trained model for seed {seed} ({os.path.basename(model)} "
            f"missing; the run may have been interrupted before it finished). Found: "
            f"{found or 'no checkpoints'}"
        )
    return runner.load(cfg, run_dir, seed)


def solvers_help() -> str:
    """One line per registered solver family, for `jaxsci run --help`."""
    return "\n".join(f"  {name:8s} {r.description}" for name, r in sorted(RUNNERS.items()))


def catalogue(configs_dir: str | None = None) -> str:
    """What every registered family's configs can name (problems, systems, tasks) and the
    configs shipped under `experiments/configs/` (or `configs_dir`), as text."""
    lines = ["solvers (solver = ...):", solvers_help()]
    for name in sorted(RUNNERS):
        lines.extend(RUNNERS[name].catalogue())
    if configs_dir is None:
        here = os.path.dirname(os.path.abspath(__file__))
        configs_dir = os.path.join(here, "..", "..", "experiments", "configs")
        if not os.path.isdir(configs_dir):
            configs_dir = os.path.join(os.getcwd(), "experiments", "configs")
    paths = sorted(glob.glob(os.path.join(configs_dir, "*.toml")))
    lines.append(f"configs ({os.path.normpath(configs_dir)}):" if paths else "configs: none found")
    for p in paths:
        with open(p) as f:
            first = f.readline().strip().lstrip("# ")
        lines.append(f"  {os.path.relpath(p):48s} {first}")
    return "\n".join(lines)
