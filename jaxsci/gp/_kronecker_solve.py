"""The Kronecker paths of `solve` on 2D grids past `max_points`: never an N x N matrix.

Linear operators whose terms each differentiate at most one dimension (Laplacian, Helmholtz,
advection) are a Sylvester equation on the interior grid values (`_sylvester.py`); nonlinear
problems `s1 u_xx + s2 u_yy + F(x, u) = 0` go through Newton-Krylov on grid values with the
fast-diagonalisation preconditioner (`_newton_krylov.py`). Kernel coefficients for evaluation
anywhere come from per-dimension pseudo-inverses of the Gram matrices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._results import RESULTS
from ._collocation import Coefficients
from ._grid import boundary_mask, boundary_values, mesh
from ._newton_krylov import newton_krylov
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


def solve_sylvester(problem, kernel, axes, terms, regularisation, nugget) -> Coefficients:
    """The linear Kronecker path: the Sylvester equation on the interior values, then the
    coefficients of the values (one direct solve: `steps` 1)."""
    ops = [
        dim_operator(k, ax, t, regularisation, nugget)
        for k, ax, t in zip(kernel.kernels, axes, terms, strict=True)
    ]
    shape = tuple(len(a) for a in axes)
    pts = mesh(axes)
    bmask = np.asarray(boundary_mask(axes)).reshape(shape)
    g = np.zeros(shape)
    g[bmask] = np.asarray(boundary_values(problem, pts[bmask.reshape(-1)]))
    f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts)).reshape(shape)
    u = g.copy()
    u[1:-1, 1:-1] = sylvester_solve(ops[0][0], ops[0][1], ops[1][0], ops[1][1], f[1:-1, 1:-1], g)
    alpha = jnp.asarray((ops[0][2] @ u @ ops[1][2].T).reshape(-1), pts.dtype)
    return Coefficients(alpha, 1, True, RESULTS.successful, "", {})


def solve_newton_krylov(problem, kernel, axes, regularisation, nugget, steps, tol) -> Coefficients:
    """The nonlinear Kronecker path: Newton-Krylov on the interior values, then the
    coefficients of the values; `steps` counts the Newton steps (GMRES solves)."""
    ops = [
        dim_operator(k, ax, [(2, 1.0)], regularisation, nugget)
        for k, ax in zip(kernel.kernels, axes, strict=True)
    ]
    shape = tuple(len(a) for a in axes)
    pts = mesh(axes)
    bmask = np.asarray(boundary_mask(axes)).reshape(shape)
    g = np.zeros(shape)
    g[bmask] = np.asarray(boundary_values(problem, pts[bmask.reshape(-1)]))
    interior = pts.reshape(*shape, 2)[1:-1, 1:-1].reshape(-1, 2)
    f = jax.vmap(lambda x: problem.source(x, problem.params))(interior)
    scale = float(jnp.linalg.norm(f))
    x, history, result, detail = newton_krylov(problem, interior, ops, g, scale, steps, tol)
    u = g.copy()
    u[1:-1, 1:-1] = np.asarray(x)
    alpha = jnp.asarray((ops[0][2] @ u @ ops[1][2].T).reshape(-1), pts.dtype)
    return Coefficients(
        alpha,
        len(history["krylov_residual"]),
        result is RESULTS.successful,
        result,
        detail,
        history,
    )
