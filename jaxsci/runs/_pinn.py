"""PINN runs: a catalogue problem, a field (`[field] kind = "mlp"` or `"pig"`) and a training
recipe (Adam, then optionally L-BFGS), one solve per seed."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import equinox as eqx
import jax
import numpy as np
import optax

from .. import pde, pinn, train
from ..pinn._solve import evaluation_points, solution_error
from . import _rundir
from ._config import register_solver, setting


@dataclass
class ProblemConfig:
    name: str = "poisson_2d"
    args: dict[str, Any] = setting({})


@dataclass
class MLPFieldConfig:
    kind: str = "mlp"
    width: int = setting(64, "positive")
    depth: int = setting(4, "positive")
    activation: str = setting("tanh", ("tanh", "sin", "gelu", "swish", "relu"))
    fourier_features: int = setting(0, "non-negative")  # 0: no Fourier-feature embedding
    fourier_scale: float = setting(1.0, "positive")
    factorisation: bool = False  # random weight factorisation (mean 1.0, std 0.1)
    hard_dirichlet: bool = False  # multiply by a function vanishing on the spatial boundary
    hard_initial: bool = False  # the initial value exactly: u0(x) + (t - t0)/(t1 - t0) N(x, t)
    periodic_axes: list[int] = setting([])


@dataclass
class PIGFieldConfig:
    """Physics-Informed Gaussians (`pinn.PIG`): `n_gaussians` per channel feeding a tiny MLP."""

    kind: str = "pig"
    n_gaussians: int = setting(400, "positive")
    channels: int = setting(4, "positive")
    hidden: int = setting(16, "positive")
    activation: str = setting("tanh", ("tanh", "sin"))
    scale: float = setting(0.05, "positive")  # initial sigma, a fraction of the domain's side
    covariance: str = setting("diagonal", ("diagonal", "full"))
    init: str = setting("uniform", ("uniform", "grid"))
    weight_std: float = setting(0.01, "positive")
    cutoff: float = setting(0.0, "non-negative")  # in units of sigma; 0: dense evaluation
    max_scale: float = setting(0.0, "non-negative")  # cap on sigma; 0: 4 x scale
    block: int = setting(0, "non-negative")  # Gaussians per block of the dense sum; 0: one
    hard_dirichlet: bool = False
    hard_initial: bool = False  # as the MLP's


@dataclass
class FieldConfig:
    """The `[field]` section: its settings depend on `kind`."""

    KINDS = {"mlp": MLPFieldConfig, "pig": PIGFieldConfig}


@dataclass
class TrainConfig:
    # the first phase's optimiser: Adam (learning_rate decaying by decay_rate every decay_steps)
    # or L-BFGS (history lbfgs_memory, zoom line search; the learning-rate settings unused)
    optimizer: str = setting("adam", ("adam", "lbfgs"))
    steps: int = setting(5000, "non-negative")
    learning_rate: float = setting(1e-3, "positive")
    decay_rate: float = setting(0.9, "positive")
    decay_steps: int = setting(1000, "positive")
    lbfgs_steps: int = setting(0, "non-negative")  # L-BFGS refinement after Adam
    lbfgs_memory: int = setting(100, "positive")  # pairs (s, y) kept by L-BFGS (as pinn.solve)
    n_interior: int = setting(2000, "positive")
    n_boundary: int = setting(256, "positive")
    # as pinn.solve
    sampler: str = setting("halton", ("halton", "uniform", "hammersley", "latin", "grid"))
    resample_every: int = setting(0, "non-negative")
    resample_boundary: bool = False  # redraw the conditions' points too (pinn.solve)
    residual_weight: float = setting(1.0, "positive")  # weight of the residual term
    adaptive_every: int = setting(0, "non-negative")  # 0: no residual-based adaptive resampling
    adaptive_candidates: int = setting(10000, "positive")
    adaptive_replace: int = setting(200, "positive")
    balancing: bool = False
    causal_chunks: int = setting(0, "non-negative")  # 0: no causal weighting
    causal_tolerance: float = setting(1.0, "positive")
    chunk_size: int = setting(1000, "positive")
    # record the relative L2 error on the evaluation grid after every chunk (metrics.json's
    # `error_curve` of each run: [step, wall s, rel. L2]; its time counts in the wall time)
    error_curve: bool = False
    seeds: list[int] = setting([0], "non-empty")
    float64: bool = False


@dataclass
class MeshConfig:
    data: int = setting(1, "positive")  # devices the collocation points are split over


@dataclass
class PINNRunConfig:
    solver: str = "pinn"
    problem: ProblemConfig = setting(default_factory=ProblemConfig)
    field: FieldConfig = setting(default_factory=MLPFieldConfig)  # chosen by `kind`
    train: TrainConfig = setting(default_factory=TrainConfig)
    mesh: MeshConfig = setting(default_factory=MeshConfig)
    output_dir: str = "runs"
    plot: bool = True

    @property
    def name(self) -> str:
        return self.problem.name


register_solver("pinn", PINNRunConfig)


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
    """The field with the constraints the config asks for: zero Dirichlet data on `problem`'s
    domain, the initial value of the catalogue problem (`problem` is trained without it)."""
    fc = cfg.field
    if fc.hard_dirichlet:
        field = pinn.Constrained(field, pinn.dirichlet_transform(problem.domain))
    if fc.hard_initial:
        try:
            full = pde.get_problem(cfg.problem.name, **cfg.problem.args)
            field = pinn.Constrained(field, pinn.initial_transform(full))
        except ValueError as e:
            raise ValueError(f"field.hard_initial: {e}") from None
    return field


def _without_hard_conditions(cfg: PINNRunConfig, problem: pde.Problem) -> pde.Problem:
    """Drop the conditions a hard constraint already satisfies (zero Dirichlet everywhere,
    periodicity along embedded axes, the initial value)."""
    hard_dirichlet = getattr(cfg.field, "hard_dirichlet", False)
    hard_initial = cfg.field.hard_initial
    periodic_axes = getattr(cfg.field, "periodic_axes", [])
    keep = []
    for c in problem.conditions:
        if (
            hard_dirichlet
            and isinstance(c, pde.Dirichlet)
            and c.faces is None
            and not callable(c.value)
            and c.value == 0.0
        ):
            continue
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
    points = evaluation_points(problem)
    true = problem.exact_values(points)
    return eqx.filter_jit(
        lambda field: solution_error(jax.vmap(field)(points).reshape(true.shape), true, problem)
    )


def _saved(sol: pinn.PINNSolution, problem: pde.Problem):
    """What a model file holds: the field, the learned eigenvalue (if any), the final points."""
    learned = (
        {} if problem.eigenvalue is None else {problem.eigenvalue: sol.params[problem.eigenvalue]}
    )
    return sol.field, learned, sol.points


def run(cfg: PINNRunConfig, out_dir: str, progress: bool) -> dict:
    tc = cfg.train
    with jax.enable_x64(tc.float64):
        problem = _problem(cfg)
        if cfg.mesh.data > jax.device_count():
            raise ValueError(
                f"mesh.data: {cfg.mesh.data} devices asked for, {jax.device_count()} available"
            )
        mesh = train.data_mesh(cfg.mesh.data) if cfg.mesh.data > 1 else None
        schedule = optax.exponential_decay(tc.learning_rate, tc.decay_steps, tc.decay_rate)
        runs, histories, first = [], {}, None
        error_of = _error_on_grid(problem) if tc.error_curve else None
        for seed in tc.seeds:
            kf, ks = _keys(seed)
            field = build_field(cfg, problem, kf)
            common = dict(
                n_interior=tc.n_interior,
                n_boundary=tc.n_boundary,
                sampler=tc.sampler,
                chunk_size=tc.chunk_size,
                progress=progress,
                mesh=mesh,
            )
            t0 = time.perf_counter()
            curve = []  # [step, wall s, rel. L2] after every chunk (train.error_curve)

            def record(step, field, curve=curve, t0=t0):
                curve.append([step, time.perf_counter() - t0, float(error_of(field))])

            sol = pinn.solve(
                problem,
                field,
                optax.adam(schedule)
                if tc.optimizer == "adam"
                else optax.lbfgs(memory_size=tc.lbfgs_memory),
                key=ks,
                steps=tc.steps,
                lbfgs_steps=tc.lbfgs_steps,
                lbfgs_memory=tc.lbfgs_memory,
                hard_dirichlet=False,  # the config's field.hard_dirichlet built it already
                resample_every=tc.resample_every,
                resample_boundary=tc.resample_boundary,
                residual_weight=tc.residual_weight,
                balancing=pinn.GradientBalancing() if tc.balancing else None,
                causal=pinn.CausalWeighting(tc.causal_chunks, tc.causal_tolerance)
                if tc.causal_chunks
                else None,
                adaptive=pinn.AdaptiveResampling(
                    tc.adaptive_every, tc.adaptive_candidates, tc.adaptive_replace
                )
                if tc.adaptive_every
                else None,
                checkpoint=os.path.join(out_dir, f"checkpoint_seed{seed}.eqx"),
                callback=None if error_of is None else record,
                **common,
            )
            names = {
                "first": tc.optimizer,
                "lbfgs": "lbfgs" if tc.optimizer == "adam" else "lbfgs_2",
            }
            phases = {names[p]: st for p, st in sol.stats["phases"].items()}
            history = sol.history
            failed = sol.stats["failed_step"]
            wall = time.perf_counter() - t0
            err = sol.error() if problem.has_truth else float("nan")
            steps = sum(s["steps"] for s in phases.values())
            run = {
                "seed": seed,
                "rel_l2": err,
                "wall_s": wall,
                "steps": steps,
                "steps_per_s": steps / wall,
                **{f"{p}_steps_per_s": s["steps_per_s"] for p, s in phases.items()},
                "failed_step": failed,
                "final_loss": float(history["loss"][-1]) if history else None,
            }
            if error_of is not None:
                run["error_curve"] = curve
            if problem.eigenvalue is not None:
                run["eigenvalue"] = float(sol.params[problem.eigenvalue])
                run["rayleigh_quotient"] = sol.rayleigh_quotient()
            runs.append(run)
            histories[seed] = history
            _rundir.save_model(_rundir.model_path(out_dir, seed), _saved(sol, problem))
            _rundir.write_history(out_dir, seed, history)
            print(f"seed {seed}: rel_l2 {err:.3e}  wall {wall:.1f} s  steps {steps}", flush=True)
            first = first or sol
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
    metrics["outputs"] = outputs
    metrics["summary"] = (
        f"{cfg.problem.name}: relative L2 {metrics['rel_l2']:.3e} (+- {metrics['rel_l2_std']:.1e} "
        f"over {len(runs)} seed(s)), wall {metrics['wall_s']:.1f} s per seed, "
        f"{metrics['steps']} steps"
    )
    metrics["ok"] = all(r["failed_step"] is None for r in runs)
    return metrics


def load(cfg: PINNRunConfig, run_dir: str, seed: int) -> pinn.PINNSolution:
    """The trained `PINNSolution` of `seed` (no history; `stats` empty)."""
    tc = cfg.train
    with jax.enable_x64(tc.float64):
        problem = _problem(cfg)
        kf, ks = _keys(seed)

        def skeleton():
            field = build_field(cfg, problem, kf)
            learned = (
                {}
                if problem.eigenvalue is None
                else {
                    problem.eigenvalue: jax.numpy.asarray(problem.params[problem.eigenvalue], float)
                }
            )
            points = problem.domain.sample(ks, tc.n_interior, method=tc.sampler)
            return field, learned, points

        like = eqx.filter_eval_shape(skeleton)
        field, learned, points = _rundir.load_model(_rundir.model_path(run_dir, seed), like)
        params = {**problem.params, **learned} if learned else problem.params
        solved = eqx.tree_at(lambda p: p.params, problem, params) if learned else problem
        return pinn.PINNSolution(field, params, solved, points, {}, {})
