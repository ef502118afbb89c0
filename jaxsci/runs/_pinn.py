"""PINN runs: a catalogue problem, a field (`[field] kind = "mlp"` or `"pig"`) and a training
recipe (Adam, then optionally L-BFGS), one solve per seed."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import equinox as eqx
import jax
import numpy as np

from .. import pde, pinn, train
from ..train._atomic import write_atomically
from . import _rundir
from ._config import ProblemConfig, library_default, setting
from ._runner import Outcome, Runner, register

_mlp = lambda name: library_default(pinn.MLP, name)  # noqa: E731
_pig = lambda name: library_default(pinn.PIG, name)  # noqa: E731


@dataclass
class MLPFieldConfig:
    kind: str = "mlp"
    width: int = setting(_mlp("width"), "positive")
    depth: int = setting(_mlp("depth"), "positive")
    activation: str = _mlp("activation")  # checked by pinn.MLP
    fourier_features: int = setting(0, "non-negative")  # 0: no Fourier-feature embedding
    fourier_scale: float = setting(library_default(pinn.FourierFeatures, "scale"), "positive")
    factorisation: bool = False  # random weight factorisation (mean 1.0, std 0.1)
    hard_initial: bool = False  # the initial value exactly: u0(x) + (t - t0)/(t1 - t0) N(x, t)
    periodic_axes: list[int] = setting([])


@dataclass
class PIGFieldConfig:
    """Physics-Informed Gaussians (`pinn.PIG`): `n_gaussians` per channel feeding a tiny MLP;
    `cutoff`, `max_scale` and `block` 0 mean the library's `None`."""

    kind: str = "pig"
    n_gaussians: int = setting(400, "positive")
    channels: int = setting(_pig("channels"), "positive")
    hidden: int = setting(_pig("hidden"), "positive")
    activation: str = _pig("activation")
    scale: float = setting(_pig("scale"), "positive")  # initial sigma, a fraction of the side
    covariance: str = _pig("covariance")
    init: str = _pig("init")
    weight_std: float = setting(_pig("weight_std"), "positive")
    cutoff: float = setting(0.0, "non-negative")  # in units of sigma; 0: dense evaluation
    max_scale: float = setting(0.0, "non-negative")  # cap on sigma; 0: 4 x scale
    block: int = setting(0, "non-negative")  # Gaussians per block of the dense sum; 0: one
    hard_initial: bool = False  # as the MLP's


@dataclass
class FieldConfig:
    """The `[field]` section: its settings depend on `kind`."""

    KINDS = {"mlp": MLPFieldConfig, "pig": PIGFieldConfig}


@dataclass
class LBFGSOptimizerConfig:
    """`[optimizer] kind = "lbfgs"`: the first phase is L-BFGS with a zoom line search."""

    kind: str = "lbfgs"
    memory: int = setting(library_default(pinn.LBFGSPhase, "memory"), "positive")


@dataclass
class OptimizerConfig:
    """The `[optimizer]` section: `kind = "adam"` is `pinn.Adam` (the default of
    `pinn.solve`), `"lbfgs"` an `optax.lbfgs`."""

    KINDS = {"adam": pinn.Adam, "lbfgs": LBFGSOptimizerConfig}


@dataclass
class TrainConfig:
    steps: int = setting(library_default(pinn.solve, "steps"), "non-negative")
    # "auto", true or false
    hard_dirichlet: bool | str = library_default(pinn.solve, "hard_dirichlet")
    chunk_size: int = setting(library_default(train.Loop, "chunk_size"), "positive")
    # record the relative L2 error on the evaluation grid after every chunk (metrics.json's
    # `error_curve` of each run: [step, wall s, rel. L2]; its time counts in the wall time)
    error_curve: bool = False
    seeds: list[int] = setting([0], "non-empty")
    float64: bool = False

    # where the settings of the earlier `[train]` section went
    MOVED = {
        **{k: f"sampling.{k}" for k in ("n_interior", "n_boundary", "resample_every")},
        "resample_boundary": "sampling.resample_boundary",
        "sampler": "sampling.method",
        "adaptive_every": "sampling.adaptive.every",
        "adaptive_candidates": "sampling.adaptive.n_candidates",
        "adaptive_replace": "sampling.adaptive.n_replace",
        "residual_weight": "weighting.residual",
        "balancing": "weighting.balancing (a table: [weighting.balancing])",
        "causal_chunks": "weighting.causal.n_chunks",
        "causal_tolerance": "weighting.causal.tolerance",
        "lbfgs_steps": "lbfgs.steps",
        "lbfgs_memory": "lbfgs.memory",
        "optimizer": "optimizer.kind",
        "learning_rate": "optimizer.learning_rate",
        "decay_rate": "optimizer.decay_rate",
        "decay_steps": "optimizer.decay_steps",
    }


@dataclass
class MeshConfig:
    data: int = setting(1, "positive")  # devices the collocation points are split over


@dataclass
class PINNRunConfig:
    """A PINN run: `[sampling]`, `[weighting]`, `[optimizer]` and `[lbfgs]` are
    `pinn.Sampling`, `pinn.Weighting`, `pinn.Adam` and `pinn.LBFGSPhase` themselves, so a
    config and the same `pinn.solve` call in Python give the same result."""

    solver: str = "pinn"
    problem: ProblemConfig = setting(default_factory=ProblemConfig)
    field: FieldConfig = setting(default_factory=MLPFieldConfig)  # chosen by `kind`
    optimizer: OptimizerConfig = setting(default_factory=pinn.Adam)  # chosen by `kind`
    sampling: pinn.Sampling = setting(default_factory=pinn.Sampling)
    weighting: pinn.Weighting = setting(default_factory=pinn.Weighting)
    lbfgs: pinn.LBFGSPhase = setting(default_factory=pinn.LBFGSPhase)
    train: TrainConfig = setting(default_factory=TrainConfig)
    mesh: MeshConfig = setting(default_factory=MeshConfig)
    output_dir: str = "runs"
    plot: bool = True

    @property
    def name(self) -> str:
        return self.problem.name


def build_field(cfg: PINNRunConfig, problem: pde.Problem, key) -> pinn.AbstractField:
    """The field a config describes, initialised from `key`."""
    fc = cfg.field
    kemb, kmlp = jax.random.split(key)
    out = "scalar" if problem.n_outputs == 0 else problem.n_outputs
    if fc.kind == "pig":
        field = pinn.PIG(
            problem.domain,
            fc.n_gaussians,
            channels=fc.channels,
            hidden=fc.hidden,
            activation=fc.activation,
            scale=fc.scale,
            covariance=fc.covariance,
            init=fc.init,
            weight_std=fc.weight_std,
            out_size=out,
            cutoff=fc.cutoff or None,
            max_scale=fc.max_scale or None,
            block=fc.block or None,
            key=kmlp,
        )
        return _hard(field, cfg, problem)
    embedding = None
    if fc.fourier_features and fc.periodic_axes:
        raise ValueError("field: use either `fourier_features` or `periodic_axes`, not both")
    if fc.fourier_features:
        embedding = pinn.FourierFeatures(
            problem.dim, fc.fourier_features, fc.fourier_scale, key=kemb
        )
    if fc.periodic_axes:
        periods = [problem.domain.upper[a] - problem.domain.lower[a] for a in fc.periodic_axes]
        embedding = pinn.PeriodicEmbedding(problem.dim, fc.periodic_axes, periods)
    field = pinn.MLP(
        problem.dim,
        out,
        fc.width,
        fc.depth,
        fc.activation,
        embedding,
        (1.0, 0.1) if fc.factorisation else None,
        key=kmlp,
    )
    return _hard(field, cfg, problem)


def _hard(field, cfg: PINNRunConfig, problem: pde.Problem) -> pinn.AbstractField:
    """The field with the initial value of the catalogue problem imposed exactly when the
    config asks for it (`problem` is trained without it); zero Dirichlet data is `pinn.solve`'s
    own `hard_dirichlet`."""
    fc = cfg.field
    if fc.hard_initial:
        try:
            full = pde.get_problem(cfg.problem.name, **cfg.problem.args)
            field = pinn.Constrained(field, pinn.initial_transform(full))
        except ValueError as e:
            raise ValueError(f"field.hard_initial: {e}") from None
    return field


def _without_hard_conditions(cfg: PINNRunConfig, problem: pde.Problem) -> pde.Problem:
    """Drop the conditions a hard constraint of the field already satisfies (periodicity along
    embedded axes, the initial value)."""
    hard_initial = cfg.field.hard_initial
    periodic_axes = getattr(cfg.field, "periodic_axes", [])
    keep = []
    for c in problem.conditions:
        if isinstance(c, pde.Periodic) and c.axis in periodic_axes:
            continue
        if hard_initial and isinstance(c, pde.InitialValue):
            continue
        keep.append(c)
    return eqx.tree_at(lambda p: p.conditions, problem, tuple(keep))


def _problem(cfg: PINNRunConfig) -> pde.Problem:
    return _without_hard_conditions(cfg, pde.get_problem(cfg.problem.name, **cfg.problem.args))


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
    return pinn.LBFGSPhase(memory=cfg.optimizer.memory).transformation()


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
    if error_of is not None:
        row["error_curve"] = curve
    if problem.eigenvalue is not None:
        row["eigenvalue"] = float(sol.params[problem.eigenvalue])
        row["rayleigh_quotient"] = sol.rayleigh_quotient()
    return sol, row


def run(cfg: PINNRunConfig, out_dir: str, progress: bool) -> dict:
    tc = cfg.train
    with jax.enable_x64(tc.float64):
        problem = _problem(cfg)
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
        f"{metrics['steps']} steps",
        all(r["result"] == "successful" for r in runs),
    )


def load(cfg: PINNRunConfig, run_dir: str, seed: int) -> pinn.PINNSolution:
    """The trained `PINNSolution` of `seed` (no history; `stats` empty)."""
    tc = cfg.train
    with jax.enable_x64(tc.float64):
        problem = _problem(cfg)
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
