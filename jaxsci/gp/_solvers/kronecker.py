"""`Kronecker`: the linear path on 2D grids that never forms an `N x N` matrix.

Linear operators whose terms each differentiate at most one dimension (Laplacian, Helmholtz,
advection) are a Sylvester equation on the interior grid values, solved by fast
diagonalisation (`_sylvester.py`). Kernel coefficients for evaluation anywhere come from
per-dimension pseudo-inverses of the Gram matrices. `grid_data` and `coefficients_of_values`
are shared with `NewtonKrylov`, the nonlinear path on values.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_float
from ..._results import RESULTS
from .._collocation import Coefficients
from .._grid import boundary_mask, boundary_values, mesh
from .._sylvester import dim_operator, sylvester_solve
from .base import NUGGET, REGULARISATION, AbstractSolver
from .dense import check_regularisation


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


def check_values_path(solver) -> None:
    """The settings of a path on grid values (`Kronecker`, `NewtonKrylov`)."""
    check_regularisation(solver)
    check_float(solver.nugget, "nugget", type(solver).__name__, positive=True)


def grid_data(problem, axes):
    """`(points, shape, boundary mask on the grid, Dirichlet values on the grid)`."""
    shape = tuple(len(a) for a in axes)
    pts = mesh(axes)
    bmask = np.asarray(boundary_mask(axes)).reshape(shape)
    g = np.zeros(shape)
    g[bmask] = np.asarray(boundary_values(problem, pts[bmask.reshape(-1)]))
    return pts, shape, bmask, g


def coefficients_of_values(ops, u, dtype):
    """`alpha = (P_1 (x) P_2) u` from the per-dimension filtered pseudo-inverses `P_d`."""
    return jnp.asarray((ops[0][2] @ u @ ops[1][2].T).reshape(-1), dtype)


class Kronecker(AbstractSolver):
    """The linear path on 2D grids by fast diagonalisation: the Sylvester equation
    `A_1 X + X A_2^T = R` on the interior values `X`, one eigendecomposition per dimension,
    O(n^3) per dimension and never the `N x N` matrix; then the coefficients of the values (one
    direct solve: `steps` 1). Takes 2D problems whose operator terms each differentiate at
    most one dimension (Laplacian, Helmholtz, advection); others raise.

    - `regularisation`: the Tikhonov filter of each dimension's 1D collocation solve (and of
      the pseudo-inverses `P_d`), relative to the largest singular value, as `Dense`'s.
    - `nugget`: the relative nugget of the values-to-coefficients interpolation. Matched to
      the error of the grid values: with 1e-14 a 4e-5 error on Q2's grid values is amplified
      to O(1) between the points; the default, 1e-8, keeps the error between the points at
      the grid error.
    """

    regularisation: float = eqx.field(static=True, default=REGULARISATION)
    nugget: float = eqx.field(static=True, default=NUGGET)
    method: ClassVar[str] = "kronecker"

    def __check_init__(self):
        check_values_path(self)

    def solve(self, problem, kernel, axes) -> Coefficients:
        terms = None
        if len(axes) == 2 and problem.operator is not None:
            terms = sylvester_terms(problem)
        if terms is None:
            raise ValueError(
                f"Kronecker: takes 2D linear problems whose operator terms each differentiate "
                f"one dimension (Laplacian, Helmholtz, advection), not {problem.name!r}"
            )
        ops = [
            dim_operator(k, ax, t, self.regularisation, self.nugget)
            for k, ax, t in zip(kernel.kernels, axes, terms, strict=True)
        ]
        pts, shape, _, g = grid_data(problem, axes)
        f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts)).reshape(shape)
        u = g.copy()
        a1, e1, _ = ops[0]
        a2, e2, _ = ops[1]
        u[1:-1, 1:-1] = sylvester_solve(a1, e1, a2, e2, f[1:-1, 1:-1], g)
        alpha = coefficients_of_values(ops, u, pts.dtype)
        return Coefficients(alpha, 1, True, RESULTS.successful, "", {})
