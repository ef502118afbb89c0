"""`Kronecker`: the linear path on tensor grids (2D and up) that never forms an `N x N` matrix.

Linear operators whose terms each differentiate at most one dimension (Laplacian, Helmholtz,
advection) are, on the interior grid values, a sum of one-dimensional operators, one per
dimension (a Sylvester equation in 2D), solved by fast diagonalisation (`_sylvester.py`:
one eigendecomposition per dimension, O(n^(d+1)) for `n^d` points). Kernel coefficients for
evaluation anywhere come from GP interpolation of the grid values with the full product
kernel's eigendecomposition (`coefficients_of_values`). `grid_data` and `coefficients_of_values` are
shared with `NewtonKrylov`, the nonlinear path on values.
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
from .._kronecker import kron_matvec
from .._sylvester import _gram, axis_operator, solution_operator, tensor_solve
from ._faces import VALUE, axis_ends, face_grid_data, fill_faces, shifted_terms
from .base import AbstractSolver
from .dense import check_regularisation

# The defaults of the paths on grid values (`Kronecker`, `NewtonKrylov`'s `nugget`); the
# reasons and the measurements: `Kronecker`'s docstring, experiments/gp/kronecker.py --paths.
VALUES_REGULARISATION = 1e-11  # Tikhonov filter of each dimension's 1D collocation solve
VALUES_NUGGET = 1e-16  # values-to-coefficients filter, relative to the product's largest eigenvalue


def sylvester_terms(problem):
    """Per dimension `[(order, coefficient)]` if every term of the operator differentiates at
    most one dimension (zero-order terms go to dimension 0), else None. Odd orders (advection)
    give non-normal one-dimensional operators; `tensor_solve` checks the conditioning."""
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


def coefficients_of_values(kernel, axes, u, nugget):
    """`alpha`: GP interpolation of the grid values `u` with the product kernel
    `K = K_1 (x) ... (x) K_d`, through its eigendecomposition (one `eigh` per dimension) with
    the Tikhonov filter `lambda / (lambda^2 + (nugget lambda_max)^2)` on the eigenvalues
    `lambda = lambda_1,i lambda_2,j ...` of the product.

    Filtered on the product's eigenvalues, not each factor's: per-factor nuggets
    (`(K_1 + n I)^{-1} (x) (K_2 + n I)^{-1}`) cut every product mode that is small in one
    dimension, and had to be 1e-8 to keep the error of the grid values from growing between
    the points, which cost 1.3e-5 off the grid on gp_two_scale_2d from exact grid values.
    A Tikhonov filter rather than a nugget (`1 / (lambda + nugget lambda_max)`): rounding
    leaves eigenvalues of the product down to `-eps lambda_max`, which a nugget at the
    rounding level divides by nearly zero (at 1e-16 zoo_bump_2d went from 3.6e-7 to 1.1e-5);
    the filter's gain is at most `1 / (2 nugget lambda_max)` whatever the sign."""
    grams = [_gram(k, a, a, 0, 0) for k, a in zip(kernel.kernels, axes, strict=True)]
    eigs = [jnp.linalg.eigh(k) for k in grams]
    lam = eigs[0][0]
    for w, _ in eigs[1:]:
        lam = jnp.outer(lam, w).reshape(-1)
    floor = nugget * jnp.max(jnp.abs(lam))
    v = jnp.asarray(np.asarray(u).reshape(-1), lam.dtype)
    z = kron_matvec([q.T for _, q in eigs], v)
    return kron_matvec([q for _, q in eigs], z * lam / (lam**2 + floor**2))


class Kronecker(AbstractSolver):
    """The linear path on tensor grids in 2D and up by fast diagonalisation: on the interior
    values `U` the collocation equations are `sum_d A_d U (along dimension d) = R` (the
    Sylvester equation `A_1 X + X A_2^T = R` in 2D), solved with one eigendecomposition per
    dimension, O(n^(d+1)) for `n^d` points and never the `N x N` matrix; then the coefficients
    of the values (one direct solve: `steps` 1). Takes problems whose operator terms each
    differentiate at most one dimension (Laplacian, Helmholtz, advection); others raise.

    Faces (`_faces.py`): Dirichlet, Neumann and Robin faces per dimension, each a row of that
    dimension's 1D system at its end (`_sylvester.axis_operator`), and the last time of an
    initial-value problem of first order in time as a free end (heat, advection-diffusion as
    space-time operators: the time dimension is then solved per eigen-index of the others,
    not diagonalised). Its equations are the dense path's with the equation asked at the
    interior points only: `Dense` asks it on the Neumann and Robin faces as well (an
    overdetermined system, more accurate at a given grid: zoo_mixed_2d 1.4e-7 against 9.1e-6
    at 30^2 with `SpectralMixture(1, 0, 2)`), and takes Dirichlet data from `exact` at the
    last time where no condition speaks.

    - `regularisation`: the Tikhonov filter of each dimension's 1D collocation solve (the SVD
      of the square 1D collocation matrix), relative to its largest singular value. Not
      `Dense`'s 1e-13: the 1D solution operator is the product of the Gram matrix and the
      filtered inverse (norm `1 / regularisation`), whose rounding (~1e-16 / regularisation)
      is the error of the grid values at 1e-13 (5.5e-5 on gp_two_scale_2d); at 1e-10 the
      filter's bias takes over (2e-5 on zoo_multiscale_2d). The default, 1e-11, measured on
      the 2D rows of experiments/gp/kronecker.py --paths.
    - `nugget`: the Tikhonov filter of the values-to-coefficients interpolation, relative to
      the largest eigenvalue of the product kernel (`coefficients_of_values`). The default,
      1e-16, the rounding of that eigenvalue: the error between the points fell with it on
      every row measured (zoo_interior_layer_2d: 1.9e-4 at 1e-14, 1.5e-4 at 1e-15, 1.2e-4 at
      1e-16; the others at their grid-value error), and at 1e-17 rose by at most 25%.
    """

    regularisation: float = eqx.field(static=True, default=VALUES_REGULARISATION)
    nugget: float = eqx.field(static=True, default=VALUES_NUGGET)
    method: ClassVar[str] = "kronecker"

    def __check_init__(self):
        check_values_path(self)

    def solve(self, problem, kernel, axes) -> Coefficients:
        terms = None
        if len(axes) >= 2 and problem.operator is not None:
            terms = sylvester_terms(problem)
        if terms is None:
            raise ValueError(
                f"Kronecker: takes 2D linear problems (and 3D and up) whose operator terms "
                f"each differentiate one dimension (Laplacian, Helmholtz, advection), not "
                f"{problem.name!r}"
            )
        ends, _ = axis_ends(problem, terms)
        if any(end != VALUE for pair in ends for end in pair):
            return self._solve_faces(problem, kernel, axes, terms, ends)
        ops = [
            solution_operator(k, ax, t, self.regularisation)
            for k, ax, t in zip(kernel.kernels, axes, terms, strict=True)
        ]
        pts, shape, _, g = grid_data(problem, axes)
        f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts)).reshape(shape)
        inner = (slice(1, -1),) * len(axes)
        u = g.copy()
        u[inner] = tensor_solve(ops, f[inner], g)
        alpha = coefficients_of_values(kernel, axes, u, self.nugget)
        return Coefficients(alpha, 1, True, RESULTS.successful, "", {})

    def _solve_faces(self, problem, kernel, axes, terms, ends) -> Coefficients:
        """Neumann, Robin or free ends on some dimension (`_faces.py`)."""
        terms = shifted_terms(problem, terms, ends, axes)
        ops = [
            axis_operator(k, ax, t, self.regularisation, e)
            for k, ax, t, e in zip(kernel.kernels, axes, terms, ends, strict=True)
        ]
        _, faces = axis_ends(problem, terms)
        free = [i for i, pair in enumerate(ends) if None in pair]
        pts, shape = mesh(axes), tuple(len(a) for a in axes)
        values, is_value, data, single, multi, masks = face_grid_data(problem, axes, ends, faces)
        boundary = np.where(is_value, values, 0.0)
        for f, dat in data.items():
            boundary = np.where(masks[f] & single, dat, boundary)
        f = np.asarray(jax.vmap(lambda x: problem.source(x, problem.params))(pts)).reshape(shape)
        inner = tuple(op.pde for op in ops)
        layouts = [(op.pde, op.conditions) for op in ops]
        u = np.zeros(shape)
        u[inner] = tensor_solve(
            [(op.m, op.h) for op in ops],
            f[inner],
            boundary,
            layouts=layouts,
            direct=free[0] if free else None,
        )
        fill_faces(u, ops, ends, values, is_value, data, single, multi, masks)
        alpha = coefficients_of_values(kernel, axes, u, self.nugget)
        return Coefficients(alpha, 1, True, RESULTS.successful, "", {})
