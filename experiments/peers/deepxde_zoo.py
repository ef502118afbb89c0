"""The zoo (issue 27) with DeepXDE's usual recipe: the peer column beside jaxsci's defaults.

What a DeepXDE user writes for each zoo problem, following DeepXDE's own examples: an `FNN`
of 3 hidden layers of 50 tanh units with Glorot-uniform weights, soft conditions (`DirichletBC`,
`NeumannBC`, `PeriodicBC`, `IC`, `PointSetBC`, weight 1 each), its default Hammersley points,
Adam at learning rate 1e-3, then L-BFGS. The budget is jaxsci's default one, so the two columns
differ only in the library's defaults: 2000 interior points, 256 boundary and 256 initial
points, 5000 Adam steps then 1250 L-BFGS iterations (`--adam`, `--lbfgs`), float32, one thread.

The problem is jaxsci's, not a transcription: the source term and the condition data are
evaluated from the `pde.ZOO` problem itself (the source is minus the residual at the zero field,
which is the source for every zoo operator, linear or not; the data is the exact solution, from
which the zoo builds its data), passed to DeepXDE as its auxiliary variable and condition
functions; only the differential operator is written again in PyTorch, per problem, below.
The error is the relative L2 error on `PINNSolution.error`'s evaluation grid, final iterate.

DeepXDE is a peer for benchmarks only; install it in a separate environment:

    python3 -m venv /work/peers-pinn && /work/peers-pinn/bin/pip install torch==2.13.0 deepxde
    /work/peers-pinn/bin/pip install -e .
    /work/peers-pinn/bin/python -m experiments.peers.deepxde_zoo --problems zoo_bump_2d

Writes `experiments/results/peers/deepxde_zoo[_VARIANT].json`, one row per problem (`--resume`
keeps the rows already there). `--quick` runs 20 + 5 steps per problem (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("DDEBACKEND", "pytorch")

import jax
import jax.numpy as jnp
import numpy as np

from experiments._harness import result_path, write_result
from experiments.peers.deepxde_accuracy import set_deepxde_lbfgs_iterations
from jaxsci import pde
from jaxsci.pinn import evaluation_points


def _np(fn):
    """A jaxsci pointwise function `(x) -> value` as a NumPy function of a batch of rows,
    returning `(n, k)` (DeepXDE's convention)."""
    batched = jax.jit(jax.vmap(fn))

    def f(x):
        out = np.asarray(batched(jnp.asarray(x, jnp.float64)), np.float64)
        return out.reshape(len(x), -1)

    return f


def _operator(name, params):
    """The zoo problem's differential operator in PyTorch (what DeepXDE's `pde` function
    computes before the source is subtracted)."""
    import deepxde as dde

    def lap(u, x, dim, c=0):
        return sum(dde.grad.hessian(u, x, component=c, i=d, j=d) for d in range(dim))

    def d(u, x, axis, c=0):
        return dde.grad.jacobian(u, x, i=c, j=axis)

    def dxx(u, x, c=0):
        return dde.grad.hessian(u, x, component=c, i=0, j=0)

    p = {k: float(np.asarray(v)) for k, v in params.items()}
    if name in ("zoo_bump_2d", "zoo_multiscale_2d", "zoo_dirichlet_data_2d",
                "zoo_interior_layer_2d", "zoo_mixed_2d"):  # fmt: skip
        return lambda x, u: [-lap(u, x, 2)]
    if name == "zoo_two_tone_1d":
        return lambda x, u: [-lap(u, x, 1)]
    if name == "zoo_poisson_3d":
        return lambda x, u: [-lap(u, x, 3)]
    if name == "zoo_boundary_layer":
        return lambda x, u: [-1e-2 * dxx(u, x) + d(u, x, 0)]
    if name == "zoo_nonlinear_2d":
        return lambda x, u: [-lap(u, x, 2) + u**3]
    if name == "zoo_heat":
        return lambda x, u: [d(u, x, 1) - p["diffusivity"] * dxx(u, x)]
    if name == "zoo_advection_diffusion":
        return lambda x, u: [d(u, x, 1) + p["speed"] * d(u, x, 0) - p["diffusivity"] * dxx(u, x)]
    if name in ("zoo_convection_30", "zoo_convection_50"):
        return lambda x, u: [d(u, x, 1) + p["beta"] * d(u, x, 0)]
    if name == "zoo_reaction_diffusion":

        def op(x, w):
            u, v = w[:, 0:1], w[:, 1:2]
            eq_u = d(w, x, 1, 0) - p["D"] * dxx(w, x, 0) + u * v
            eq_v = d(w, x, 1, 1) - p["D"] * dxx(w, x, 1) - u * v + v
            return [eq_u, eq_v]

        return op
    raise ValueError(f"no DeepXDE operator for {name!r}")


def _geometry(domain):
    import deepxde as dde

    if isinstance(domain, pde.SpaceTime):
        if domain.dim != 2:
            raise ValueError("only one space dimension in time (the zoo's)")
        lo, hi = domain.lower, domain.upper
        geom = dde.geometry.Interval(float(lo[0]), float(hi[0]))
        return dde.geometry.GeometryXTime(geom, dde.geometry.TimeDomain(float(lo[1]), float(hi[1])))
    lo, hi = [float(v) for v in domain.lower], [float(v) for v in domain.upper]
    if domain.dim == 1:
        return dde.geometry.Interval(lo[0], hi[0])
    if domain.dim == 2:
        return dde.geometry.Rectangle(lo, hi)
    return dde.geometry.Cuboid(lo, hi)


def _on_faces(faces, domain):
    """DeepXDE's boundary filter for jaxsci's `faces` (`(axis, side)` pairs; None: all)."""
    lo, hi = np.asarray(domain.lower, float), np.asarray(domain.upper, float)

    def on(x, on_boundary):
        if not on_boundary:
            return False
        if faces is None:
            return True
        return any(np.isclose(x[a], (lo, hi)[s][a]) for a, s in faces)

    return on


def _column(f, i):
    """`x -> f(x)[:, i]` as a one-argument function: DeepXDE reads a condition function of two
    arguments (a default included) as one that takes auxiliary variables."""
    return lambda x: f(x)[:, i : i + 1]


def _normal_derivative(grad, geom):
    """`x -> grad u(x) . n(x)` with DeepXDE's own outward normal (the diagonal one at a
    corner, where DeepXDE's `NeumannBC` differentiates along it too)."""
    return lambda x: np.sum(grad(x) * geom.boundary_normal(x), axis=1, keepdims=True)


def deepxde_problem(name, n_interior, n_boundary, n_initial):
    """`(data, n_outputs, external_variables, problem)` for zoo problem `name`."""
    import deepxde as dde

    problem = pde.get_problem(name)
    params = problem.params
    domain = problem.domain
    geom = _geometry(domain)
    n_out = max(problem.n_outputs, 1)
    exact = _np(lambda x: problem.exact(x, params))
    zero = lambda y: jnp.zeros((n_out,), y.dtype) if problem.n_outputs else 0.0 * y[0]  # noqa: E731
    source = _np(lambda x: -jnp.atleast_1d(problem.residual(zero, x, params)))
    variables = []
    if name != "zoo_inverse_heat":
        operator = _operator(name, params)
    else:
        kappa = dde.Variable(float(params["diffusivity"]))
        variables = [kappa]

        def operator(x, u):
            u_t = dde.grad.jacobian(u, x, i=0, j=1)
            return [u_t - kappa * dde.grad.hessian(u, x, i=0, j=0)]

    def residual(x, u, aux):
        return [r - aux[:, i : i + 1] for i, r in enumerate(operator(x, u))]

    def component_of(c):
        return 0 if c.component is None else c.component

    conditions = []
    for c in problem.conditions:
        i = component_of(c)
        data = _column(exact, i)
        if isinstance(c, pde.Dirichlet):
            on = _on_faces(c.faces, domain)  # (space-time: DeepXDE's boundary is the spatial one)
            conditions.append(dde.icbc.DirichletBC(geom, data, on, component=i))
        elif isinstance(c, pde.Neumann):
            flux = _normal_derivative(_np(jax.grad(lambda x: problem.exact(x, params))), geom)
            on = _on_faces(c.faces, domain)
            conditions.append(dde.icbc.NeumannBC(geom, flux, on, component=i))
        elif isinstance(c, pde.InitialValue):
            conditions.append(dde.icbc.IC(geom, data, lambda _, on: on, component=i))
        elif isinstance(c, pde.Periodic):
            conditions.append(dde.icbc.PeriodicBC(geom, c.axis, lambda _, on: on, component=i))
        elif isinstance(c, pde.Observations):
            pts = np.asarray(c.points, np.float64)
            vals = np.asarray(c.values, np.float64).reshape(len(pts), -1)
            conditions.append(dde.icbc.PointSetBC(pts, vals, component=i))
        else:
            raise ValueError(f"{name}: no DeepXDE condition for {type(c).__name__}")
    kw = dict(num_domain=n_interior, num_boundary=n_boundary, auxiliary_var_function=source)
    if isinstance(domain, pde.SpaceTime):
        data = dde.data.TimePDE(geom, residual, conditions, num_initial=n_initial, **kw)
    else:
        data = dde.data.PDE(geom, residual, conditions, **kw)
    return data, n_out, variables, problem


def run(name, seed, args):
    import deepxde as dde
    import torch

    torch.set_num_threads(1)
    dde.config.set_random_seed(seed)
    data, n_out, variables, problem = deepxde_problem(
        name, args.n_interior, args.n_boundary, args.n_initial
    )
    net = dde.nn.FNN([problem.dim] + [50] * 3 + [n_out], "tanh", "Glorot uniform")
    model = dde.Model(data, net)
    extra = {"external_trainable_variables": variables} if variables else {}
    t0 = time.perf_counter()
    model.compile("adam", lr=1e-3, **extra)
    model.train(iterations=args.adam, display_every=10**9, verbose=0)
    if args.lbfgs:
        set_deepxde_lbfgs_iterations(args.lbfgs)
        model.compile("L-BFGS", **extra)
        model.train(display_every=10**9, verbose=0)
    wall = time.perf_counter() - t0
    points = np.asarray(evaluation_points(problem), np.float64)
    pred = model.predict(points).reshape(len(points), -1)
    true = np.asarray(problem.exact_values(jnp.asarray(points), problem.params), np.float64)
    true = true.reshape(pred.shape)
    out = {"rel_l2": float(np.linalg.norm(pred - true) / np.linalg.norm(true)), "wall_s": wall}
    if variables:
        out["diffusivity"] = float(variables[0].detach())
    return out


def main():
    # the zoo's source and data in float64 before DeepXDE rounds them to its float32 (set here,
    # not at import: importing this module from a test must not switch x64 on for the process)
    jax.config.update("jax_enable_x64", True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default=",".join(sorted(pde.ZOO)))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--adam", type=int, default=5000)
    ap.add_argument("--lbfgs", type=int, default=1250)
    ap.add_argument("--n-interior", type=int, default=2000)
    ap.add_argument("--n-boundary", type=int, default=256)
    ap.add_argument("--n-initial", type=int, default=256)
    ap.add_argument("--variant", default="")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.adam, args.lbfgs = 20, 5
        args.variant = args.variant or "quick"
    seeds = [int(s) for s in args.seeds.split(",")]
    path = result_path("peers/deepxde_zoo", args.variant)
    rows = json.loads(path.read_text())["rows"] if args.resume and path.exists() else []
    done = {r["problem"] for r in rows}
    for name in args.problems.split(","):
        if name in done:
            continue
        runs = [run(name, s, args) for s in seeds]
        row = {"problem": name, "solver": "deepxde", "seeds": seeds}
        for key in runs[0]:
            row[key] = [r[key] for r in runs]
        rows.append(row)
        print(json.dumps(row), flush=True)
        write_result("peers/deepxde_zoo", {"args": vars(args), "rows": rows}, variant=args.variant)


if __name__ == "__main__":
    main()
