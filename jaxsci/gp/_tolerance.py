"""`gp.solve(problem, tol=...)`: the grid refined until the error estimate (`_estimate.py`) is
below the tolerance, or a budget is reached."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._results import RESULTS, raise_if_failed
from ..pde._problem import Problem
from ._estimate import _PROBES, _tail_bound, difference, finer_grid, floor_differences
from ._kernels import AbstractKernel
from ._solution import GPSolution
from ._solve import solve


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
    most 1e-2). At the first estimate `<= tol / safety` the floors of the settings are
    probed too (`floor_differences`, two solves at `u_k`'s grid) and the estimate becomes
    the larger; where a probe is above `tol / safety` the loop refines on (on a coarse grid
    the kernel matters more than at the floor) and stops with `tolerance_not_met` at the
    first grid whose probe did not halve since the last one probed (a floor no finer grid
    lowers). It returns `u_k`,
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
    floor = None  # the largest probe of the settings' floors, and the grid probed
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
            # before claiming it, the floors of the settings (`floor_differences`): a probe
            # above `tol / safety` may still shrink on a finer grid (a kernel that matters
            # because the grid is coarse), so refine on, and stop where it did not shrink
            probes = floor_differences(current)
            estimates[-1] = max(estimates[-1], *probes.values())
            if estimates[-1] <= tol / safety:
                result = RESULTS.successful
                break
            worst = max(probes, key=probes.get)
            if floor is not None and probes[worst] > floor[0] / 2:
                detail = (
                    f"the solves at grids {floor[1]} and {current.shape} are at a floor of "
                    f"their settings: moving the {_PROBES[worst]} moves them by "
                    f"{floor[0]:.2e} and {probes[worst]:.2e}, above `tol / safety` "
                    f"({tol / safety:.2e}), and finer grids do not lower it"
                )
                break
            floor = (probes[worst], current.shape)
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
