"""`AutoSolver`: which solver path `gp.solve` takes for a problem and grid, as lineax's
`AutoLinearSolver.select_solver`."""

from __future__ import annotations

import equinox as eqx
import numpy as np

from ..._checks import check_int
from .base import AbstractSolver
from .dense import Dense
from .gauss_newton import GaussNewton
from .kronecker import Kronecker, sylvester_terms
from .newton_krylov import NewtonKrylov


def _check_candidate(value, name, cls):
    if not isinstance(value, cls):
        raise TypeError(
            f"AutoSolver: `{name}` must be a gp.{cls.__name__}, got {type(value).__name__}"
        )


class AutoSolver(eqx.Module):
    """The default of `gp.solve(solver=None)`: chooses a solver path by the problem and the
    grid. `select` says which, without solving.

    - 1D, or at most `max_points` grid points: the dense paths, `dense` for a linear problem
      (`problem.operator`), `gauss_newton` for a nonlinear one.
    - Larger grids: `kronecker` for a linear problem whose operator terms each differentiate
      one dimension (2D and up), `newton_krylov` for a nonlinear one (2D). Anything else
      (mixed derivatives, nonlinear problems in 3D and above) raises.

    - `max_points`: the largest grid the dense paths take in 2D and above. The dense matrix
      has `N^2` entries and its SVD costs `O(N^3)` (at 2500 points, 50 x 50, a 50 MB matrix);
      the Kronecker paths cost `O(n^3)` per dimension of `n` points and `O(n^(d+1))` in all
      (100^3 points: about 10 s).
    - `dense`, `gauss_newton`, `kronecker`, `newton_krylov`: the solver taken on each path,
      with its settings (the defaults of each class).
    """

    max_points: int = eqx.field(static=True, default=2500)
    dense: Dense = eqx.field(default_factory=Dense)
    gauss_newton: GaussNewton = eqx.field(default_factory=GaussNewton)
    kronecker: Kronecker = eqx.field(default_factory=Kronecker)
    newton_krylov: NewtonKrylov = eqx.field(default_factory=NewtonKrylov)

    def __check_init__(self):
        check_int(self.max_points, "max_points", "AutoSolver")
        _check_candidate(self.dense, "dense", Dense)
        _check_candidate(self.gauss_newton, "gauss_newton", GaussNewton)
        _check_candidate(self.kronecker, "kronecker", Kronecker)
        _check_candidate(self.newton_krylov, "newton_krylov", NewtonKrylov)

    def select(self, problem, axes) -> AbstractSolver:
        """The solver `gp.solve` takes for `problem` on the tensor grid of `axes` (one 1D array
        of points per dimension, e.g. `gp.grid_axes(problem, 200)`)."""
        dim = len(axes)
        n_points = int(np.prod([len(a) for a in axes]))
        linear = problem.operator is not None
        if dim == 1 or n_points <= self.max_points:
            return self.dense if linear else self.gauss_newton
        if linear and sylvester_terms(problem) is not None:
            return self.kronecker
        if dim == 2 and not linear:
            return self.newton_krylov
        raise ValueError(
            f"solve: `grid` has {n_points} points; the dense path takes at most `max_points`="
            f"{self.max_points} in {dim}-D; the Kronecker paths take linear problems whose "
            "terms each differentiate one dimension (Laplacian, Helmholtz, advection; 2D and "
            "up) and 2D nonlinear ones of the form `s1 u_xx + s2 u_yy + F(x, u)` "
            "(Allen-Cahn), not this problem"
        )
