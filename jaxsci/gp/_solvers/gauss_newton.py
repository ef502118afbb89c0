"""`GaussNewton`: the dense path for a nonlinear residual, each step the filtered least-squares
solve of the linearised residual (forward-mode Jacobian).

Gauss-Newton stops when a step changes the solution values on the grid, `K alpha`, by at most
`tol` relative. It measures the values, not the coefficients: each step is Tikhonov-filtered,
so `alpha` keeps moving in the near-null directions of the Jacobian (by ~1e-2 relative per
step on the test problems, for ever) while the values settle. After the quadratic phase (3-4
steps) the filtered increments act as iterated Tikhonov, which removes the filter's bias
geometrically: on `gp_a2` with 300 points the error falls from 5e-5 after 3 steps to 1.4e-6
after 20, the values changing by 2e-5 then 2e-7 per step. (Filtering `alpha` itself instead of
the increment reaches a fixed point in 3 steps, but at the filter's bias: 2.1e-6 there, 8e-7
against 2.9e-7 on `gp_a1`.) A run that reaches `steps` first reports `RESULTS.not_converged`;
a non-finite residual, Jacobian or step stops it with `RESULTS.nonfinite` and the last finite
coefficients.

A problem with Neumann or Robin faces asks the equation at those faces' points as well
(`_collocation.boundary_system`): the system has more rows than unknowns and its residual does
not vanish, so the iterated-Tikhonov phase goes on moving the values by 1e-7 to 1e-6 per step,
above `tol`, each step lowering the residual by a few percent and the error barely
(`gp_variable_1d`, 100 points: 1.1e-5 after 1 step, 8.0e-6 after 3, 5.8e-6 after 20, 5.6e-6
after 40, the residual falling by 9% at step 3 and 2% at step 11). Such a system also stops,
successfully, at the first step after the second that lowers the residual by less than 10%
(`STALL`). A square system (Dirichlet faces only) never takes that exit, so its steps are
unchanged.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_float, check_int
from ..._results import RESULTS
from .._collocation import Coefficients, boundary_system, filtered_lstsq, kernel_gram
from .._grid import boundary_mask, mesh
from .base import REGULARISATION, STEPS, TOL, AbstractSolver
from .dense import check_regularisation

# an overdetermined system stops at a step that lowers the residual by less than 10%
STALL = 0.9


def check_iteration(solver) -> None:
    """The `steps` and `tol` of an iterative path."""
    where = type(solver).__name__
    check_int(solver.steps, "steps", where)
    check_float(solver.tol, "tol", where, positive=True)


def _finite(*arrays) -> bool:
    return all(bool(jnp.all(jnp.isfinite(a))) for a in arrays)


class GaussNewton(AbstractSolver):
    """The dense path for any residual (`problem.residual`; linear problems too): Gauss-Newton
    on `alpha` from zero, each step the Tikhonov-filtered least squares of `Dense` on the
    linearised residual (the boundary rows as `Dense`'s: Dirichlet, Neumann and Robin faces),
    the interior rows scaled once as `Dense` scales its operator rows.

    - `regularisation`: the Tikhonov filter of each step, as `Dense`'s.
    - `steps`: the step limit; the default, 20, leaves room for the slow iterated-Tikhonov
      phase after the 3-4 quadratic steps (10 steps to `tol` on the tests' problems).
    - `tol`: stop at a step that changes the solution values on the grid by at most `tol`
      relative. The coefficients are not measured: below the filter they drift for ever while
      the values they give settle (module docstring). The default, 3e-8, sits a few times above
      the rounding floor of that change (3e-9 to 1e-8 on `gp_a1` and the tests' problems, on
      every OpenBLAS kernel tried), so that where it stops does not depend on rounding.
    """

    regularisation: float = eqx.field(static=True, default=REGULARISATION)
    steps: int = eqx.field(static=True, default=STEPS)
    tol: float = eqx.field(static=True, default=TOL)
    method: ClassVar[str] = "gauss_newton"

    def __check_init__(self):
        check_regularisation(self)
        check_iteration(self)

    def solve(self, problem, kernel, axes) -> Coefficients:
        pts = mesh(axes)
        bmask = np.asarray(boundary_mask(axes))
        kfull = kernel_gram(kernel, axes)
        rows, g, equation = boundary_system(problem, kernel, axes, pts, bmask, kfull)
        return _gauss_newton(problem, kernel, pts, equation, kfull, rows, g, self)


def _gauss_newton(
    problem, kernel, pts, equation, kfull, rows, g, solver: GaussNewton
) -> Coefficients:
    steps, tol = solver.steps, solver.tol
    interior = pts[equation]  # the interior points, and the Neumann and Robin ones
    n_boundary = rows.shape[0]
    # more points ask a condition than there are unknowns: Neumann and Robin points ask both
    overdetermined = interior.shape[0] + n_boundary > pts.shape[0]

    def residual(alpha):
        u = lambda x: jax.vmap(lambda y: kernel(x, y))(pts) @ alpha  # noqa: E731
        r = jax.vmap(lambda x: problem.residual(u, x, problem.params))(interior)
        return jnp.concatenate([r.reshape(-1), rows @ alpha - g])

    res_jac = jax.jit(lambda al: (residual(al), jax.jacfwd(residual)(al)))
    alpha = jnp.zeros(pts.shape[0], pts.dtype)
    weights = None
    history = {"residual": [], "change": []}
    change = float("nan")
    for step in range(steps):
        r, j = res_jac(alpha)
        if not _finite(r, j):
            detail = f"the residual or its Jacobian at Gauss-Newton step {step} is not finite"
            return Coefficients(alpha, step, False, RESULTS.nonfinite, detail, history)
        if weights is None:
            # the interior rows scaled once, by the first Jacobian's largest entry, as the
            # linear path scales its operator rows
            n_int = r.shape[0] - n_boundary
            scale = jnp.max(jnp.abs(j[:n_int]))
            weights = jnp.concatenate([jnp.full(n_int, 1 / scale), jnp.ones(n_boundary)])
        history["residual"].append(float(jnp.sqrt(jnp.mean((weights * r) ** 2))))
        res = history["residual"]
        if overdetermined and step >= 2 and res[-1] > STALL * res[-2]:
            # an overdetermined system (Neumann and Robin points ask the equation too) has a
            # residual that does not vanish: the last step bought less than 10% of it
            return Coefficients(alpha, step, True, RESULTS.successful, "", history)
        delta = filtered_lstsq(j * weights[:, None], -(weights * r), solver.regularisation)
        if not _finite(delta):
            detail = f"the Gauss-Newton step {step} is not finite"
            return Coefficients(alpha, step, False, RESULTS.nonfinite, detail, history)
        alpha = alpha + delta
        change = float(jnp.linalg.norm(kfull @ delta) / jnp.linalg.norm(kfull @ alpha))
        history["change"].append(change)
        if change <= tol:
            return Coefficients(alpha, step + 1, True, RESULTS.successful, "", history)
    detail = (
        f"Gauss-Newton's last of {steps} steps changed the solution values by {change:.1e} "
        f"relative, above `tol`={tol:.1e}"
    )
    return Coefficients(alpha, steps, False, RESULTS.not_converged, detail, history)
