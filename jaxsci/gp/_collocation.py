"""The dense collocation system and its two least-squares solvers.

Kansa collocation asks `(L K alpha)_i = f_i` at the interior grid points and `(K alpha)_j = g_j`
on the boundary ones. The rows are Gram rows of a smooth kernel: the matrix is numerically rank
deficient (singular values down to ~1e-16 of the largest), square or not, so `alpha` is only
defined by a regularised least-squares problem, never by an LU or Cholesky solve of the
system itself.

- `filtered_lstsq`: the Tikhonov-filtered SVD, for the solves `solve` returns (the most
  accurate; not differentiated).
- `tikhonov_lstsq`: the same Tikhonov problem through its augmented system, for kernel
  training, which differentiates the solve with respect to the kernel parameters. Its
  condition number is `~1 / regularisation` (not the system's ~1e16, nor the normal
  equations' square of it); the SVD's derivative would divide by differences of clustered
  tiny singular values.

`dense_solve` is the dense path of `solve`: one filtered solve for a linear operator,
Gauss-Newton for a nonlinear residual. Gauss-Newton stops when a step changes the solution
values on the grid, `K alpha`, by at most `tol` relative. It measures the values, not the
coefficients: each step is Tikhonov-filtered, so `alpha` keeps moving in the near-null
directions of the Jacobian (by ~1e-2 relative per step on the test problems, for ever) while
the values settle. After the quadratic phase (3-4 steps) the filtered increments act as
iterated Tikhonov, which removes the filter's bias geometrically: on `gp_a2` with 300 points
the error falls from 5e-5 after 3 steps to 1.4e-6 after 20, the values changing by 2e-5 then
2e-7 per step. (Filtering `alpha` itself instead of the increment reaches a fixed point in
3 steps, but at the filter's bias: 2.1e-6 there, 8e-7 against 2.9e-7 on `gp_a1`.) A run
that reaches `steps` first reports `RESULTS.not_converged`; a non-finite residual, Jacobian
or step stops it with `RESULTS.nonfinite` and the last finite coefficients.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._results import RESULTS
from ._grid import boundary_values
from ._kernels import gram
from ._kronecker import kron_dense, operator_factors

_gram = eqx.filter_jit(gram)


class Coefficients(NamedTuple):
    """What a solution path hands back to `solve`, which builds the statistics and the
    `GPSolution` from it: the coefficients, the iterations taken, whether the iteration met
    its tolerance, the result code and a sentence on a failure, and the per-step history."""

    alpha: jax.Array
    steps: int
    converged: bool
    result: RESULTS
    detail: str
    history: dict[str, Any]


def _finite(*arrays) -> bool:
    return all(bool(jnp.all(jnp.isfinite(a))) for a in arrays)


def kernel_gram(kernel, axes):
    """`K` on the tensor grid of `axes`: the Kronecker product of the per-dimension Grams."""
    return kron_dense([_gram(k, a, a, 0, 0) for k, a in zip(kernel.kernels, axes, strict=True)])


def collocation_system(lk_interior, k_boundary, f, g):
    """The stacked system `(a, b)`: the interior rows `L K` and `f` divided by the largest
    entry of `L K` (so that both blocks have unit scale and one relative regularisation fits
    both), then the boundary rows `K` and `g`."""
    scale = jnp.max(jnp.abs(lk_interior))
    a = jnp.concatenate([lk_interior / scale, k_boundary])
    b = jnp.concatenate([f / scale, g])
    return a, b


@jax.jit
def filtered_lstsq(a, b, regularisation):
    """`argmin |a x - b|^2 + (regularisation s_max)^2 |x|^2` by the SVD of `a`, `s_max` its
    largest singular value."""
    # the normal equations would square a condition number that is already ~1e16
    u, s, vt = jnp.linalg.svd(a, full_matrices=False)
    filt = s / (s**2 + (regularisation * s[0]) ** 2)
    return vt.T @ (filt * (u.T @ b))


def tikhonov_lstsq(a, b, regularisation):
    """`argmin |a x - b|^2 + mu^2 |x|^2`, `mu = regularisation |a|_F`, from the augmented system

        [mu I   a  ] [s]   [b]
        [a^T  -mu I] [x] = [0]      (s = (b - a x) / mu),

    whose eigenvalues are `+-sqrt(sigma_i^2 + mu^2)` and `+-mu`: its condition number is
    `~1 / regularisation`, not the square of it (normal equations), nor the system's own ~1e16.
    Solved by LU (`jnp.linalg.solve`: backward stable, differentiated implicitly; the loss and
    gradient of a 100-point training step take half the time they take through JAX's QR of
    `[a; mu I]`, measured on CPU). The Frobenius norm (within `sqrt(rank)` of the largest
    singular value) keeps `mu` smooth in `a`."""
    m, n = a.shape
    mu = regularisation * jnp.linalg.norm(a)
    aug = jnp.block([[mu * jnp.eye(m, dtype=a.dtype), a], [a.T, -mu * jnp.eye(n, dtype=a.dtype)]])
    return jnp.linalg.solve(aug, jnp.concatenate([b, jnp.zeros(n, b.dtype)]))[m:]


def dense_solve(problem, kernel, axes, pts, bmask, method, regularisation, steps, tol):
    """Coefficients on the dense path: one filtered least-squares solve (`method="linear"`) or
    Gauss-Newton. Returns `Coefficients`."""
    g = boundary_values(problem, pts[bmask])
    kfull = kernel_gram(kernel, axes)
    if method == "linear":
        op = problem.operator
        grams = lambda i, a: _gram(kernel.kernels[i], axes[i], axes[i], a, 0)  # noqa: E731
        factors = operator_factors(op.orders, op.coefficients, grams)
        lk = sum(c * kron_dense(fs) for c, fs in factors)
        f = jax.vmap(lambda x: problem.source(x, problem.params))(pts[~bmask])
        a, b = collocation_system(lk[~bmask], kfull[bmask], f, g)
        return Coefficients(
            filtered_lstsq(a, b, regularisation), 1, True, RESULTS.successful, "", {}
        )
    return _gauss_newton(problem, kernel, pts, bmask, kfull, g, regularisation, steps, tol)


def _gauss_newton(problem, kernel, pts, bmask, kfull, g, regularisation, steps, tol):
    interior = pts[~bmask]
    n_boundary = int(np.sum(bmask))

    def residual(alpha):
        u = lambda x: jax.vmap(lambda y: kernel(x, y))(pts) @ alpha  # noqa: E731
        r = jax.vmap(lambda x: problem.residual(u, x, problem.params))(interior)
        return jnp.concatenate([r.reshape(-1), kfull[bmask] @ alpha - g])

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
        delta = filtered_lstsq(j * weights[:, None], -(weights * r), regularisation)
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
