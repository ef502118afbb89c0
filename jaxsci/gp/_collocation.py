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
import numpy as np

from .._results import RESULTS
from ..pde._conditions import Dirichlet, InitialValue, InitialVelocity, Neumann, Periodic, Robin
from ._grid import boundary_values
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


# --- boundary rows: Dirichlet, Neumann and Robin faces -------------------------------------

_DIRICHLET_KINDS = (Dirichlet, InitialValue)
_FACE_KINDS = (Dirichlet, InitialValue, Neumann, Robin)


def face_name(problem, face) -> str:
    axis, side = face
    bound = (problem.domain.upper if side else problem.domain.lower)[axis]
    return f"({axis}, {side}) (x_{axis} = {float(bound):g})"


def _claimed_faces(cond, domain) -> tuple[tuple[int, int], ...]:
    """The faces of the grid box a condition speaks about (none for data or global ones)."""
    if isinstance(cond, Dirichlet | Neumann | Robin):
        return domain.boundary_faces if cond.faces is None else tuple(cond.faces)
    if isinstance(cond, InitialValue | InitialVelocity):
        return ((domain.dim - 1, 0),)  # the initial slice: the time axis is the last
    if isinstance(cond, Periodic):
        return ((cond.axis, 0), (cond.axis, 1))
    return ()


def face_conditions(problem, where: str = "solve") -> dict[tuple[int, int], Any]:
    """The condition the collocation asks on each face `(axis, side)` of the grid box: a
    `Dirichlet` (or `InitialValue`, a Dirichlet condition on the initial slice), `Neumann` or
    `Robin`; `None` on a face no condition speaks about, where the exact solution gives
    Dirichlet data (as on `gp_advection`'s `t = 1` edge). Raises `ValueError` naming the face
    for a face whose only conditions the collocation cannot take (`Periodic`,
    `InitialVelocity`, ...), a face with two kinds of condition, or a face with no condition
    and no exact solution."""
    domain = problem.domain
    claims = {(a, s): [] for a in range(problem.dim) for s in (0, 1)}
    for cond in problem.conditions:
        for face in _claimed_faces(cond, domain):
            claims[tuple(face)].append(cond)
    out = {}
    for face, conds in claims.items():
        usable = [c for c in conds if isinstance(c, _FACE_KINDS)]
        kinds = {
            "Dirichlet" if isinstance(c, _DIRICHLET_KINDS) else type(c).__name__ for c in usable
        }
        if len(kinds) > 1:
            raise ValueError(
                f"{where}: face {face_name(problem, face)} of problem {problem.name!r} has "
                f"{' and '.join(sorted(kinds))} conditions; the GP collocation asks one "
                "condition per face"
            )
        if usable:
            out[face] = usable[0]
        elif conds:
            raise ValueError(
                f"{where}: face {face_name(problem, face)} of problem {problem.name!r} has a "
                f"{type(conds[0]).__name__} condition, which the GP collocation does not take "
                "(it takes Dirichlet, Neumann and Robin faces)"
            )
        elif problem.exact is not None:
            out[face] = None
        else:
            raise ValueError(
                f"{where}: face {face_name(problem, face)} of problem {problem.name!r} has no "
                "Dirichlet, Neumann or Robin condition and the problem no exact solution to "
                "take Dirichlet data from"
            )
    return out


def derivative_faces(problem, where: str = "solve") -> dict[tuple[int, int], Any]:
    """The faces with a `Neumann` or `Robin` condition (empty for a Dirichlet problem)."""
    faces = face_conditions(problem, where)
    return {f: c for f, c in faces.items() if isinstance(c, Neumann | Robin)}


def _condition_data(cond, problem, pts):
    """The data of a linear point condition at `pts`: minus its residual of the zero field."""
    zero = lambda y: 0.0 * y[0]  # noqa: E731
    return -jax.vmap(lambda x: cond.residual(zero, x, problem.params))(pts)


def boundary_system(problem, kernel, axes, pts, bmask, kfull):
    """The boundary rows of the collocation system and their data, one row per boundary grid
    point in grid order, and where the equation is asked: `(rows, values, equation)`, the last
    a mask of the grid points.

    A Dirichlet problem (no `Neumann` or `Robin` face) gives exactly the rows `K` and the
    Dirichlet data of the boundary points, as before there were other faces. Otherwise a point
    on a Dirichlet face gives the row `K` and its value, a corner where a Dirichlet face meets a
    Neumann or Robin one included (the value is data there, the normal derivative is not
    independent of it); a point on Neumann or Robin faces only gives `s D_i K` (Neumann) or
    `a K + b s D_i K` (Robin) and the condition's value, `D_i` the derivative across the face's
    axis `i` (the kernel's first-derivative Gram in that dimension, Kronecker with the other
    dimensions' Grams) and `s` the outward sign. At a corner of two such faces the data, a
    function of the point only, belong to one face: the lower faces before the upper ones, by
    axis, the face `Neumann.residual` picks there. The derivative rows and their data are
    divided by the largest entry of those rows, as `collocation_system` scales the operator
    rows, so that one relative regularisation fits every block.

    The equation is asked at the interior points and, as well, at the points of Neumann and
    Robin faces (not at Dirichlet points): collocating the PDE on the boundary too (Fedoseyev,
    Friedman and Kansa 2002), the system then has more rows than unknowns. A normal derivative
    at a grid point pins the values less than a value does; on `zoo_mixed_2d` with a
    `SpectralMixture(1, 0, 2)` kernel, asking the derivative alone gave 1.9e-5 at 16 points
    per dimension and 2.2e-6 at 24, with the equation as well 1.6e-6 and 2.7e-7 (all
    Dirichlet faces: 1.5e-6 and 2.1e-7)."""
    dfaces = derivative_faces(problem)
    if not dfaces:
        return kfull[bmask], boundary_values(problem, pts[bmask]), ~np.asarray(bmask)
    faces = face_conditions(problem)
    np_pts = np.asarray(pts)
    on = {(i, s): np_pts[:, i] == np.asarray(axes[i])[-1 if s else 0] for i, s in faces}
    dirichlet = np.zeros(len(np_pts), bool)
    for face in faces:
        if face not in dfaces:
            dirichlet |= on[face]
    bidx = np.flatnonzero(np.asarray(bmask))
    # which derivative face each boundary point takes (-1: Dirichlet), the first in
    # (side, axis) order winning at a corner
    ordered = sorted(dfaces, key=lambda f: (f[1], f[0]))
    face_of = np.full(len(np_pts), -1)
    for k in reversed(range(len(ordered))):
        face_of[on[ordered[k]] & ~dirichlet] = k
    face_of = face_of[bidx]
    rows = kfull[bidx]
    values = jnp.zeros(len(bidx), rows.dtype)
    if problem.exact is not None and np.any(face_of < 0):
        at = np.flatnonzero(face_of < 0)
        values = values.at[at].set(boundary_values(problem, pts[bidx[at]]))
    elif problem.exact is None:
        # each Dirichlet face's own data (every face has a condition: `face_conditions`)
        for face, cond in faces.items():
            at = np.flatnonzero((face_of < 0) & on[face][bidx])
            if face not in dfaces and at.size:
                values = values.at[at].set(_condition_data(cond, problem, pts[bidx[at]]))
    for k, (i, s) in enumerate(ordered):
        at = np.flatnonzero(face_of == k)
        if not at.size:
            continue
        cond = dfaces[(i, s)]
        factors = [
            gram_jit(kk, a, a, 1 if j == i else 0, 0)
            for j, (kk, a) in enumerate(zip(kernel.kernels, axes, strict=True))
        ]
        derivative = (1.0 if s else -1.0) * kron_dense(factors)[bidx[at]]
        row = derivative if isinstance(cond, Neumann) else cond.a * rows[at] + cond.b * derivative
        rows = rows.at[at].set(row)
        values = values.at[at].set(_condition_data(cond, problem, pts[bidx[at]]))
    is_derivative = jnp.asarray(face_of >= 0)
    scale = jnp.max(jnp.where(is_derivative[:, None], jnp.abs(rows), 0.0))
    weights = jnp.where(is_derivative, 1.0 / scale, 1.0)
    equation = ~np.asarray(bmask)
    equation[bidx[face_of >= 0]] = True
    return rows * weights[:, None], values * weights, equation
