"""The GP solution's error estimate (`gp._estimate`): against the exact solution, and the solve
to a tolerance."""

import math

import jax.numpy as jnp
import pytest

from jaxsci import RESULTS, SolveFailed, gp, pde
from jaxsci.gp._estimate import (
    difference,
    error_estimate,
    finer_grid,
    floor_differences,
    narrowed,
)
from jaxsci.gp._tolerance import solve_to_tolerance

# issue 25's goal: within a factor 10 of the true error, never below a third of it
LOW, HIGH = 1 / 3, 10.0


def _check_estimate(problem, grid, **kwargs):
    sol = gp.solve(problem, grid=grid)
    true = float(sol.error())
    est = sol.error_estimate(**kwargs)
    assert LOW * true <= est <= HIGH * true, (problem.name, grid, true, est)
    return true


@pytest.mark.x64
def test_estimate_and_tolerance():
    # one test (one xdist worker) for every fast check that solves: the dense solve compiles
    # once per grid, and these share three (60, 90, 135 points)
    problem = pde.get_problem("multiscale_poisson_1d")
    coarse = _check_estimate(problem, 60)
    fine = _check_estimate(problem, 90)
    assert coarse > 1e-3 and fine < coarse / 10  # a coarse and a fine grid
    # below 1e-2 the estimate is the tail bound of the differences from the 1.5x coarser
    # (60) and finer (135) solves with the same kernel, d1 / (1 - d1 / d0), at least d1
    sol = gp.solve(problem, grid=90)
    d0 = difference(gp.solve(problem, sol.kernel, grid=60), sol)
    d1 = difference(sol, gp.solve(problem, sol.kernel, grid=135))
    assert d1 <= 1e-2 and d1 < d0
    bound = d1 / (1 - d1 / d0)
    assert sol.error_estimate(floor=False) == pytest.approx(bound, rel=1e-10)
    assert sol.error_estimate(tail=False, floor=False) == pytest.approx(d1, rel=1e-10)
    # the probes of the settings' floors bound it from below (here the grids' bound wins)
    probes = floor_differences(sol)
    assert set(probes) == {"filter", "kernel"}
    assert sol.error_estimate() == pytest.approx(max(bound, *probes.values()), rel=1e-10)

    sol = solve_to_tolerance(problem, 1e-3, grid=60)
    assert sol.result is RESULTS.successful
    assert sol.stats["estimate"] <= 1e-3 / 3  # the default safety: a third of `tol`
    # safety 1 stops at the first estimate below `tol`: a prefix of the same grids
    loose = solve_to_tolerance(problem, 1e-3, grid=60, safety=1.0)
    assert loose.stats["estimate"] <= 1e-3 and len(loose.stats["grids"]) <= len(sol.stats["grids"])
    assert sol.stats["grids"][: len(loose.stats["grids"])] == loose.stats["grids"]
    # the returned solution is the one the last estimate is about: the second finest
    assert sol.stats["grids"][0] == (60,) and sol.shape == sol.stats["grids"][-2]
    assert len(sol.stats["estimates"]) == len(sol.stats["grids"]) - 1
    assert sol.stats["estimate"] >= sol.stats["differences"][-1]
    assert float(sol.error()) <= 1e-3
    # `gp.solve(tol=)` is this refinement, to the bit
    via = gp.solve(problem, grid=60, tol=1e-3)
    assert (via.coefficients == sol.coefficients).all() and via.stats["grids"] == sol.stats["grids"]
    with pytest.raises(ValueError, match="train"):
        gp.solve(problem, grid=60, tol=1e-3, train=gp.TrainKernel())

    # an impossible tolerance: the budget stops it
    sol = solve_to_tolerance(problem, 1e-30, grid=60, max_points=100, throw=False)
    assert sol.result is RESULTS.tolerance_not_met
    assert sol.stats["grids"] == [(60,), (90,)] and sol.shape == (60,)
    assert len(sol.stats["differences"]) == 1 and 0 < sol.stats["differences"][0] < 1
    # a budget below the second grid: one solve, no estimate
    sol = solve_to_tolerance(problem, 1e-3, grid=60, max_points=80, throw=False)
    assert sol.result is RESULTS.tolerance_not_met and sol.stats["estimate"] == math.inf
    with pytest.raises(SolveFailed, match="tolerance"):
        solve_to_tolerance(problem, 1e-30, grid=60, max_points=80)


@pytest.mark.x64
@pytest.mark.slow
@pytest.mark.parametrize(
    "name, grids", [("zoo_two_tone_1d", (30, 100)), ("poisson_2d", (8, 16)), ("gp_p3", (300,))]
)
def test_estimate_within_goal_more_problems(name, grids):
    problem = pde.get_problem(name)
    for grid in grids:
        _check_estimate(problem, grid)
        _check_estimate(problem, grid, kernel=None)


@pytest.mark.x64
def test_estimate_sees_a_floor_common_to_every_grid():
    # zoo_interior_layer_2d: the front needs frequencies past the default kernel's spectral
    # reach, an error of 1.2e-4 at 100^2, 150^2 and 200^2 alike; the grids' differences
    # (2e-5) cannot see it, the kernel probe (scales x1.2, one solve on this grid) does
    problem = pde.get_problem("zoo_interior_layer_2d")
    sol = gp.solve(problem, grid=100)
    true = float(sol.error())
    assert 5e-5 < true < 5e-4
    assert sol.error_estimate(floor=False) < LOW * true  # the grids alone under-estimate
    probes = floor_differences(sol)
    assert LOW * true <= probes["kernel"] <= HIGH * true
    assert probes["filter"] < LOW * true  # not the filter's floor: that probe stays small
    assert LOW * true <= sol.error_estimate() <= HIGH * true


@pytest.mark.x64
@pytest.mark.slow
def test_tolerance_stops_at_a_floor_common_to_every_grid():
    problem = pde.get_problem("zoo_interior_layer_2d")  # above: a floor of 1.2e-4
    # to a tolerance just under that floor: the grids' bound falls below tol / 3 from 81^2 on
    # (differences 3.2e-5, 7.7e-6 from 81^2 to 183^2), which claimed success with a true error
    # 1.3e-4 > tol; the probes see the floor (1.2e-4 at 81^2 and at 122^2 here; which two
    # grids probe first depends on rounding at the 3.3e-5 threshold), and it stops, saying so
    with pytest.raises(SolveFailed, match="floor of their settings: moving the kernel") as err:
        solve_to_tolerance(problem, 1e-4, grid=81)
    sol = err.value.solution
    assert sol.result is RESULTS.tolerance_not_met and sol.shape in sol.stats["grids"][:-1]
    assert float(sol.error()) > 1e-4 and sol.stats["estimate"] > 1e-4 / 3


def test_narrowed():
    se = gp.SquaredExponential(0.3)
    assert float(narrowed(se, 1.5).log_lengthscale) == pytest.approx(math.log(0.2))
    sm = gp.SpectralMixture([1.0, 1.0], [0.0, 3.0], [10.0, 2.0])
    out = narrowed(gp.Product([sm, se]), 1.2)
    assert [float(x) for x in jnp.exp(out.kernels[0].log_scales)] == pytest.approx([12.0, 2.4])
    assert (out.kernels[0].frequencies == sm.frequencies).all()
    assert float(jnp.exp(out.kernels[1].log_lengthscale)) == pytest.approx(0.25)

    class Other(gp.AbstractKernel):
        def __call__(self, x, y):
            return x * y

    assert narrowed(Other(), 1.2) is None and narrowed(gp.Product([sm, Other()]), 1.2) is None


def test_finer_grid():
    assert finer_grid((60,), 1.5) == (90,)
    assert finer_grid((8, 3), 1.5) == (12, 5)
    assert finer_grid((4,), 1.01) == (5,)  # always at least one point more


def test_bad_input():
    problem = pde.get_problem("poisson_1d")
    with pytest.raises(TypeError, match="solution"):
        error_estimate(problem)
    solution = gp.solve(problem, grid=(12,))
    for name in ("tail", "floor"):  # 0 / "no" would read as a setting; named instead
        with pytest.raises(TypeError, match=f"error_estimate: `{name}` must be True or False"):
            error_estimate(solution, **{name: "no"})
    with pytest.raises(TypeError, match="problem"):
        solve_to_tolerance("poisson_1d", 1e-3)
    with pytest.raises(ValueError, match="tol"):
        solve_to_tolerance(problem, 0.0)
    with pytest.raises(ValueError, match="growth"):
        solve_to_tolerance(problem, 1e-3, growth=1.0)
    with pytest.raises(ValueError, match="max_points"):
        solve_to_tolerance(problem, 1e-3, max_points=0)
    with pytest.raises(ValueError, match="safety"):
        solve_to_tolerance(problem, 1e-3, safety=0.5)
