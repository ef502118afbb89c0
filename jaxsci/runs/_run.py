"""`run` and `load`: one entry point for every solver's config, one run-directory layout."""

from __future__ import annotations

import glob
import os
import time

import jax

from . import _gp, _koopman, _pinn, _rundir, _ssm
from ._config import load_config

_RUNNERS = {"pinn": _pinn, "gp": _gp, "koopman": _koopman, "ssm": _ssm}


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

    **Returns:** the metrics written to `metrics.json`, with `out_dir`, a one-line `summary`
    and `ok` (false when training stopped at a non-finite step)."""
    runner = _RUNNERS[cfg.solver]
    mesh = getattr(cfg, "mesh", None)
    if mesh is not None:
        _host_devices(mesh.data)
    if out_dir is None:
        out_dir = os.path.join(cfg.output_dir, f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out_dir, exist_ok=True)
    _rundir.write_config(out_dir, cfg)
    metrics = runner.run(cfg, out_dir, progress)
    _rundir.write_metrics(out_dir, metrics)
    metrics["out_dir"] = out_dir
    return metrics


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
    if cfg.solver == "koopman":
        seeds = [cfg.data.seed]
    elif cfg.solver == "gp":
        seeds = [0]  # a deterministic solve: one model
    else:
        seeds = cfg.train.seeds
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
    return _RUNNERS[cfg.solver].load(cfg, run_dir, seed)


def catalogue(configs_dir: str | None = None) -> str:
    """The catalogue's problems, the dynamical systems, the SSM tasks and the configs shipped
    under `experiments/configs/` (or `configs_dir`), as text."""
    from .. import pde

    lines = ['problems (solver = "pinn" or "gp", [problem] name = ...):']
    for name, make in sorted(pde.PROBLEMS.items()):
        doc = (make.__doc__ or "").strip().splitlines()
        lines.append(f"  {name:24s} {doc[0] if doc else ''}")
    lines.append('systems (solver = "koopman", [system] name = ...):')
    lines.append("  " + ", ".join(sorted(_koopman._SYSTEMS)))
    lines.append('tasks (solver = "ssm", [task] name = ...): ' + ", ".join(_ssm._TASKS))
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
