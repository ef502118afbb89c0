"""`Dense`: linear collocation, one Tikhonov-filtered least-squares solve of the formed system."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import numpy as np

from ..._checks import check_float
from ..._results import RESULTS
from .._collocation import (
    Coefficients,
    boundary_system,
    collocation_system,
    filtered_lstsq,
    gram_jit,
    kernel_gram,
)
from .._grid import boundary_mask, mesh
from .._kronecker import kron_dense, operator_factors
from .base import REGULARISATION, AbstractSolver


def check_regularisation(solver) -> None:
    check_float(solver.regularisation, "regularisation", type(solver).__name__, positive=True)


class Dense(AbstractSolver):
    """The linear path: the collocation rows `L K` (interior) and the boundary rows (`K` on
    Dirichlet faces, the kernel's normal derivative on Neumann and Robin ones,
    `_collocation.boundary_system`) formed as one matrix, Kronecker products of per-dimension
    derivative Grams one operator term at a time, and `alpha` from one Tikhonov-filtered SVD
    least-squares solve in float64 (`_collocation.py`). This is what the published Adam
    training converges towards for fixed kernel parameters, in one step. Needs
    `problem.operator` (constant coefficients; a residual with variable ones is `GaussNewton`'s);
    any dimension, but the matrix has `N x N` entries for `N` grid points (`AutoSolver` takes it
    up to `max_points` in 2D and above).

    - `regularisation`: the Tikhonov filter, relative to the largest singular value. The rows
      are Gram rows of a smooth kernel, with singular values down to ~1e-16 of the largest: the
      default, 1e-13, a few hundred float64 roundings of the largest, filters only the
      directions that rounding already decides.
    """

    regularisation: float = eqx.field(static=True, default=REGULARISATION)
    method: ClassVar[str] = "linear"

    def __check_init__(self):
        check_regularisation(self)

    def solve(self, problem, kernel, axes) -> Coefficients:
        if problem.operator is None:
            raise ValueError(
                f"Dense: problem {problem.name!r} is nonlinear (no `operator`); the linear "
                "path needs `operator`/`source`: use gp.GaussNewton()"
            )
        pts = mesh(axes)
        bmask = np.asarray(boundary_mask(axes))
        kfull = kernel_gram(kernel, axes)
        rows, g, equation = boundary_system(problem, kernel, axes, pts, bmask, kfull)
        op = problem.operator
        grams = lambda i, a: gram_jit(kernel.kernels[i], axes[i], axes[i], a, 0)  # noqa: E731
        factors = operator_factors(op.orders, op.coefficients, grams)
        lk = sum(c * kron_dense(fs) for c, fs in factors)
        f = jax.vmap(lambda x: problem.source(x, problem.params))(pts[equation])
        a, b = collocation_system(lk[equation], rows, f, g)
        alpha = filtered_lstsq(a, b, self.regularisation)
        return Coefficients(alpha, 1, True, RESULTS.successful, "", {})
