"""PINN runs: a catalogue problem, a field (`[field] kind = "mlp"` or `"pig"`) and a training
recipe (Adam, then optionally L-BFGS), one solve per seed. The config and the field it
describes are `_pinn_config.py`; this module is the runner.

Each seed's row holds the true error where the problem has one (`rel_l2`) and
`PINNSolution.error_estimate()` (`error_estimate`; `error_estimate_s` its time, not counted in
`wall_s`) where the problem has none, or beside the true error with `[train] error_estimate =
true`: a problem without an exact solution gets a number."""

from __future__ import annotations

import functools
import json
import os
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import pde, pinn, train
from ..train._atomic import write_atomically
from . import _rundir
from ._pinn_config import PINNRunConfig, build_field, problem_as_trained
from ._runner import Outcome, Runner, register


def _keys(seed: int):
    return jax.random.split(jax.random.key(seed))  # (field, training)


def _error_on_grid(problem: pde.Problem):
    """`field -> rel. L2` on `PINNSolution.error`'s grid, jitted, the truth computed once (for
    `train.error_curve`)."""
    if not problem.has_truth:
        raise ValueError(
            f"train.error_curve: problem {problem.name!r} has no exact or reference solution"
        )
    points = pinn.evaluation_points(problem)
    true = problem.exact_values(points)
    return eqx.filter_jit(
        lambda field: pinn.solution_error(
            jax.vmap(field)(points).reshape(true.shape), true, problem
        )
    )


def _saved(sol: pinn.PINNSolution, problem: pde.Problem):
    """What a model file holds: the field, the learned eigenvalue (if any), the final points."""
    learned = (
        {} if problem.eigenvalue is None else {problem.eigenvalue: sol.params[problem.eigenvalue]}
    )
    return sol.field, learned, sol.points


def _optimizer(cfg: PINNRunConfig):
    """The first phase's optimiser: `pinn.Adam` itself, or an `optax.lbfgs`."""
    if isinstance(cfg.optimizer, pinn.Adam):
        return cfg.optimizer
    opt = cfg.optimizer
    return pinn.LBFGSPhase(memory=opt.memory, max_linesearch=opt.max_linesearch).transformation()


def _solve(cfg: PINNRunConfig, problem, seed: int, out_dir: str, progress, mesh, callback):
    """`pinn.solve` of one seed, exactly the call a user would write."""
    tc = cfg.train
    kf, ks = _keys(seed)
    return pinn.solve(
        problem,
        build_field(cfg, problem, kf),
        _optimizer(cfg),
        key=ks,
        steps=tc.steps,
        sampling=cfg.sampling,
        weighting=cfg.weighting,
        lbfgs=cfg.lbfgs,
        hard_dirichlet=tc.hard_dirichlet,
        loop=train.Loop(
            chunk_size=tc.chunk_size,
            checkpoint=os.path.join(out_dir, f"checkpoint_seed{seed}.eqx"),
            resume=True,  # from the checkpoints a stopped run left (a fresh run has none)
            progress=progress,
            callback=callback,
            mesh=mesh,
        ),
        throw=False,
    )


def _read_curve(path: str) -> list:
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return json.load(f)


@functools.lru_cache(maxsize=4)
def _catalogue_problem(name: str, args: str, dtype: str) -> pde.Problem:
    """One problem object per (name, args, default float dtype) for the process: the
    estimate's compiled blocks are cached by the problem's functions, and a new `get_problem`
    builds new ones."""
    del dtype  # a key only: the problem's arrays are built in the run's precision
    return pde.get_problem(name, **json.loads(args))


def _error_estimate(cfg: PINNRunConfig, sol: pinn.PINNSolution) -> float:
    """`sol.error_estimate()` against the catalogue problem itself: the conditions the field
    imposes exactly (left out of training, `field.hard_initial`, `periodic_axes`) still hold
    the correction to them."""
    args = json.dumps(cfg.problem.args, sort_keys=True)
    full = _catalogue_problem(cfg.problem.name, args, jnp.zeros(()).dtype.name)
    full = eqx.tree_at(lambda p: p.params, full, sol.params)
    return float(eqx.tree_at(lambda s: s.problem, sol, full).error_estimate())


def _solve_seed(cfg: PINNRunConfig, problem, seed: int, out_dir: str, progress, mesh, error_of):
    """One seed's `pinn.solve` (continued from its checkpoints when a stopped run left them)
    and its row."""
    t0 = time.perf_counter()
    # [step, wall s, rel. L2] after every chunk (train.error_curve), on disk before the chunk's
    # checkpoint: a resumed seed continues the curve of the process that was stopped
    curve_path = os.path.join(out_dir, f"error_curve_seed{seed}.json")
    curve = _read_curve(curve_path) if error_of is not None else []
    wall0 = curve[-1][1] if curve else 0.0

    def record(step, field):
        while curve and curve[-1][0] >= step:  # recorded before a checkpoint that was lost
            curve.pop()
        curve.append([step, wall0 + time.perf_counter() - t0, float(error_of(field))])
        write_atomically(curve_path, json.dumps(curve))

    callback = None if error_of is None else record
    with train.checkpoint_tags(seed=seed):
        sol = _solve(cfg, problem, seed, out_dir, progress, mesh, callback)
    kind = cfg.optimizer.kind if hasattr(cfg.optimizer, "kind") else "adam"
    names = {"first": kind, "lbfgs": "lbfgs" if kind == "adam" else "lbfgs_2"}
    phases = {names[p]: st for p, st in sol.stats["phases"].items() if p in names}
    wall = time.perf_counter() - t0
    steps = sum(st["steps"] for st in phases.values())
    row = {
        "seed": seed,
        "rel_l2": sol.error() if problem.has_truth else float("nan"),
        "wall_s": wall,
        "steps": steps,
        "steps_per_s": steps / wall,
        **{f"{p}_steps_per_s": st["steps_per_s"] for p, st in phases.items()},
        "result": sol.result.name,
        "failed_step": sol.stats["failed_step"],
        "final_loss": float(sol.history["loss"][-1]) if sol.history else None,
    }
    estimate = cfg.train.error_estimate
    if estimate is True or (estimate == "auto" and not problem.has_truth):
        t1 = time.perf_counter()
        row["error_estimate"] = _error_estimate(cfg, sol)
        row["error_estimate_s"] = time.perf_counter() - t1
    if error_of is not None:
        row["error_curve"] = curve
    if problem.eigenvalue is not None:
        row["eigenvalue"] = float(sol.params[problem.eigenvalue])
        row["rayleigh_quotient"] = sol.rayleigh_quotient()
    return sol, row


def run(cfg: PINNRunConfig, out_dir: str, progress: bool) -> dict:
    tc = cfg.train
    with jax.enable_x64(tc.float64):
        problem = problem_as_trained(cfg)
        if cfg.mesh.data > jax.device_count():
            raise ValueError(
                f"mesh.data: {cfg.mesh.data} devices asked for, {jax.device_count()} available"
            )
        mesh = train.data_mesh(cfg.mesh.data) if cfg.mesh.data > 1 else None
        error_of = _error_on_grid(problem) if tc.error_curve else None
        runs, histories, first = [], {}, None
        for seed in tc.seeds:
            row = _rundir.finished_row(out_dir, seed)  # a resumed run keeps finished seeds
            if row is not None:
                histories[seed] = _rundir.read_history(out_dir, seed)
                first = first or (load(cfg, out_dir, seed) if cfg.plot else None)
            else:
                sol, row = _solve_seed(cfg, problem, seed, out_dir, progress, mesh, error_of)
                histories[seed] = sol.history
                _rundir.save_model(_rundir.model_path(out_dir, seed), _saved(sol, problem))
                _rundir.write_history(out_dir, seed, sol.history)
                _rundir.write_row(out_dir, seed, row)
                first = first or sol
            runs.append(row)
        errs = np.array([r["rel_l2"] for r in runs])
        metrics = {
            "solver": "pinn",
            "problem": cfg.problem.name,
            "field": cfg.field.kind,
            "mesh": {"data": cfg.mesh.data},
            "rel_l2": float(np.mean(errs)),
            "rel_l2_std": float(np.std(errs)),
            "wall_s": float(np.mean([r["wall_s"] for r in runs])),
            **_mean_estimate(runs),
            "steps": runs[0]["steps"],
            "runs": runs,
        }
        outputs = {"learning_curve": _rundir.plot_learning_curves(out_dir, histories, cfg.name)}
        if cfg.plot:
            outputs["solution"] = pinn.plot_solution(first, os.path.join(out_dir, "solution.png"))
    return Outcome(
        metrics,
        outputs,
        f"{cfg.problem.name}: relative L2 {metrics['rel_l2']:.3e} (+- {metrics['rel_l2_std']:.1e}"
        f" over {len(runs)} seed(s)), wall {metrics['wall_s']:.1f} s per seed, "
        f"{metrics['steps']} steps"
        + (
            f", error estimate {metrics['error_estimate']:.1e}"
            if "error_estimate" in metrics
            else ""
        ),
        all(r["result"] == "successful" for r in runs),
    )


def _mean_estimate(runs: list[dict]) -> dict:
    """The seeds' mean error estimate, where the rows have one."""
    estimates = [r["error_estimate"] for r in runs if "error_estimate" in r]
    return {"error_estimate": float(np.mean(estimates))} if estimates else {}


def load(cfg: PINNRunConfig, run_dir: str, seed: int) -> pinn.PINNSolution:
    """The trained `PINNSolution` of `seed` (no history; `stats` empty)."""
    tc = cfg.train
    with jax.enable_x64(tc.float64):
        problem = problem_as_trained(cfg)
        kf, ks = _keys(seed)

        def skeleton():
            field, _ = pinn.constrained(problem, build_field(cfg, problem, kf), tc.hard_dirichlet)
            learned = (
                {}
                if problem.eigenvalue is None
                else {
                    problem.eigenvalue: jax.numpy.asarray(problem.params[problem.eigenvalue], float)
                }
            )
            points = problem.domain.sample(ks, cfg.sampling.n_interior, method=cfg.sampling.method)
            return field, learned, points

        like = eqx.filter_eval_shape(skeleton)
        field, learned, points = _rundir.load_model(_rundir.model_path(run_dir, seed), like)
        params = {**problem.params, **learned} if learned else problem.params
        solved = eqx.tree_at(lambda p: p.params, problem, params) if learned else problem
        return pinn.PINNSolution(field, params, solved, points, {}, {})


@register
class PINNRunner(Runner):
    name = "pinn"
    config = PINNRunConfig
    description = "a physics-informed MLP or PIG field on a catalogue problem (pinn.solve)"

    run = staticmethod(run)
    load = staticmethod(load)

    def resumable_overrides(self, cfg):
        # the error curve is sampled at the ends of chunks: with it, the chunk size is a result
        return () if cfg.train.error_curve else ("train.chunk_size",)

    def catalogue(self):
        lines = ['problems (solver = "pinn" or "gp", [problem] name = ...):']
        for name, make in sorted(pde.PROBLEMS.items()):
            doc = (make.__doc__ or "").strip().splitlines()
            lines.append(f"  {name:24s} {doc[0] if doc else ''}")
        return lines
