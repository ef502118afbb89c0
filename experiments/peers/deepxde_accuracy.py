"""Accuracy per second: jaxsci against DeepXDE (PyTorch backend) on the same recipe, same run.

For each problem both libraries train the same network (tanh MLP, Glorot-normal weights, zero
biases), on the same number of low-discrepancy interior points (jaxsci: Halton with a random
shift, or with `--sampler hammersley` DeepXDE's own set; DeepXDE: its default Hammersley set)
and of points per boundary or initial condition (drawn by the same sampler),
with the same constraints (hard where the recipe says so, as the same output transform), the
same loss (sum of the mean squared residual and condition misfits, weight 1), the same
optimiser (Adam with learning rate 1e-3 decaying by 0.9 every 1000 steps, then L-BFGS with a
history of 100 pairs for the same number of iterations), in float32, on the same machine, seed
by seed interleaved so that a load change hits both alike. Each row is the final iterate's
relative L2 error on the same evaluation grid against the same truth, and the wall time of
training (compilation included). jaxsci's error is also recorded along training (after every
chunk of `--chunk` steps; the time of those evaluations counts in its wall time) to give the
time it needs to reach DeepXDE's final error.

DeepXDE is a peer for benchmarks only; install it in a separate environment:

    python3 -m venv /work/peers-pinn && /work/peers-pinn/bin/pip install torch==2.13.0 deepxde
    /work/peers-pinn/bin/pip install -e .
    /work/peers-pinn/bin/python -m experiments.peers.deepxde_accuracy

`--quick` runs every recipe for a few steps (a smoke test of both sides, no meaningful errors).
Writes `experiments/results/peers/deepxde_accuracy[_VARIANT][_SAMPLER][_devicesN].json`
(`_SAMPLER` unless halton, `_devicesN` with `--devices N`; `--jaxsci-only F` adds `_jaxsci_xF`,
`--quick` `_quick`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time

os.environ.setdefault("DDEBACKEND", "pytorch")

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments._harness import write_result
from jaxsci import pde, pinn, train

PI = math.pi


@dataclasses.dataclass(frozen=True)
class Recipe:
    problem: str
    width: int
    depth: int
    n_interior: int
    n_condition: int  # points per boundary / initial condition (soft conditions only)
    adam_steps: int
    lbfgs_steps: int
    grid: tuple[int, ...]  # evaluation grid per axis
    note: str


RECIPES = {
    "poisson_2d": Recipe("poisson_2d", 32, 3, 1024, 0, 2000, 500, (201, 201), "hard Dirichlet"),
    "helmholtz_2d": Recipe(
        "helmholtz_2d", 64, 4, 4096, 0, 3000, 1500, (201, 201), "hard Dirichlet (main job)"
    ),
    "klein_gordon_1d": Recipe(
        "klein_gordon_1d",
        32,
        4,
        2048,
        256,
        5000,
        1000,
        (101, 101),
        "soft: initial value and velocity, Dirichlet data",
    ),
    "heat_1d": Recipe(
        "heat_1d", 32, 3, 1024, 256, 3000, 500, (101, 101), "hard Dirichlet, soft initial value"
    ),
    "burgers": Recipe(
        "burgers", 32, 4, 2048, 256, 5000, 1000, (256, 100), "soft initial value and Dirichlet"
    ),
    "allen_cahn": Recipe(
        "allen_cahn",
        64,
        4,
        4096,
        0,
        5000,
        1000,
        (256, 101),
        "periodic features (cos pi x, sin pi x); hard initial value u0 + t N",
    ),
}


# ----------------------------------------------------------------------------- truths


def eval_points(problem, grid):
    return np.asarray(problem.domain.grid(grid), np.float32)


# ----------------------------------------------------------------------------- jaxsci


def _u0_allen_cahn(x):
    return x[0] ** 2 * jnp.cos(PI * x[0])


class _InitialTransform(eqx.Module):
    """`u0(x) + t * v`: the exact initial value of Allen-Cahn (the same transform in DeepXDE)."""

    def __call__(self, x, v):
        return _u0_allen_cahn(x) + x[-1] * v


class _OutOfTime(Exception):
    """Raised by the error-tracking callback to end a jaxsci run at its time budget."""


def jaxsci_run(
    recipe: Recipe,
    seed: int,
    points,
    truth,
    chunk: int,
    budget_s=None,
    extend=1,
    devices=1,
    sampler="halton",
):
    """Train with `pinn.solve`; the error trajectory `[(step, wall s, rel. L2)]`.

    With `budget_s`, the L-BFGS phase is `extend` times the recipe's and the run stops at the
    first record past both the recipe's end and `budget_s` seconds (the iterates up to the
    recipe's end are the recipe's own: the trajectory holds the same-recipe result and the
    result at equal wall time)."""
    problem = getattr(pde, recipe.problem)()
    key_f, key_s = jax.random.split(jax.random.key(seed))
    embedding = None
    if recipe.problem == "allen_cahn":
        embedding = pinn.PeriodicEmbedding(2, axes=[0], periods=[2.0])
    field = pinn.MLP(
        problem.dim, width=recipe.width, depth=recipe.depth, embedding=embedding, key=key_f
    )
    hard = recipe.problem in ("poisson_2d", "helmholtz_2d", "heat_1d")
    if recipe.problem == "allen_cahn":
        # exact initial value and periodicity: neither is a loss term any more
        field = pinn.Constrained(field, _InitialTransform())
        problem = eqx.tree_at(lambda p: p.conditions, problem, ())
    pts, true = jnp.asarray(points), jnp.asarray(truth)
    error_of = eqx.filter_jit(
        lambda f: jnp.linalg.norm(jax.vmap(f)(pts) - true) / jnp.linalg.norm(true)
    )
    end = recipe.adam_steps + recipe.lbfgs_steps
    if recipe.adam_steps % chunk or recipe.lbfgs_steps % chunk:
        raise ValueError(f"--chunk {chunk} must divide both phases of {recipe}")
    trajectory = []
    t0 = time.perf_counter()

    def track(step, f):
        trajectory.append((step, time.perf_counter() - t0, float(error_of(f))))
        if budget_s is not None and step >= end and trajectory[-1][1] > budget_s:
            raise _OutOfTime

    try:
        pinn.solve(
            problem,
            field,
            optax.adam(optax.exponential_decay(1e-3, 1000, 0.9)),
            key=key_s,
            steps=recipe.adam_steps,
            sampling=pinn.Sampling(
                n_interior=recipe.n_interior,
                n_boundary=max(recipe.n_condition, 1),
                method=sampler,
            ),
            lbfgs=pinn.LBFGSPhase(
                steps=recipe.lbfgs_steps * (1 if budget_s is None else extend),
                memory=100,
                max_linesearch=20,  # the recipe as the table was measured (optax's own cap)
            ),
            hard_dirichlet=hard,
            # the recipe as the table was measured: no balancing (DeepXDE's recipe has none)
            weighting=pinn.Weighting(balancing=None),
            loop=train.Loop(
                chunk_size=chunk,
                callback=track,
                mesh=train.data_mesh(devices) if devices > 1 else None,
            ),
            throw=False,  # a run stopped at a non-finite step is recorded, not raised (as before)
        )
    except _OutOfTime:
        pass
    return trajectory


def at_step(trajectory, step):
    """`(wall s, rel. L2)` of the record at `step`."""
    return next((t, e) for s, t, e in trajectory if s == step)


def at_time(trajectory, budget_s):
    """`(step, wall s, rel. L2)` of the last record at or before `budget_s` seconds."""
    within = [r for r in trajectory if r[1] <= budget_s]
    return within[-1] if within else None


# ----------------------------------------------------------------------------- DeepXDE


def _deepxde_problem(recipe: Recipe):
    """DeepXDE's data object and output / feature transforms for a recipe."""
    import deepxde as dde
    import torch

    sin, cos = torch.sin, torch.cos
    name = recipe.problem
    if name == "poisson_2d":
        geom = dde.geometry.Rectangle([0.0, 0.0], [1.0, 1.0])

        def residual(x, u):
            lap = dde.grad.hessian(u, x, i=0, j=0) + dde.grad.hessian(u, x, i=1, j=1)
            return -lap - 2 * PI**2 * sin(PI * x[:, 0:1]) * sin(PI * x[:, 1:2])

        data = dde.data.PDE(geom, residual, [], num_domain=recipe.n_interior, num_test=256)
        # pinn.dirichlet_transform: prod (x - a)(b - x) / ((b - a) / 2)^2
        out = lambda x, u: 16 * x[:, 0:1] * (1 - x[:, 0:1]) * x[:, 1:2] * (1 - x[:, 1:2]) * u
        return data, out, None
    if name == "helmholtz_2d":
        geom = dde.geometry.Rectangle([-1.0, -1.0], [1.0, 1.0])

        def residual(x, u):
            exact = sin(PI * x[:, 0:1]) * sin(4 * PI * x[:, 1:2])
            lap = dde.grad.hessian(u, x, i=0, j=0) + dde.grad.hessian(u, x, i=1, j=1)
            return lap + u - (1 - PI**2 - (4 * PI) ** 2) * exact

        data = dde.data.PDE(geom, residual, [], num_domain=recipe.n_interior, num_test=256)
        out = lambda x, u: (1 - x[:, 0:1] ** 2) * (1 - x[:, 1:2] ** 2) * u
        return data, out, None

    geomtime = dde.geometry.GeometryXTime(
        dde.geometry.Interval(-1.0 if name in ("burgers", "allen_cahn") else 0.0, 1.0),
        dde.geometry.TimeDomain(0.0, 1.0),
    )
    kw = dict(num_domain=recipe.n_interior, num_test=256)
    # points per soft boundary and initial condition (the recipes with soft conditions)
    soft = dict(num_boundary=recipe.n_condition, num_initial=recipe.n_condition)
    if name == "klein_gordon_1d":

        def exact_np(x):
            return x[:, 0:1] * np.cos(5 * PI * x[:, 1:2]) + (x[:, 0:1] * x[:, 1:2]) ** 3

        def residual(x, u):
            xs, t = x[:, 0:1], x[:, 1:2]
            u_tt = dde.grad.hessian(u, x, i=1, j=1)
            u_xx = dde.grad.hessian(u, x, i=0, j=0)
            exact = xs * cos(5 * PI * t) + (xs * t) ** 3
            f = -25 * PI**2 * xs * cos(5 * PI * t) + 6 * xs**3 * t - 6 * xs * t**3 + exact**3
            return u_tt - u_xx + u**3 - f

        on_initial = lambda x, _: np.isclose(x[1], 0.0)
        conditions = [
            dde.icbc.IC(geomtime, exact_np, lambda _, on_init: on_init),
            dde.icbc.OperatorBC(
                geomtime, lambda x, u, _: dde.grad.jacobian(u, x, i=0, j=1), on_initial
            ),  # u_t(x, 0) = 0
            dde.icbc.DirichletBC(geomtime, exact_np, lambda _, on_b: on_b),
        ]
        return dde.data.TimePDE(geomtime, residual, conditions, **soft, **kw), None, None
    if name == "heat_1d":
        k = 0.1

        def u0(x):
            return np.sin(PI * x[:, 0:1]) + 0.5 * np.sin(3 * PI * x[:, 0:1])

        def residual(x, u):
            return dde.grad.jacobian(u, x, i=0, j=1) - k * dde.grad.hessian(u, x, i=0, j=0)

        ic = dde.icbc.IC(geomtime, u0, lambda _, on_init: on_init)
        data = dde.data.TimePDE(geomtime, residual, [ic], num_initial=recipe.n_condition, **kw)
        out = lambda x, u: 4 * x[:, 0:1] * (1 - x[:, 0:1]) * u
        return data, out, None
    if name == "burgers":
        nu = 0.01 / PI

        def residual(x, u):
            u_x = dde.grad.jacobian(u, x, i=0, j=0)
            u_t = dde.grad.jacobian(u, x, i=0, j=1)
            return u_t + u * u_x - nu * dde.grad.hessian(u, x, i=0, j=0)

        conditions = [
            dde.icbc.IC(geomtime, lambda x: -np.sin(PI * x[:, 0:1]), lambda _, on: on),
            dde.icbc.DirichletBC(geomtime, lambda x: 0.0, lambda _, on_b: on_b),
        ]
        return dde.data.TimePDE(geomtime, residual, conditions, **soft, **kw), None, None
    if name == "allen_cahn":

        def residual(x, u):
            u_t = dde.grad.jacobian(u, x, i=0, j=1)
            return u_t - 1e-4 * dde.grad.hessian(u, x, i=0, j=0) + 5 * (u**3 - u)

        data = dde.data.TimePDE(geomtime, residual, [], **kw)
        # pinn.PeriodicEmbedding's order: kept coordinates (t), then cos, sin of pi x
        feat = lambda x: torch.cat([x[:, 1:2], cos(PI * x[:, 0:1]), sin(PI * x[:, 0:1])], 1)
        out = lambda x, u: x[:, 0:1] ** 2 * cos(PI * x[:, 0:1]) + x[:, 1:2] * u
        return data, out, feat
    raise ValueError(name)


def set_deepxde_lbfgs_iterations(n: int):
    """DeepXDE 1.15's `set_LBFGS_options(maxiter=n)` leaves the PyTorch backend's iterations per
    `LBFGS.step` call at what they were at import (`min(1000, 15000)`), so the first call runs up
    to 1000 iterations (1250 function evaluations) whatever `n` is: set both, so that DeepXDE
    runs `n` iterations (at most `1.25 n` evaluations) as documented."""
    from deepxde.optimizers import config

    config.set_LBFGS_options(maxiter=n)
    opts = config.LBFGS_options
    opts["iter_per_step"] = min(1000, n)
    opts["fun_per_step"] = opts["maxfun"] * opts["iter_per_step"] // n


def deepxde_run(recipe: Recipe, seed: int, points, truth):
    import deepxde as dde

    dde.config.set_random_seed(seed)
    data, out, feat = _deepxde_problem(recipe)
    dim = points.shape[1]
    in_size = 3 if feat is not None else dim
    net = dde.nn.FNN([in_size] + [recipe.width] * recipe.depth + [1], "tanh", "Glorot normal")
    if feat is not None:
        net.apply_feature_transform(feat)
    if out is not None:
        net.apply_output_transform(out)
    model = dde.Model(data, net)
    t0 = time.perf_counter()
    model.compile("adam", lr=1e-3, decay=("step", 1000, 0.9))
    model.train(iterations=recipe.adam_steps, display_every=10**9, verbose=0)
    if recipe.lbfgs_steps:
        set_deepxde_lbfgs_iterations(recipe.lbfgs_steps)
        model.compile("L-BFGS")
        model.train(display_every=10**9, verbose=0)
    wall = time.perf_counter() - t0
    pred = model.predict(points).ravel()
    return float(np.linalg.norm(pred - truth) / np.linalg.norm(truth)), wall


# ----------------------------------------------------------------------------- main


def time_to_reach(trajectory, target):
    """Wall time of the first recorded jaxsci iterate at or below `target` (None if never)."""
    for _, t, err in trajectory:
        if err <= target:
            return t
    return None


def summarise(rows):
    out = {}
    for lib in ("jaxsci", "deepxde"):
        errs = np.array([r[lib]["rel_l2"] for r in rows])
        walls = np.array([r[lib]["wall_s"] for r in rows])
        out[lib] = {
            "rel_l2_mean": float(errs.mean()),
            "rel_l2_std": float(errs.std()),
            "rel_l2_max": float(errs.max()),
            "wall_s_mean": float(walls.mean()),
        }
    equal = [r["jaxsci_equal_time"] for r in rows]
    if all(e is not None for e in equal):
        errs = np.array([e["rel_l2"] for e in equal])
        out["jaxsci_equal_time"] = {
            "rel_l2_mean": float(errs.mean()),
            "rel_l2_std": float(errs.std()),
            "rel_l2_max": float(errs.max()),
            "steps": [e["steps"] for e in equal],
        }
    reach = [r["jaxsci_time_to_deepxde_error"] for r in rows]
    out["jaxsci_time_to_deepxde_error"] = reach
    ratios = [
        t / r["deepxde"]["wall_s"] if t is not None else None
        for t, r in zip(reach, rows, strict=True)
    ]
    out["time_ratio_to_reach"] = ratios
    return out


def jaxsci_only(args, variant):
    """jaxsci's side alone with `--jaxsci-only` times the recipe's steps, 3 seeds."""
    results = {}
    for name in args.problems.split(","):
        r = RECIPES[name]
        f = args.jaxsci_only
        r = dataclasses.replace(
            r, adam_steps=int(r.adam_steps * f), lbfgs_steps=int(r.lbfgs_steps * f)
        )
        problem = getattr(pde, name)()
        points = eval_points(problem, r.grid)
        truth = np.asarray(problem.exact_values(points), np.float64).ravel()
        rows = []
        for seed in [int(s) for s in args.seeds.split(",")]:
            trajectory = jaxsci_run(r, seed, points, truth, args.chunk, sampler=args.sampler)
            wall, err = at_step(trajectory, r.adam_steps + r.lbfgs_steps)
            rows.append({"seed": seed, "rel_l2": err, "wall_s": wall, "trajectory": trajectory})
            print(f"{name} x{f:g} seed {seed}: jaxsci {err:.2e} in {wall:.1f} s", flush=True)
        results[name] = {"recipe": dataclasses.asdict(r), "rows": rows}
    variant = "_".join(filter(None, [variant, f"jaxsci_x{args.jaxsci_only:g}"]))
    write_result(
        "peers/deepxde_accuracy", {"args": vars(args), "results": results}, variant=variant
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default=",".join(RECIPES))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--chunk", type=int, default=250, help="jaxsci steps between error records")
    ap.add_argument("--quick", action="store_true", help="a few steps of every recipe")
    ap.add_argument(
        "--extend",
        type=int,
        default=4,
        help="jaxsci's L-BFGS phase may run this many times the recipe's steps, until "
        "DeepXDE's wall time (its error at equal time); the recipe's own end is recorded",
    )
    ap.add_argument(
        "--jaxsci-only",
        type=float,
        default=None,
        metavar="FACTOR",
        help="jaxsci alone, Adam and L-BFGS steps times FACTOR (e.g. to DeepXDE's wall time)",
    )
    ap.add_argument(
        "--devices",
        type=int,
        default=1,
        help="jaxsci splits its points over this many host devices (`jax_num_cpu_devices`): "
        "both cores of a 2-core CPU at work, as PyTorch's 2 threads are; writes *_devicesN.json",
    )
    ap.add_argument(
        "--sampler",
        default="halton",
        help="jaxsci's points (`pinn.Sampling(method=...)`); `hammersley` is DeepXDE's own set, "
        "the same points on both sides; writes *_SAMPLER.json unless halton",
    )
    ap.add_argument("--variant", default="", help="result file suffix (before the sampler's)")
    args = ap.parse_args()
    if args.devices > 1:
        jax.config.update("jax_num_cpu_devices", args.devices)  # before JAX's first operation
    variant = "_".join(
        filter(
            None,
            [
                args.variant,
                "" if args.sampler == "halton" else args.sampler,
                f"devices{args.devices}" if args.devices > 1 else "",
                "quick" if args.quick else "",
            ],
        )
    )
    if args.jaxsci_only is not None:
        return jaxsci_only(args, variant)
    import deepxde  # noqa: F401  (fail before any training when the peer is missing)
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    results = {}
    for name in args.problems.split(","):
        recipe = RECIPES[name]
        if args.quick:
            recipe = dataclasses.replace(
                recipe, n_interior=64, adam_steps=20, lbfgs_steps=10, n_condition=16
            )
        problem = getattr(pde, name)()
        points = eval_points(problem, recipe.grid)
        truth = np.asarray(problem.exact_values(points), np.float64).ravel()
        rows = []
        for seed in [int(s) for s in args.seeds.split(",")]:
            theirs, theirs_wall = deepxde_run(recipe, seed, points, truth)
            trajectory = jaxsci_run(
                recipe,
                seed,
                points,
                truth,
                10 if args.quick else args.chunk,
                budget_s=theirs_wall,
                extend=args.extend,
                devices=args.devices,
                sampler=args.sampler,
            )
            wall, ours = at_step(trajectory, recipe.adam_steps + recipe.lbfgs_steps)
            equal = at_time(trajectory, theirs_wall)
            reach = time_to_reach(trajectory, theirs)
            rows.append(
                {
                    "seed": seed,
                    "jaxsci": {"rel_l2": ours, "wall_s": wall},
                    "jaxsci_equal_time": None
                    if equal is None
                    else {"steps": equal[0], "wall_s": equal[1], "rel_l2": equal[2]},
                    "deepxde": {"rel_l2": theirs, "wall_s": theirs_wall},
                    "jaxsci_time_to_deepxde_error": reach,
                    "jaxsci_trajectory": trajectory,
                }
            )
            print(
                f"{name} seed {seed}: jaxsci {ours:.2e} in {wall:.1f} s "
                f"({'-' if equal is None else f'{equal[2]:.2e}'} at DeepXDE's time), DeepXDE "
                f"{theirs:.2e} in {theirs_wall:.1f} s; jaxsci reached DeepXDE's error after "
                f"{'never' if reach is None else f'{reach:.1f} s'}",
                flush=True,
            )
        results[name] = {
            "recipe": dataclasses.asdict(recipe),
            "summary": summarise(rows),
            "rows": rows,
        }
    print(
        "\n| problem | jaxsci rel. L2 mean ± std | jaxsci wall s | jaxsci at DeepXDE's time "
        "| DeepXDE rel. L2 mean ± std | DeepXDE wall s "
        "| jaxsci time to DeepXDE's error / DeepXDE time |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, res in results.items():
        s = res["summary"]
        ratios = ", ".join("-" if r is None else f"{r:.2f}" for r in s["time_ratio_to_reach"])
        eq = s.get("jaxsci_equal_time")
        eq = "-" if eq is None else f"{eq['rel_l2_mean']:.2e} ± {eq['rel_l2_std']:.1e}"
        print(
            f"| {name} | {s['jaxsci']['rel_l2_mean']:.2e} ± {s['jaxsci']['rel_l2_std']:.1e} "
            f"| {s['jaxsci']['wall_s_mean']:.1f} | {eq} | {s['deepxde']['rel_l2_mean']:.2e} ± "
            f"{s['deepxde']['rel_l2_std']:.1e} | {s['deepxde']['wall_s_mean']:.1f} | {ratios} |"
        )
    write_result(
        "peers/deepxde_accuracy",
        {"torch_threads": torch.get_num_threads(), "args": vars(args), "results": results},
        variant=variant,
        packages=("deepxde", "torch"),
    )


if __name__ == "__main__":
    main()
