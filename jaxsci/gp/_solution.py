"""`GPSolution`: the mean anywhere (Kronecker matvec on tensor grids), the error against the
truth, and the GP posterior variance of linear problems."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._results import RESULTS
from ..pde._conditions import Dirichlet, InitialValue
from ..pde._problem import Problem, relative_l2
from ._collocation import face_conditions, face_name
from ._grid import boundary_mask, collocation_axes, kron_mean, tensor_axes
from ._kernels import Product, gram
from ._kronecker import kron_dense


class GPSolution(eqx.Module):
    """The result of `solve`.

    - `kernel`: the product kernel used (trained, when `solve` trained it).
    - `coefficients`: `alpha`, one per grid point (the mean is `k(x, points) @ alpha`).
    - `points`: the collocation grid, shape `(N, dim)`, C order.
    - `problem`, `params`: the problem solved and its parameters.
    - `history`: per Gauss-Newton step `residual` (root mean square) and `change` (of the
      grid values, relative); per Newton-Krylov step `residual` (relative to the source)
      and `krylov_residual`; with kernel training,
      per Adam step `kernel_loss`, `weights_<d>` and `frequencies_<d>` (of the mixture of
      dimension `d`, one column per component), NumPy arrays.
    - `stats`: `wall_s`, `steps`, `points`, `frequencies` (per dimension), `method`,
      `converged` (whether the iteration met its tolerance; `True` for a direct solve); with
      kernel training also `weights`, `scales` (per dimension), `kernel_steps` and
      `kernel_failed_step`.
    - `result`: a `jaxsci.RESULTS` (static): `successful`, `not_converged` or `nonfinite`
      (see `solve`).
    """

    kernel: Product
    coefficients: Array
    points: Array
    shape: tuple[int, ...] = eqx.field(static=True)
    problem: Problem
    params: PyTree
    history: dict[str, np.ndarray]
    stats: dict[str, Any]
    result: RESULTS = eqx.field(static=True, default=RESULTS.successful)

    def __call__(self, points: Float[ArrayLike, "n dim"]) -> Float[Array, " n"]:
        """The posterior mean at `points`, shape `(n, dim)`: shape `(n,)`. Concrete points that
        form a C-order tensor grid (`domain.grid(...)`) take the Kronecker path, O(n sum n_i);
        other points (and traced ones, under `jit`) the dense one, O(n N)."""
        self.problem.domain.check_points(points, "points")
        eval_axes = tensor_axes(points)
        if eval_axes is not None:
            axes = collocation_axes(self.points, self.shape)
            return kron_mean(self.kernel, eval_axes, axes, self.coefficients)
        points = jnp.asarray(points, self.points.dtype)
        return _mean(self.kernel, self.points, self.coefficients, points)

    def error(self, points: ArrayLike | None = None) -> Array:
        """Relative L2 error against the problem's truth, on a uniform grid of 300 points per
        dimension by default."""
        if points is None:
            points = self.problem.domain.grid((300,) * len(self.shape), self.points.dtype)
        points = jnp.asarray(points, self.points.dtype)
        return relative_l2(self(points), self.problem.exact_values(points, self.params))

    def error_estimate(self, **kwargs) -> float:
        """An estimate of `error()` that needs no exact solution: the relative L2 difference
        from a second solve on a grid 1.5x finer per dimension (and a third where that is
        above 1e-2), below 1e-2 bounded by the tail of the differences with a solve 1.5x
        coarser and by two probes of the floors the filter and the kernel set. `kwargs` go
        to `error_estimate` (`jaxsci/gp/_estimate.py`), which says what it costs and how well
        it was measured to work."""
        from ._estimate import error_estimate  # _estimate imports solve, which imports this

        return error_estimate(self, **kwargs)

    def variance(self, points: Float[ArrayLike, "n dim"], nugget: float = 1e-10) -> Array:
        """The GP posterior variance of `u` at `points` (linear problems, grids of at most a few
        thousand points).

        Conditioned on the collocation observations, noise-free up to a nugget: `L u(x_j) =
        f(x_j)` at the interior grid points and `u(x_j) = g(x_j)` at the boundary ones, under the
        prior `u ~ GP(0, k)` with the solution's (trained) kernel. With `c(x)` the covariances of
        `u(x)` with those observations and `S` their joint covariance,
        `var(x) = k(x, x) - c(x)^T (S + nugget * max(S) I)^{-1} c(x)`. It does not depend on
        the data, only on where and what was observed. (The mean of this conditional is the
        symmetric collocation; `__call__` is the Kansa one, `u = sum_j alpha_j k(., x_j)`;
        both interpolate the same observations.)"""
        op = self.problem.operator
        if op is None:
            raise ValueError(
                f"variance: problem {self.problem.name!r} is nonlinear (no `operator`); the "
                "posterior variance is defined here for linear problems only"
            )
        for face, cond in face_conditions(self.problem, "variance").items():
            if cond is not None and not isinstance(cond, Dirichlet | InitialValue):
                raise ValueError(
                    f"variance: face {face_name(self.problem, face)} of problem "
                    f"{self.problem.name!r} has a {type(cond).__name__} condition; the posterior "
                    "variance here conditions on values at every boundary point (Dirichlet faces)"
                )
        self.problem.domain.check_points(points, "points")
        points = jnp.asarray(points, self.points.dtype)
        axes = collocation_axes(self.points, self.shape)
        bmask = np.asarray(boundary_mask(axes))
        return _variance(self.kernel, op.orders, op.coefficients, axes, bmask, points, nugget)


@eqx.filter_jit
def _mean(kernel, grid, alpha, points):
    def one(x):
        return jax.vmap(lambda y: kernel(x, y))(grid) @ alpha

    return jax.lax.map(one, points, batch_size=256)


def _rows(kernel, points, axes, a, b):
    """`[d^a_x d^b_y k(p, x_j)]` for points `p` (rows) and the tensor grid (columns): per
    dimension a `(n, n_i)` Gram, combined row by row (a Khatri-Rao product)."""
    out = jnp.ones((points.shape[0], 1), points.dtype)
    for i, (k, ax) in enumerate(zip(kernel.kernels, axes, strict=True)):
        g = gram(k, points[:, i], ax, int(a[i]), int(b[i]))
        out = (out[:, :, None] * g[:, None, :]).reshape(points.shape[0], -1)
    return out


def _variance(kernel, orders, coefficients, axes, bmask, points, nugget):
    zero = (0,) * len(axes)
    # the joint covariance of (L u on the grid, u on the grid): both arguments differentiated
    pairs = list(zip(kernel.kernels, axes, strict=True))
    grams = lambda a, b: kron_dense(  # noqa: E731
        [gram(k, x, x, int(a[i]), int(b[i])) for i, (k, x) in enumerate(pairs)]
    )
    terms = list(zip(orders, coefficients, strict=True))
    llk = sum(ca * cb * grams(a, b) for a, ca in terms for b, cb in terms)
    lk = sum(c * grams(a, zero) for a, c in terms)  # L on the first argument
    k = grams(zero, zero)
    interior = ~bmask
    s = jnp.block(
        [
            [llk[interior][:, interior], lk[interior][:, bmask]],
            [lk[interior][:, bmask].T, k[bmask][:, bmask]],
        ]
    )
    c_int = sum(cb * _rows(kernel, points, axes, zero, b) for b, cb in terms)
    c = jnp.concatenate([c_int[:, interior], _rows(kernel, points, axes, zero, zero)[:, bmask]], 1)
    # float64: S spans many orders of magnitude; the nugget (relative) is an observation noise
    chol = jnp.linalg.cholesky(s + nugget * jnp.max(jnp.diag(s)) * jnp.eye(s.shape[0]))
    z = jax.scipy.linalg.solve_triangular(chol, c.T, lower=True)
    prior = jax.vmap(lambda x: kernel(x, x))(points)
    return prior - jnp.sum(z**2, axis=0)
