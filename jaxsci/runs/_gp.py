"""GP runs: a catalogue problem solved by `jaxsci.gp.solve` (spectral-mixture kernels from the
source's spectrum, collocation on a tensor grid), in float64; the error against the exact
solution, the wall time and the solution plot."""

from __future__ import annotations

import json
import os
import time
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from .. import gp, pde, pinn
from ..train import Loop, checkpoint_tags
from . import _rundir
from ._config import ProblemConfig, library_default, setting
from ._runner import Outcome, Runner, register


@dataclass
class SolverConfig:
    """`[gp.solver]`: the solver path, `gp.solve`'s `solver`. `kind = "auto"` (the default) is
    `gp.AutoSolver` (its paths' settings in `[gp.solver.dense]`, `[gp.solver.gauss_newton]`,
    ...), `"dense"`, `"gauss_newton"`, `"kronecker"`, `"newton_krylov"` that solver."""

    KINDS = {
        "auto": gp.AutoSolver,
        "dense": gp.Dense,
        "gauss_newton": gp.GaussNewton,
        "kronecker": gp.Kronecker,
        "newton_krylov": gp.NewtonKrylov,
    }


@dataclass
class GPConfig:
    """`[gp]`: the grid, and `gp.solve`'s option objects as sub-tables: `[gp.solver]`,
    `[gp.kernel]` (`gp.DefaultKernel`) and `[gp.train]` (`gp.TrainKernel`; absent: no
    training). The defaults are the library's."""

    # points per dimension (one: every dimension); absent: gp.solve's default
    grid: list[int] | None = setting(library_default(gp.solve, "grid"), "non-empty")
    tol: float | None = setting(library_default(gp.solve, "tol"), "positive")  # refine to it
    solver: SolverConfig = setting(default_factory=gp.AutoSolver)  # chosen by `kind`
    kernel: gp.DefaultKernel = setting(default_factory=gp.DefaultKernel)
    train: gp.TrainKernel | None = None
    # kernel training's steps between checkpoints (`train.Loop`; a run stopped by a signal
    # checkpoints the step it reached, a killed one resumes from the last chunk's end)
    chunk_size: int = setting(library_default(Loop, "chunk_size"), "positive")

    # where the settings of the earlier flat `[gp]` section went
    MOVED = {
        "method": "gp.solver.kind ('dense' for 'linear', 'gauss_newton')",
        "components": "gp.kernel.components",
        "envelope": "gp.kernel.envelope",
        "regularisation": "gp.solver.regularisation (of kind 'dense', 'gauss_newton', "
        "'kronecker' or 'newton_krylov'; under kind 'auto': gp.solver.dense.regularisation, "
        "gp.solver.gauss_newton.regularisation, ...)",
        "steps": "gp.solver.steps (of kind 'gauss_newton' or 'newton_krylov'; under kind "
        "'auto': gp.solver.gauss_newton.steps and gp.solver.newton_krylov.steps)",
        "max_points": "gp.solver.max_points (kind 'auto')",
        "train_kernel": "gp.train.mode (a table: [gp.train])",
        "kernel_steps": "gp.train.steps",
    }


@dataclass
class GPRunConfig:
    solver: str = "gp"
    problem: ProblemConfig = setting(default_factory=lambda: ProblemConfig("gp_p1"))
    gp: GPConfig = setting(default_factory=GPConfig)
    output_dir: str = "runs"
    plot: bool = True

    @property
    def name(self) -> str:
        return self.problem.name


def _grid(cfg: GPRunConfig, problem: pde.Problem):
    g = cfg.gp.grid
    if g is None:
        return None
    if len(g) not in (1, problem.dim) or any(n < 2 for n in g):
        raise ValueError(
            f"gp.grid: expected 1 or {problem.dim} sizes >= 2 for {cfg.problem.name!r}, got {g}"
        )
    return g[0] if len(g) == 1 else list(g)


def _solve(cfg: GPRunConfig, out_dir: str | None = None, progress: bool = False):
    """`gp.solve` as a user writes it; kernel training (when `[gp.train]` is set) checkpoints
    to `out_dir` and continues from the checkpoint a stopped run left there."""
    c = cfg.gp
    problem = pde.get_problem(cfg.problem.name, **cfg.problem.args)
    grid = _grid(cfg, problem)
    loop = None
    if c.train is not None and out_dir is not None:
        loop = Loop(
            chunk_size=min(c.chunk_size, c.train.steps),
            checkpoint=os.path.join(out_dir, "checkpoint_seed0.eqx"),
            resume=True,  # from the checkpoint a stopped run left (a fresh run has none)
            progress=progress,
        )
    with checkpoint_tags(seed=0):
        return gp.solve(
            problem,
            c.kernel,
            grid,
            solver=c.solver,
            train=c.train,
            tol=c.tol,
            loop=loop,
            throw=False,
        )


def run(cfg: GPRunConfig, out_dir: str, progress: bool) -> Outcome:
    with jax.enable_x64(True), warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # float32 would only give ~1e-4
        t0 = time.perf_counter()
        sol = _solve(cfg, out_dir, progress)
        wall = time.perf_counter() - t0
        err = float(sol.error()) if sol.problem.has_truth else float("nan")
        _rundir.save_model(_rundir.model_path(out_dir, 0), (sol.kernel, sol.coefficients))
        loss = sol.history.get("kernel_loss", sol.history.get("residual"))
        if loss is not None:
            _rundir.write_history(out_dir, 0, {"loss": loss})
        metrics = {
            "solver": "gp",
            "problem": cfg.problem.name,
            "rel_l2": err,
            "wall_s": wall,
            "steps": int(sol.stats["steps"]),
            "method": sol.stats["method"],
            "points": int(np.prod(sol.shape)),
            "grid": list(sol.shape),
            "frequencies": [np.asarray(f).tolist() for f in sol.stats.get("frequencies", [])],
            "weights": [np.asarray(w).tolist() for w in sol.stats.get("weights", [])],
            "converged": sol.stats.get("converged"),
            "runs": [
                {
                    "seed": 0,
                    "result": sol.result.name,
                    "rel_l2": err,
                    "wall_s": wall,
                    "failed_step": None,
                }
            ],
        }
        if cfg.gp.tol is not None:
            metrics["error_estimate"] = float(sol.stats["estimate"])
            metrics["runs"][0]["error_estimate"] = metrics["error_estimate"]
            metrics["grids"] = [list(g) for g in sol.stats["grids"]]
        outputs = {}
        if cfg.plot:
            outputs["solution"] = pinn.plot_solution(sol, os.path.join(out_dir, "solution.png"))
    summary = (
        f"{cfg.problem.name}: relative L2 {err:.3e} (GP, {metrics['method']}, "
        f"{metrics['points']} grid points), wall {wall:.1f} s"
    )
    finite = bool(np.isfinite(err) or not sol.problem.has_truth)
    return Outcome(metrics, outputs, summary, sol.result.ok and finite)


def load(cfg: GPRunConfig, run_dir: str, seed: int) -> gp.GPSolution:
    """The `GPSolution`: the kernel structure and grid are rebuilt (the grid the run ended on,
    from its `metrics.json`, else from the config; the frequencies read from the source, no
    solve), the kernel and coefficients read back."""
    with jax.enable_x64(True):
        problem = pde.get_problem(cfg.problem.name, **cfg.problem.args)
        metrics_path = os.path.join(run_dir, "metrics.json")
        if os.path.exists(metrics_path):
            with open(metrics_path) as f:
                grid = json.load(f).get("grid") or _grid(cfg, problem)
        else:
            grid = _grid(cfg, problem)
        if grid is None:
            raise ValueError(f"{metrics_path}: no `grid` recorded, and the config names none")
        sizes = [grid] * problem.dim if isinstance(grid, int) else grid
        dom = problem.domain
        axes = [
            jnp.linspace(lo, hi, n) for lo, hi, n in zip(dom.lower, dom.upper, sizes, strict=True)
        ]
        kernel = cfg.gp.kernel(problem, axes)
        coefficients = jnp.zeros(int(np.prod(sizes)))
        kernel, coefficients = _rundir.load_model(
            _rundir.model_path(run_dir, seed), (kernel, coefficients)
        )
        points = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))
        return gp.GPSolution(
            kernel, coefficients, points, tuple(sizes), problem, problem.params, {}, {}
        )


@register
class GPRunner(Runner):
    name = "gp"
    config = GPRunConfig
    description = "a GP spectral-mixture collocation solve of a catalogue problem (gp.solve)"

    run = staticmethod(run)
    load = staticmethod(load)

    def seeds(self, cfg):
        return [0]  # a deterministic solve: one model

    def resumable_overrides(self, cfg) -> tuple[str, ...]:
        return ("gp.chunk_size",)  # the iterates of kernel training do not depend on it
