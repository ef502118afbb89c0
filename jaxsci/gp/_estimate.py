"""The a-posteriori error estimate of a GP solve, and the solve to a tolerance.

A user's problem has no exact solution, so the relative L2 error of a `GPSolution` is estimated
from the solver alone: the problem is solved again on a grid `growth` times finer per dimension
(default 1.5), and the estimate is the relative L2 difference of the two means on a uniform
evaluation grid (300 points per dimension, the grid of `GPSolution.error`),

    estimate(u_n) = ||u_n - u_m|| / ||u_m||,   m = ceil(growth * n) per dimension.

Why this one: kernel collocation with a spectral-mixture kernel converges spectrally in the
grid spacing, so `u_m` is much closer to the truth than `u_n` and `u_n - u_m` is the error of
`u_n` up to the (much smaller) error of `u_m`. Where the solve has reached its floor (rounding,
the Tikhonov filter) the two errors are comparable and the difference is still of their size.
The finer solve reuses the solution's kernel (a kernel passed by hand, trained, or the default
one read off the source on the coarse grid). Re-deriving the default kernel on the finer grid
instead was measured too (`experiments/gp/estimate.py`, BENCHMARKS.md "GP error estimate"): the
two agree to a few per cent wherever the grid resolves the solution, and on grids too coarse to
(8 points for `poisson_1d`, 8^2 for `poisson_2d`) the re-derived kernel's frequencies differ
from the coarse one's and the difference under-estimates the error (ratio 0.24 and 0.6 against
0.97 and 0.98 with the same kernel); the same kernel is also the cheaper second solve. The
other candidates, the residual of the collocation equations at the midpoints of the grid and
the GP posterior variance, were measured there too; neither is calibrated (BENCHMARKS.md).

What two grids cannot see: an error common to both (a floor of the solver path, such as the
Kronecker path's on `zoo_dirichlet_data_2d`, 8.7e-6 at 275^2 while the 275^2 and 413^2
solutions differed by 1.5e-6). So below 1e-2 `error_estimate` also solves `growth` times
coarser and takes the tail bound (`_tail_bound`) of the two differences, as
`solve_to_tolerance` does over its whole sequence of grids: about the first difference under
spectral convergence, larger where the differences stop shrinking, `inf` where they do not
shrink (then the estimate says it cannot tell, rather than claim an error below the floor).
The coarser solve costs `growth^-3` of the solve in 1D.

The cost of the estimate is one solve at the finer grid: in 1D (a dense `O(n^3)` solve)
about `growth^3 = 3.4` times the solve, in 2D more on the dense path and about
`growth^2`-`growth^3` on the Kronecker one. `solve_to_tolerance` gets its estimates for free:
the solves it makes to refine are the same solves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from .._results import RESULTS, raise_if_failed
from ..pde._problem import Problem, relative_l2
from ._kernels import AbstractKernel
from ._solution import GPSolution
from ._solve import solve

# relative L2 differences above this are not trusted alone: the finer grid may not resolve the
# solution either (measured: BENCHMARKS.md "GP error estimate")
UNRESOLVED = 1e-2


def finer_grid(shape: Sequence[int], growth: float) -> tuple[int, ...]:
    """`ceil(growth * n)` points per dimension, at least one more than `n`."""
    return tuple(max(int(math.ceil(growth * n - 1e-9)), n + 1) for n in shape)


def evaluation_points(solution: GPSolution, points: ArrayLike | None = None):
    """The points the estimate compares on: `points`, or the uniform grid of
    `GPSolution.error` (300 per dimension; at most ~2e6 points in all, so 125 per dimension
    in 3D)."""
    if points is not None:
        return jnp.asarray(points, solution.points.dtype)
    dim = len(solution.shape)
    m = min(300, int(round(2e6 ** (1.0 / dim))))
    return solution.problem.domain.grid((m,) * dim, solution.points.dtype)


def difference(coarse: GPSolution, fine: GPSolution, points: ArrayLike | None = None) -> float:
    """`||coarse - fine|| / ||fine||` on `points` (default: `evaluation_points`)."""
    points = evaluation_points(coarse, points)
    return float(relative_l2(coarse(points), fine(points)))


def _finer_solve(solution: GPSolution, growth: float, kernel) -> GPSolution:
    kernel = solution.kernel if isinstance(kernel, str) else kernel  # "same"
    # only the arguments common to every signature of `solve`: problem, kernel, grid, throw
    return solve(solution.problem, kernel, grid=finer_grid(solution.shape, growth), throw=False)


def error_estimate(
    solution: GPSolution,
    *,
    growth: float = 1.5,
    kernel: AbstractKernel | str | None = "same",
    unresolved: float = UNRESOLVED,
    tail: bool = True,
    points: ArrayLike | None = None,
) -> float:
    """An estimate of `solution.error()` (its relative L2 error) that needs no exact solution.

    The problem is solved again with `gp.solve` on a grid `growth` times finer per dimension
    and the estimate is the relative L2 difference of the two means on `points` (module
    docstring: why this works, what it costs, how well it was measured to work). Where that
    difference is above `unresolved` the finer solve may be as wrong as the first (the grid
    does not resolve the solution, or a kernel read off a coarse grid missed it); one more
    solve, `growth^2` finer with the default kernel re-derived on its grid, is compared too and
    the estimate is the larger difference. Where it is at most `unresolved` and `tail` is
    set, the problem is also solved `growth` times coarser and the estimate is the tail bound
    `d_1 / (1 - d_1 / d_0)` of the two differences (`d_0` between the coarser solve and this
    one, `d_1` between this one and the finer), the bound `solve_to_tolerance` uses: about
    `d_1` under spectral convergence, larger where the differences stop shrinking (an error
    floor common to the grids, which `d_1` alone cannot see), `inf` where they do not shrink.
    It never calls `problem.exact`.

    **Arguments:**

    - `solution`: a `GPSolution` from `gp.solve`.
    - `growth`: the refinement factor per dimension of the second solve (> 1).
    - `kernel`: the kernel of the second solve: `"same"` (`solution.kernel`, whether it was
      the default kernel, passed by hand or trained), `None` (the default kernel, re-derived
      on the finer grid), or a kernel.
    - `unresolved`: the difference above which the third solve is made (relative L2).
    - `tail`: bound the tail with a coarser solve (below `unresolved`); `False`: the first
      difference alone.
    - `points`: where the means are compared; default the uniform grid of
      `GPSolution.error` (300 points per dimension, 125 in 3D).

    **Returns:** the estimate, a float; `inf` when a finer solve fails (non-finite result).
    Where `gp.solve` refuses the finer grid (past the dense path's size with no Kronecker path
    for the problem, or an ill-conditioned Kronecker solve) the estimate is the difference
    from a solve `growth` times coarser instead: the coarser grid's error, an over-estimate;
    where it refuses the third grid, the default kernel is re-derived on the first finer one.
    """
    if not isinstance(solution, GPSolution):
        raise TypeError(
            f"error_estimate: `solution` must be a GPSolution, got {type(solution).__name__}"
        )
    if isinstance(growth, bool) or not isinstance(growth, (int, float)) or not growth > 1:
        raise ValueError(f"error_estimate: `growth` must be a number > 1, got {growth!r}")
    if isinstance(kernel, str) and kernel != "same":
        raise ValueError(
            f"error_estimate: `kernel` must be 'same', None or a kernel, got {kernel!r}"
        )
    try:
        fine = _finer_solve(solution, growth, kernel)
    except ValueError:
        # a finer grid no path of `gp.solve` takes (too large for the dense path, or an
        # ill-conditioned Kronecker solve): compare with a coarser solve instead, whose
        # difference estimates the coarser grid's error, an over-estimate of this one's
        coarse = solve(
            solution.problem, solution.kernel, grid=coarser_grid(solution, growth), throw=False
        )
        return difference(coarse, solution, points) if coarse.result.ok else math.inf
    if fine.result is RESULTS.nonfinite:
        return math.inf
    estimate = difference(solution, fine, points)
    if estimate > unresolved:
        kernel = None if solution.problem.source is not None else fine.kernel
        try:
            finer = _finer_solve(solution, growth**2, kernel)
        except ValueError:  # as above: the re-derived kernel on the first finer grid instead
            finer = _finer_solve(solution, growth, kernel)
        if finer.result is RESULTS.nonfinite:
            return math.inf
        estimate = max(estimate, difference(solution, finer, points))
    elif tail:
        try:
            coarse = _coarser_solve(solution, growth, kernel)
        except ValueError:  # a coarser grid `gp.solve` refuses: the first difference alone
            return estimate
        if coarse.result.ok:
            estimate = _tail_bound([difference(coarse, solution, points), estimate])
    return estimate


def _coarser_solve(solution: GPSolution, growth: float, kernel) -> GPSolution:
    kernel = solution.kernel if isinstance(kernel, str) else kernel  # "same"
    return solve(solution.problem, kernel, grid=coarser_grid(solution, growth), throw=False)


def coarser_grid(solution: GPSolution, growth: float) -> tuple[int, ...]:
    """`round(n / growth)` points per dimension, at least 3."""
    return tuple(max(3, int(round(n / growth))) for n in solution.shape)


def _tail_bound(differences: list[float]) -> float:
    """The error of `u_k` from the differences `d_j = ||u_j - u_{j+1}||` so far: the tail
    `sum_{j >= k} d_j <= d_k / (1 - q)` of a sequence whose differences shrink by `q =
    d_k / d_{k-1}` per grid (`inf` where they do not shrink). Spectral convergence makes `q`
    small and the bound about `d_k`; at an error floor shared by the grids `q` nears 1 and the
    bound grows, where `d_k` alone would under-estimate (`zoo_dirichlet_data_2d`: differences
    1.7e-6, 1.6e-6, 1.5e-6 between 183^2, 275^2 and 413^2, error 8.7e-6 at 275^2). The first
    difference alone is used only at or below 1e-2 (below that the grids resolve the
    solution: BENCHMARKS.md)."""
    d = differences[-1]
    if len(differences) == 1:
        return d if d <= UNRESOLVED else math.inf
    q = d / differences[-2] if differences[-2] > 0 else math.inf
    return d / (1.0 - q) if q < 1.0 else math.inf


def solve_to_tolerance(
    problem: Problem,
    tol: float,
    *,
    kernel: AbstractKernel | Sequence[AbstractKernel] | None = None,
    grid: int | Sequence[int] | None = None,
    solver: Any = None,
    growth: float = 1.5,
    max_points: int | None = None,
    safety: float = 3.0,
    throw: bool = True,
) -> GPSolution:
    """Solve `problem` with `gp.solve` on finer and finer grids until the error estimate is
    below `tol / safety`, or the budget is reached.

    Grid `n_0 = grid`, then `n_{k+1} = ceil(growth * n_k)` per dimension. After each solve
    past the first, `d_k = ||u_k - u_{k+1}|| / ||u_{k+1}||` (`error_estimate`'s first
    difference, with the default kernel re-derived at every grid), and the estimate of the
    error of `u_k` is `d_k / (1 - d_k / d_{k-1})`, the tail of the differences if they keep
    shrinking at their last rate (`inf` where they do not shrink; `d_0` itself where it is at
    most 1e-2). The loop stops at the first estimate `<= tol / safety` and returns `u_k`,
    the solution that estimate is about. Not the finer `u_{k+1}`: where the error has reached
    its floor it need not be smaller (`zoo_dirichlet_data_2d`: 1.5e-6 between 275^2 and
    413^2, the error at 413^2 9.3e-6).

    **Arguments:**

    - `problem`: as for `gp.solve`.
    - `tol`: the requested relative L2 error (> 0).
    - `kernel`: as for `gp.solve`; `None` (the default kernel) is re-derived at every grid.
    - `grid`: the first grid (an int or one per dimension); default 32 points per dimension
      in 1D, 16 in 2D and 8 in 3D.
    - `solver`: as for `gp.solve` (`None`: `AutoSolver()`, which takes the dense path on the
      small grids and the Kronecker paths past its `max_points`).
    - `growth`: the refinement factor per dimension (> 1).
    - `safety`: the estimate must be at most `tol / safety`. The estimate was measured within
      0.3x to 1.6x of the true error on the catalogue and the zoo (BENCHMARKS.md, "GP error
      estimate"; its goal is never below a third), so at 3 the true error is at most `tol`
      wherever the estimate holds its goal; at 1 `tol` was missed by up to 1.2x (and more
      on an error floor common to every grid, which no estimate from grids sees). Costs
      about one more grid.
    - `max_points`: the budget, in grid points of one solve (all dimensions together): no
      grid past it is solved. `None`: 3000 in 1D (the dense solve, `O(n^3)`, is then a few
      seconds), 600^2 in 2D and 100^3 in 3D (the Kronecker paths), 16^3 above.
    - `throw`: raise `jaxsci.SolveFailed` (its `.solution` holds the solution) when the
      result is not `RESULTS.successful`.

    **Returns:** the `GPSolution` the last estimate is about (the first grid's where there is
    none), with `result` `RESULTS.successful` (estimate at or below `tol / safety`),
    `RESULTS.tolerance_not_met` (the budget was reached first, `gp.solve` refused a finer grid
    or a finer solve failed) or the failing result of the first solve (`not_converged`,
    `nonfinite`). Its `stats` gain `estimate` (the last estimate; `inf` when only one grid
    was solved), `tol`, `grids` (the grids solved, in order), `differences` (`d_0, d_1,
    ...`), `estimates` (one per difference),
    `tolerance_wall_s` (all the solves and comparisons) and, when a finer grid was refused,
    `stopped` (why).
    """
    if not isinstance(problem, Problem):
        raise TypeError(
            f"solve_to_tolerance: `problem` must be a Problem, got {type(problem).__name__}"
        )
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise ValueError(f"solve_to_tolerance: `tol` must be a number > 0, got {tol!r}")
    if isinstance(growth, bool) or not isinstance(growth, (int, float)) or not growth > 1:
        raise ValueError(f"solve_to_tolerance: `growth` must be a number > 1, got {growth!r}")
    if isinstance(safety, bool) or not isinstance(safety, (int, float)) or not safety >= 1:
        raise ValueError(f"solve_to_tolerance: `safety` must be a number >= 1, got {safety!r}")
    if max_points is None:
        max_points = {1: 3000, 2: 360_000, 3: 1_000_000}.get(problem.dim, 4096)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(
            f"solve_to_tolerance: `max_points` must be a positive int, got {max_points!r}"
        )
    if grid is None:
        grid = {1: 32, 2: 16}.get(problem.dim, 8)
    t0 = time.perf_counter()
    current = solve(problem, kernel, grid=grid, solver=solver, throw=False)
    grids: list[tuple[int, ...]] = [current.shape]
    differences: list[float] = []
    estimates: list[float] = []
    estimated = current  # the solution the last estimate is about
    result, detail, stopped = RESULTS.tolerance_not_met, "", None
    if not current.result.ok:
        result, detail = current.result, f"the solve at grid {current.shape} failed"
    while current.result.ok:
        shape = finer_grid(current.shape, growth)
        if int(np.prod(shape)) > max_points:
            detail = f"the next grid {shape} has more than `max_points`={max_points} points"
            break
        try:
            fine = solve(problem, kernel, grid=shape, solver=solver, throw=False)
        except ValueError as err:  # a grid no path of `gp.solve` takes
            stopped = str(err)
            detail = f"gp.solve refused the next grid {shape}: {err}"
            break
        grids.append(shape)
        if not fine.result.ok:
            detail = f"the solve at grid {shape} ended {fine.result.name}"
            break
        differences.append(difference(current, fine))
        estimated = current
        estimates.append(_tail_bound(differences))
        if estimates[-1] <= tol / safety:
            result = RESULTS.successful
            break
        current = fine
    if result is RESULTS.tolerance_not_met:
        if not detail:
            detail = f"the estimate did not fall below `tol / safety` ({tol / safety:.2e})"
        shown = f"{estimates[-1]:.2e}" if estimates else "none (one grid solved)"
        detail = f"{detail}; last estimate {shown} against tol {tol:.2e}"
    current = estimated
    stats: dict[str, Any] = dict(current.stats)
    stats.update(
        estimate=estimates[-1] if estimates else math.inf,
        differences=differences,
        tol=float(tol),
        grids=grids,
        estimates=estimates,
        tolerance_wall_s=time.perf_counter() - t0,
    )
    if stopped is not None:
        stats["stopped"] = stopped
    out = GPSolution(
        current.kernel,
        current.coefficients,
        current.points,
        current.shape,
        current.problem,
        current.params,
        current.history,
        stats,
        result,
    )
    return raise_if_failed("gp.solve_to_tolerance", result, detail, out, throw)
