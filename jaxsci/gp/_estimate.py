"""The a-posteriori error estimate of a GP solve (the solve to a tolerance, `_tolerance.py`,
refines on the same differences).

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

What two grids cannot see: an error common to both. Below 1e-2 `error_estimate` also solves
`growth` times coarser and takes the tail bound (`_tail_bound`) of the two differences, as
`solve_to_tolerance` does over its whole sequence of grids: about the first difference under
spectral convergence, larger where the differences stop shrinking. A floor set by the
solver's settings rather than by the grid is not seen that way either, and two settings set
floors here. The estimate probes each with one solve on the solution's own grid, the setting
moved by a small factor (`floor_differences`): the Tikhonov filter of the solve (x3:
gp_neumann_1d's error 2.4e-7 at 200 points, heat_1d_linear's 2.9e-6 at 200^2, where the
grids' bound said 7e-8 and 9e-7), and the kernel's spectral reach (every component's spectral
scale x1.2, its envelope 1.2x narrower: zoo_interior_layer_2d's front needs frequencies past
the default envelope's reach, 1.22e-4 at 100^2, 150^2 and 200^2 with grid differences of
2e-5). A solve limited by a setting moves by about its error when the setting moves; one
limited by the grid does not move, and the grids' bound stands. Below 1e-2 the estimate is
the larger of the grids' bound and the two probes; where the grids' differences do not shrink
(the tail bound is `inf`: the solve is at a floor) it is the largest of the two differences
and the probes, rather than `inf`. Measured on the GP zoo and the catalogue table
(BENCHMARKS.md, "The estimate's floor probes"). A floor set by something neither probe moves
(a solver path's nugget, a Newton stopping rule) stays unseen. The coarser solve costs
`growth^-3` of the solve in 1D, each probe about one solve (and its compilation: the probes'
settings are static).

The cost of the estimate is mostly one solve at the finer grid: in 1D (a dense `O(n^3)`
solve) about `growth^3 = 3.4` times the solve, in 2D more on the dense path and about
`growth^2`-`growth^3` on the Kronecker one; then the coarser solve and the two probes.
`solve_to_tolerance` gets the grids' estimates for free (the solves it makes to refine are the
same solves) and probes at a grid where it would stop.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import ArrayLike

from .._checks import check_bool
from .._results import RESULTS
from ..pde._problem import relative_l2
from ._kernels import (
    AbstractKernel,
    Matern32,
    Matern52,
    Product,
    SquaredExponential,
    _AbstractMixture,
)
from ._solution import GPSolution
from ._solve import solve
from ._solvers.auto import AutoSolver

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


# the probes of a floor common to every grid (module docstring): the Tikhonov filter x3, the
# kernel's spectral scales x1.2 (measured on the GP zoo; x10 and x1.4 over-estimate more)
FILTER_FACTOR = 3.0
SCALE_FACTOR = 1.2

_PROBES = {
    "filter": f"Tikhonov filter (x{FILTER_FACTOR:g})",
    "kernel": f"kernel's spectral scales (x{SCALE_FACTOR:g})",
}


def _filter_scaled(factor: float) -> AutoSolver:
    """`AutoSolver()` with the Tikhonov filter of every path multiplied by `factor`."""
    auto = AutoSolver()
    paths = ("dense", "gauss_newton", "kronecker", "newton_krylov")
    return AutoSolver(
        max_points=auto.max_points,
        **{path: _with_filter(getattr(auto, path), factor) for path in paths},
    )


def _with_filter(solver, factor):
    return dataclasses.replace(solver, regularisation=solver.regularisation * factor)


def narrowed(kernel: AbstractKernel, factor: float) -> AbstractKernel | None:
    """`kernel` with every spectral scale multiplied by `factor` (every length scale divided
    by it): a mixture's components reach `factor` times further in frequency, their spatial
    envelopes are `factor` times narrower. `None` for a kernel with no scale this knows."""
    if isinstance(kernel, Product):
        parts = [narrowed(k, factor) for k in kernel.kernels]
        return None if any(k is None for k in parts) else Product(parts)
    if isinstance(kernel, _AbstractMixture):
        return eqx.tree_at(lambda k: k.log_scales, kernel, kernel.log_scales + math.log(factor))
    if isinstance(kernel, (SquaredExponential, Matern32, Matern52)):
        return eqx.tree_at(
            lambda k: k.log_lengthscale, kernel, kernel.log_lengthscale - math.log(factor)
        )
    return None


def floor_differences(
    solution: GPSolution,
    points: ArrayLike | None = None,
    *,
    filter_factor: float = FILTER_FACTOR,
    scale_factor: float = SCALE_FACTOR,
) -> dict[str, float]:
    """The relative L2 differences of `solution` from two solves on its own grid, each with one
    setting moved: `"filter"`, the Tikhonov filter of every solver path times `filter_factor`;
    `"kernel"`, the solution's kernel `narrowed` by `scale_factor` (by `1 / scale_factor`
    where `gp.solve` refuses that one). A solve whose error is set by that setting, not by
    the grid, moves by about its error (module docstring). `inf` where a probe's solve fails;
    a probe is absent where the kernel has no scale `narrowed` knows or `gp.solve` refuses
    every try. The probes take the solver paths' default settings (filter x `filter_factor`),
    as the estimate's finer and coarser solves do: a solution solved with a filter of its own
    is compared with the default's."""
    problem, grid = solution.problem, solution.shape
    out = {}
    probes = {"filter": [(solution.kernel, _filter_scaled(filter_factor))]}
    # the kernel the other way where `gp.solve` refuses the narrower one (an ill-conditioned
    # Kronecker solve: zoo_poisson_3d at 200^3)
    kernels = [narrowed(solution.kernel, f) for f in (scale_factor, 1.0 / scale_factor)]
    if kernels[0] is not None:
        probes["kernel"] = [(k, None) for k in kernels]
    for name, tries in probes.items():
        for kernel, solver in tries:
            try:
                probe = solve(problem, kernel, grid=grid, solver=solver, throw=False)
            except ValueError:  # a probe the solver refuses: the next try, else none
                continue
            out[name] = difference(solution, probe, points) if probe.result.ok else math.inf
            break
    return out


def error_estimate(
    solution: GPSolution,
    *,
    growth: float = 1.5,
    kernel: AbstractKernel | str | None = "same",
    unresolved: float = UNRESOLVED,
    tail: bool = True,
    floor: bool = True,
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
    floor common to the grids, which `d_1` alone cannot see). Where it is at most
    `unresolved` and `floor` is set, the two probes of a floor set by the solver's settings
    (`floor_differences`: the Tikhonov filter x3, the kernel's spectral scales x1.2, each one
    solve on this grid) bound it from below too, and where the grids' differences do not
    shrink (the tail bound is `inf`) the estimate is the largest of `d_0`, `d_1` and the
    probes. It never calls `problem.exact`.

    **Arguments:**

    - `solution`: a `GPSolution` from `gp.solve`.
    - `growth`: the refinement factor per dimension of the second solve (> 1).
    - `kernel`: the kernel of the second solve: `"same"` (`solution.kernel`, whether it was
      the default kernel, passed by hand or trained), `None` (the default kernel, re-derived
      on the finer grid), or a kernel.
    - `unresolved`: the difference above which the third solve is made (relative L2).
    - `tail`: bound the tail with a coarser solve (below `unresolved`); `False`: the first
      difference alone.
    - `floor`: probe the floors of the filter and the kernel (below `unresolved`; two more
      solves at this grid); `False`: the grids alone (`inf` where their differences do not
      shrink).
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
    tail, floor = (
        check_bool(tail, "tail", "error_estimate"),
        check_bool(floor, "floor", "error_estimate"),
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
        return estimate
    differences = [estimate]
    if tail:
        try:
            coarse = _coarser_solve(solution, growth, kernel)
        except ValueError:  # a coarser grid `gp.solve` refuses: the first difference alone
            coarse = None
        if coarse is not None and coarse.result.ok:
            differences.insert(0, difference(coarse, solution, points))
            estimate = _tail_bound(differences)
    if floor:
        probes = floor_differences(solution, points).values()
        if math.isinf(estimate):  # the grids' differences do not shrink: a floor
            estimate = max(*differences, *probes)
        else:
            estimate = max(estimate, *probes)
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
