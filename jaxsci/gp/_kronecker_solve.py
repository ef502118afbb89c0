"""The Kronecker paths of `solve` on 2D grids past `max_points`: never an N x N matrix.

Linear operators whose terms each differentiate at most one dimension (Laplacian, Helmholtz,
advection) are a Sylvester equation on the interior grid values (`_sylvester.py`); nonlinear
problems `s1 u_xx + s2 u_yy + F(x, u) = 0` go through Newton-Krylov on grid values with the
fast-diagonalisation preconditioner (`_newton_krylov.py`). Kernel coefficients for evaluation
anywhere come from per-dimension pseudo-inverses of the Gram matrices.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from ._grid import boundary_mask, boundary_values
from ._newton_krylov import newton_krylov
from ._solution import GPSolution
from ._sylvester import dim_operator, sylvester_solve


def sylvester_terms(problem):
    """Per dimension `[(order, coefficient)]` if every term of the operator differentiates at
    most one dimension (zero-order terms go to dimension 0), else None. Odd orders (advection)
    give non-normal one-dimensional operators; `sylvester_solve` checks the conditioning."""
    terms = [[] for _ in range(problem.dim)]
    for a, c in zip(
        problem.operator.orders, np.asarray(problem.operator.coefficients), strict=True
    ):
        nz = [i for i, o in enumerate(a) if o]
        if len(nz) > 1:
            return None
        terms[nz[0] if nz else 0].append((max(a), float(c)))
    return terms


def solve_sylvester(problem, kernel, axes, terms, regularisation, nugget):
    t0 = time.perf_counter()
    ops = [
        dim_operator(k, ax, t, regularisation, nugget)
        for k, ax, t in zip(kernel.kernels, axes, terms, strict=True)
    ]
    shape = tuple(len(a) for a in axes)
    pts = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    bmask = np.asarray(boundary_mask(axes)).reshape(shape)
    g = np.zeros(shape)
    g[bmask] = np.asarray(boundary_values(problem, pts[bmask.reshape(-1)]))
    f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts)).reshape(shape)
    u = g.copy()
    u[1:-1, 1:-1] = sylvester_solve(ops[0][0], ops[0][1], ops[1][0], ops[1][1], f[1:-1, 1:-1], g)
    alpha = jnp.asarray((ops[0][2] @ u @ ops[1][2].T).reshape(-1), pts.dtype)
    stats = {
        "wall_s": time.perf_counter() - t0,
        "steps": 1,
        "points": int(np.prod(shape)),
        "method": "kronecker",
        "frequencies": [np.asarray(getattr(k, "frequencies", [])) for k in kernel.kernels],
    }
    return GPSolution(kernel, alpha, pts, shape, problem, problem.params, {}, stats)


def solve_newton_krylov(problem, kernel, axes, regularisation, nugget, steps, tol):
    t0 = time.perf_counter()
    ops = [
        dim_operator(k, ax, [(2, 1.0)], regularisation, nugget)
        for k, ax in zip(kernel.kernels, axes, strict=True)
    ]
    shape = tuple(len(a) for a in axes)
    grid = jnp.stack(jnp.meshgrid(*axes, indexing="ij"), -1)
    pts = grid.reshape(-1, 2)
    bmask = np.asarray(boundary_mask(axes)).reshape(shape)
    g = np.zeros(shape)
    g[bmask] = np.asarray(boundary_values(problem, pts[bmask.reshape(-1)]))
    interior = grid[1:-1, 1:-1].reshape(-1, 2)
    f = jax.vmap(lambda x: problem.source(x, problem.params))(interior)
    x, history = newton_krylov(problem, interior, ops, g, float(jnp.linalg.norm(f)), steps, tol)
    u = g.copy()
    u[1:-1, 1:-1] = np.asarray(x)
    alpha = jnp.asarray((ops[0][2] @ u @ ops[1][2].T).reshape(-1), pts.dtype)
    stats = {
        "wall_s": time.perf_counter() - t0,
        "steps": len(history["krylov_residual"]),
        "points": int(np.prod(shape)),
        "method": "newton_krylov",
        "frequencies": [np.asarray(getattr(k, "frequencies", [])) for k in kernel.kernels],
    }
    history = {k: np.asarray(v) for k, v in history.items()}
    return GPSolution(kernel, alpha, pts, shape, problem, problem.params, history, stats)
