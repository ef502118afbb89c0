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

The solver paths that form this system are `_solvers/dense.py` (one filtered solve) and
`_solvers/gauss_newton.py` (Gauss-Newton on a nonlinear residual).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

from .._results import RESULTS
from ._kernels import gram
from ._kronecker import kron_dense

gram_jit = eqx.filter_jit(gram)


class Coefficients(NamedTuple):
    """What a solver path (`_solvers/`) hands back to `solve`, which builds the statistics and
    the `GPSolution` from it: the coefficients, the iterations taken, whether the iteration met
    its tolerance, the result code and a sentence on a failure, and the per-step history."""

    alpha: jax.Array
    steps: int
    converged: bool
    result: RESULTS
    detail: str
    history: dict[str, Any]


def kernel_gram(kernel, axes):
    """`K` on the tensor grid of `axes`: the Kronecker product of the per-dimension Grams."""
    return kron_dense([gram_jit(k, a, a, 0, 0) for k, a in zip(kernel.kernels, axes, strict=True)])


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
