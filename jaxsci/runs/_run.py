"""`run` and `load`: one entry point for every solver's config, one run-directory layout.

Every family module `runs/_<family>.py` registers its `Runner` (see `_runner.py`); this
module imports them all, so the registry is complete once `jaxsci.runs` is imported.
"""

from __future__ import annotations

import glob
import importlib
import os
import pkgutil
import time

import jax

from . import _rundir
from ._config import load_config
from ._runner import RUNNERS, Outcome

_INFRASTRUCTURE = {"_config", "_run", "_rundir", "_runner"}
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


def run(cfg, out_dir: str | None = None, *, progress: bool = True) -> dict:
    """Run the experiment `cfg` describes (a config from `load_config`) and write its run
    directory: `out_dir`, or `cfg.output_dir/NAME-TIME`. A config with `mesh.data = n > 1` on a
    CPU gets `n` host devices if JAX has not started yet (see `_host_devices`).

    **Returns:** the metrics written to `metrics.json`, with `out_dir`, the `Outcome`'s
    `outputs`, one-line `summary`, per-seed `seed_lines` and `ok` (false when a seed failed)."""
    runner = RUNNERS[cfg.solver]
    mesh = getattr(cfg, "mesh", None)
    if mesh is not None:
        _host_devices(mesh.data)
    if out_dir is None:
        out_dir = os.path.join(cfg.output_dir, f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out_dir, exist_ok=True)
    _rundir.write_config(out_dir, cfg)
    outcome = runner.run(cfg, out_dir, progress)
    if not isinstance(outcome, Outcome):
        raise TypeError(f"run: the {cfg.solver!r} runner returned {type(outcome).__name__}")
    _rundir.write_metrics(out_dir, outcome.metrics)
    return {
        **outcome.metrics,
        "outputs": outcome.outputs,
        "summary": outcome.summary,
        "seed_lines": outcome.seed_lines(),
        "ok": outcome.ok,
        "out_dir": out_dir,
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
