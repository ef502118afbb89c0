"""Run a PINN experiment from a `RunConfig`: one solve per seed, metrics, checkpoint and plot."""

from __future__ import annotations

import json
import os
import time

import equinox as eqx
import jax
import numpy as np
import optax

from . import pde, pinn
from ._config import RunConfig


def build_field(cfg: RunConfig, problem: pde.Problem, key) -> pinn.AbstractField:
    fc = cfg.field
    kemb, kmlp = jax.random.split(key)
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
    out = "scalar" if problem.n_outputs == 0 else problem.n_outputs
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
    if fc.hard_dirichlet:
        field = pinn.Constrained(field, pinn.dirichlet_transform(problem.domain))
    return field


def _without_hard_conditions(cfg: RunConfig, problem: pde.Problem) -> pde.Problem:
    """Drop the conditions a hard constraint already satisfies (zero Dirichlet everywhere,
    periodicity along embedded axes)."""
    keep = []
    for c in problem.conditions:
        if (
            cfg.field.hard_dirichlet
            and isinstance(c, pde.Dirichlet)
            and c.faces is None
            and not callable(c.value)
            and c.value == 0.0
        ):
            continue
        if isinstance(c, pde.Periodic) and c.axis in cfg.field.periodic_axes:
            continue
        keep.append(c)
    return eqx.tree_at(lambda p: p.conditions, problem, tuple(keep))


def run_experiment(cfg: RunConfig, out_dir: str | None = None, progress: bool = True) -> dict:
    """Solve the configured problem once per seed; write `metrics.json`, the checkpoint of
    each seed and a PNG plot (first seed) to `out_dir`. Returns the metrics."""
    tc = cfg.train
    with jax.enable_x64(tc.float64):
        problem = pde.get_problem(cfg.problem.name, **cfg.problem.args)
        problem = _without_hard_conditions(cfg, problem)
        if out_dir is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            out_dir = os.path.join(cfg.output_dir, f"{cfg.problem.name}-{stamp}")
        os.makedirs(out_dir, exist_ok=True)
        schedule = optax.exponential_decay(tc.learning_rate, tc.decay_steps, tc.decay_rate)
        runs = []
        first = None
        for seed in tc.seeds:
            kf, ks = jax.random.split(jax.random.key(seed))
            field = build_field(cfg, problem, kf)
            common = dict(
                n_interior=tc.n_interior,
                n_boundary=tc.n_boundary,
                sampler=tc.sampler,
                chunk_size=tc.chunk_size,
                progress=progress,
            )
            t0 = time.perf_counter()
            sol = pinn.solve(
                problem,
                field,
                optax.adam(schedule),
                key=ks,
                steps=tc.steps,
                resample_every=tc.resample_every,
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
                **common,
            )
            steps, failed = sol.stats["steps"], sol.stats["failed_step"]
            if tc.lbfgs_steps and failed is None:
                sol = pinn.solve(
                    sol.problem,
                    sol.field,
                    optax.lbfgs(),
                    key=ks,
                    steps=tc.lbfgs_steps,
                    checkpoint=os.path.join(out_dir, f"checkpoint_seed{seed}_lbfgs.eqx"),
                    **common,
                )
                steps += sol.stats["steps"]
                failed = sol.stats["failed_step"]
            wall = time.perf_counter() - t0
            err = sol.error() if problem.has_truth else float("nan")
            run = {
                "seed": seed,
                "rel_l2": err,
                "wall_s": wall,
                "steps": steps,
                "steps_per_s": sol.stats["steps_per_s"],
                "failed_step": failed,
                "final_loss": float(np.asarray(sol.history["loss"])[-1]) if sol.history else None,
            }
            if problem.eigenvalue is not None:
                run["eigenvalue"] = float(sol.params[problem.eigenvalue])
                run["rayleigh_quotient"] = sol.rayleigh_quotient()
            runs.append(run)
            print(f"seed {seed}: rel_l2 {err:.3e}  wall {wall:.1f} s  steps {steps}", flush=True)
            first = first or sol
        errs = np.array([r["rel_l2"] for r in runs])
        metrics = {
            "problem": cfg.problem.name,
            "rel_l2": float(np.mean(errs)),
            "rel_l2_std": float(np.std(errs)),
            "wall_s": float(np.mean([r["wall_s"] for r in runs])),
            "steps": runs[0]["steps"],
            "device": jax.devices()[0].device_kind,
            "runs": runs,
        }
        with open(os.path.join(out_dir, "metrics.json"), "w") as f:
            json.dump(metrics, f, indent=2)
        if cfg.plot:
            metrics["plot"] = pinn.plot_solution(first, os.path.join(out_dir, "solution.png"))
    metrics["out_dir"] = out_dir
    return metrics


__all__ = ["run_experiment", "build_field"]
