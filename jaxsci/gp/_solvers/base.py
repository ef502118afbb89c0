"""`AbstractSolver`: one path of `gp.solve` from a problem, a kernel and a grid to the kernel
coefficients of the collocation solution."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import equinox as eqx
from jaxtyping import Array

from ...pde._problem import Problem
from .._collocation import Coefficients
from .._kernels import Product

# the defaults the solver paths share, each stated once (their reasons: the solvers' docstrings)
REGULARISATION = 1e-13  # Tikhonov filter, relative to the largest singular value
STEPS = 20  # Gauss-Newton / Newton-Krylov step limit
TOL = 3e-8  # relative change of the grid values at which they stop


class AbstractSolver(eqx.Module):
    """A solver path of `gp.solve`: `Dense`, `GaussNewton`, `Kronecker` or `NewtonKrylov`.

    Each holds its settings (static fields, checked on construction) and solves one problem on
    one tensor grid. `method` is the name `GPSolution.stats["method"]` reports.
    """

    method: eqx.AbstractClassVar[str]

    @abc.abstractmethod
    def solve(self, problem: Problem, kernel: Product, axes: Sequence[Array]) -> Coefficients:
        """The coefficients `alpha` of the collocation solution of `problem` with `kernel` on
        the tensor grid of `axes` (one 1D array per dimension, end points included), with the
        iterations taken, the result code and the per-step history (`Coefficients`). Raises
        `ValueError` when this path cannot take `problem`."""
