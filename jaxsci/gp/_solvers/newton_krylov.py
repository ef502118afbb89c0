"""`NewtonKrylov`: the nonlinear path on 2D grids that never forms an `N x N` matrix: Newton on
the interior grid values, each step by GMRES with the fast-diagonalisation preconditioner
(`_newton_krylov.py`), then the coefficients of the values as `Kronecker`'s."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._collocation import Coefficients
from .._newton_krylov import newton_krylov
from .._sylvester import dim_operator
from .base import STEPS, TOL, AbstractSolver
from .gauss_newton import check_iteration
from .kronecker import VALUES_NUGGET, check_values_path, coefficients_of_values, grid_data


class NewtonKrylov(AbstractSolver):
    """Newton-Krylov on grid values for 2D residuals `s1 u_xx + s2 u_yy + F(x, u) = 0` with
    constant `s_d` (Allen-Cahn, reaction-diffusion); others raise. `steps` counts the Newton
    steps (GMRES solves).

    - `regularisation`: the Tikhonov filter of the 1D operators of `u_dd` on values
      (`Kronecker`'s). The default, 1e-12: at 1e-13 (`Dense`'s) the filter's rounding is the
      error of the grid values (gp_ac2 6.7e-5, zoo_nonlinear_2d 3.1e-6 at 200^2; 7.6e-6 and
      2.2e-7 at 1e-12); at 1e-11 (`Kronecker`'s) gp_ac2's residual stops above its rounding
      floor (`not_converged`, though at 2.6e-6).
    - `nugget`: the values-to-coefficients interpolation's, as `Kronecker`'s.
    - `steps`, `tol`: the Newton step limit, and the relative change of the grid values at
      which it stops, as `GaussNewton`'s; it also stops when the residual reaches its
      rounding floor (~1e-8 relative to the source, `_newton_krylov.py`), usually first
      (3 steps on the tests' Allen-Cahn problem).
    """

    regularisation: float = eqx.field(static=True, default=1e-12)
    nugget: float = eqx.field(static=True, default=VALUES_NUGGET)
    steps: int = eqx.field(static=True, default=STEPS)
    tol: float = eqx.field(static=True, default=TOL)
    method: ClassVar[str] = "newton_krylov"

    def __check_init__(self):
        check_values_path(self)
        check_iteration(self)

    def solve(self, problem, kernel, axes) -> Coefficients:
        if len(axes) != 2:
            raise ValueError(
                f"NewtonKrylov: takes 2D problems, {problem.name!r} has dim {len(axes)}"
            )
        ops = [
            dim_operator(k, ax, [(2, 1.0)], self.regularisation)
            for k, ax in zip(kernel.kernels, axes, strict=True)
        ]
        pts, shape, _, g = grid_data(problem, axes)
        interior = pts.reshape(*shape, 2)[1:-1, 1:-1].reshape(-1, 2)
        if problem.source is None:  # a residual with no separate source: relative to its start
            scale = None
        else:
            f = jax.vmap(lambda x: problem.source(x, problem.params))(interior)
            scale = float(jnp.linalg.norm(f))
        x, history, result, detail = newton_krylov(
            problem, interior, ops, g, scale, self.steps, self.tol
        )
        u = g.copy()
        u[1:-1, 1:-1] = np.asarray(x)
        alpha = coefficients_of_values(kernel, axes, u, self.nugget)
        steps = len(history["krylov_residual"])
        return Coefficients(alpha, steps, result.ok, result, detail, history)
