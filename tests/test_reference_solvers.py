"""Reference solvers of `jaxsci.pde`: Cole-Hopf Burgers, ETDRK4 Allen-Cahn, exact 1D
Schroedinger levels. All float64 numpy, so no x64 marker is needed."""

import math
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.linalg

from jaxsci.pde import (
    allen_cahn_solution,
    barrier_well_levels,
    burgers_slope,
    burgers_solution,
    burgers_steepest_slope,
    finite_well_levels,
    finite_well_state,
    infinite_well_levels,
    infinite_well_state,
)


def _reference_file(name):
    env = os.environ.get("JAXSCI_REFERENCE_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "reference"
    path = root / name
    if not path.is_file():
        pytest.skip(f"reference data {path} not available")
    return scipy.io.loadmat(path)


def _relative_l2(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# ---------------------------------------------------------------- Burgers


def test_burgers_against_published_data():
    data = _reference_file("burgers_shock.mat")
    x, t, usol = data["x"].ravel(), data["t"].ravel(), data["usol"]
    u = burgers_solution(t[None, :], x[:, None])
    # Measured 2.9e-12: the published data is itself a Cole-Hopf quadrature.
    assert _relative_l2(u, usol) < 1e-9


def test_burgers_steepest_slope():
    # Basdevant et al. 1986 quote -152.00516 (5 decimals); we get -152.0051616.
    assert burgers_steepest_slope() == pytest.approx(-152.00516, rel=1e-7)


def test_burgers_quadrature_converged_and_properties():
    t = np.array([0.0, 0.1, 0.5, 1.0])[:, None]
    x = np.linspace(-1, 1, 41)[None, :]
    u = burgers_solution(t, x)
    np.testing.assert_allclose(u, burgers_solution(t, x, n_quad=400), atol=1e-10)
    np.testing.assert_allclose(u[0], -np.sin(np.pi * x[0]), atol=1e-15)
    np.testing.assert_allclose(u[:, [0, -1]], 0.0, atol=1e-10)  # u(t, +-1) = 0
    np.testing.assert_allclose(u, -u[:, ::-1], atol=1e-10)  # odd in x


def test_burgers_pde_residual():
    # Independent check of the quadrature: central differences of the solution satisfy the PDE.
    nu, t, x, h = 0.01 / np.pi, 0.3, np.linspace(-0.9, 0.9, 13), 2e-5
    u = burgers_solution(t, x)
    u_t = (burgers_solution(t + h, x) - burgers_solution(t - h, x)) / (2 * h)
    u_x = burgers_slope(t, x)
    u_xx = (burgers_slope(t, x + h) - burgers_slope(t, x - h)) / (2 * h)
    residual = u_t + u * u_x - nu * u_xx
    assert np.max(np.abs(residual)) < 1e-5 * np.max(np.abs(u_x))
    np.testing.assert_allclose(
        u_x, (burgers_solution(t, x + h) - burgers_solution(t, x - h)) / (2 * h), rtol=1e-6
    )


@pytest.mark.parametrize(
    "kwargs, exc, arg",
    [
        (dict(t=0.5, x=0.0, nu=-1.0), ValueError, "burgers_solution: `nu` must be a positive"),
        (dict(t=0.5, x=0.0, nu="0.1"), TypeError, "burgers_solution: `nu` must be a positive"),
        (
            dict(t=0.5, x=0.0, n_quad=1),
            ValueError,
            "burgers_solution: `n_quad` must be an int >= 2",
        ),
        (
            dict(t=0.5, x=0.0, n_quad=8.5),
            TypeError,
            "burgers_solution: `n_quad` must be an int >= 2",
        ),
        (dict(t=-0.5, x=0.0), ValueError, "t"),
        (dict(t=np.zeros(3), x=np.zeros(4)), ValueError, "`t`"),
    ],
)
def test_burgers_bad_input(kwargs, exc, arg):
    with pytest.raises(exc, match=arg):
        burgers_solution(**kwargs)


# ---------------------------------------------------------------- Allen-Cahn


@pytest.fixture(scope="module")
def allen_cahn_data():
    data = _reference_file("AC.mat")
    t = data["tt"].ravel()
    return data["x"].ravel(), t, data["uu"], allen_cahn_solution(t)


def test_allen_cahn_against_published_data(allen_cahn_data):
    x, _, uu, u = allen_cahn_data
    np.testing.assert_allclose(-1.0 + 2.0 * np.arange(512) / 512, x, atol=1e-15)
    # Measured 1.5e-11 (t = 1) and 7.1e-12 (all t); the README's bar is 5e-4.
    assert _relative_l2(u[:, -1], uu[:, -1]) < 1e-8
    assert _relative_l2(u, uu) < 1e-8


def test_allen_cahn_interpolation(allen_cahn_data):
    x, t, _, u = allen_cahn_data
    np.testing.assert_allclose(allen_cahn_solution(t[-1], x=x), u[:, -1], atol=1e-12)


@pytest.mark.slow
def test_allen_cahn_self_convergence(allen_cahn_data):
    _, t, uu, u = allen_cahn_data
    fine = allen_cahn_solution(t, n_modes=1024, dt=5e-5)
    # Measured 8.3e-6, far below the 5e-4 spread of published references. The limit is the
    # space resolution: u0 = x^2 cos(pi x) has a slope jump at x = +-1 when made periodic.
    assert _relative_l2(u, fine[::2]) < 5e-5
    # Off-grid Fourier interpolation at the fine grid's extra points.
    midpoints = -1.0 + 2.0 * (np.arange(512) + 0.5) / 512
    between = allen_cahn_solution(1.0, x=midpoints)
    assert _relative_l2(between, fine[1::2, -1]) < 5e-5


def test_allen_cahn_time_step_converged():
    coarse = allen_cahn_solution(0.3, n_modes=256, dt=2e-4)
    fine = allen_cahn_solution(0.3, n_modes=256, dt=1e-4)
    assert _relative_l2(coarse, fine) < 1e-9


@pytest.mark.parametrize(
    "kwargs, exc, arg",
    [
        (
            dict(t=1.0, n_modes=15),
            ValueError,
            "allen_cahn_solution: `n_modes` must be an int >= 16",
        ),
        (dict(t=1.0, n_modes=17), ValueError, "allen_cahn_solution: `n_modes` must be even"),
        (dict(t=1.0, n_modes=64.0), TypeError, "allen_cahn_solution: `n_modes` must be an int"),
        (dict(t=1.0, dt=0.0), ValueError, "allen_cahn_solution: `dt` must be a positive float"),
        (dict(t=1.0, dt=None), TypeError, "allen_cahn_solution: `dt` must be a positive float"),
        (dict(t=-1.0), ValueError, "`t`"),
        (dict(t=1.0, x=np.zeros((2, 2))), ValueError, "`x`"),
    ],
)
def test_allen_cahn_bad_input(kwargs, exc, arg):
    with pytest.raises(exc, match=arg):
        allen_cahn_solution(**kwargs)


# ---------------------------------------------------------------- Schroedinger


def _fd_levels(lo, hi, n_interior, k, inside, value, outside):
    """Lowest `k` eigenvalues of the 3-point FD Schroedinger operator with Dirichlet ends.

    The piecewise-constant potential is cell-averaged at each node; callers put its jumps on
    nodes (so they get the mean value), which gives clean O(h^2) convergence (point sampling
    gives O(h), off-node averaging an O(h^2) error with an erratic constant)."""
    h = (hi - lo) / (n_interior + 1)
    x = lo + h * np.arange(1, n_interior + 1)
    a, b = inside
    overlap = np.clip(np.minimum(x + h / 2, b) - np.maximum(x - h / 2, a), 0, None) / h
    potential = outside + (value - outside) * overlap
    return scipy.linalg.eigh_tridiagonal(
        2 / h**2 + potential,
        -np.ones(n_interior - 1) / h**2,
        select="i",
        select_range=(0, k - 1),
        eigvals_only=True,
    )


def _check_fd_convergence(exact, solve):
    coarse, fine = solve(1), solve(2)  # grid refinement factor
    fine_error = np.max(np.abs(fine - exact))
    ratio = np.max(np.abs(coarse - exact)) / fine_error
    assert 3.5 < ratio < 4.5  # O(h^2)
    # Richardson extrapolation cancels the h^2 term: what is left must be much smaller.
    richardson = (4 * fine - coarse) / 3
    assert np.max(np.abs(richardson - exact)) < 0.05 * fine_error


def test_infinite_well():
    levels = infinite_well_levels(4)
    np.testing.assert_allclose(levels, [np.pi**2 * n**2 for n in range(1, 5)], rtol=1e-15)
    x = np.linspace(0, 1, 20001)
    for n in range(1, 4):
        psi = infinite_well_state(n, x)
        assert np.trapezoid(psi**2, x) == pytest.approx(1.0, abs=1e-8)
        psi_xx = -((n * np.pi) ** 2) * psi
        np.testing.assert_allclose(-psi_xx, levels[n - 1] * psi, atol=1e-9)


@pytest.mark.parametrize("depth, half_width", [(50.0, 1.0), (200.0, 0.3), (3.0, 0.5)])
def test_finite_well_levels_against_fd(depth, half_width):
    levels = finite_well_levels(depth, half_width)
    assert len(levels) == math.ceil(2 * half_width * math.sqrt(depth) / math.pi)
    assert np.all(np.diff(levels) > 0) and np.all((0 < levels) & (levels < depth))
    # Box edges where the weakest tail has decayed to e^-14, on the grid of spacing a/p.
    cells = math.ceil(14 / math.sqrt(depth - levels[-1]) / half_width)
    extent = half_width * (1 + cells)

    def solve(refine):
        per_half_width = 200 * refine
        return _fd_levels(
            -extent,
            extent,
            2 * (1 + cells) * per_half_width - 1,
            len(levels),
            (-half_width, half_width),
            0.0,
            depth,
        )

    _check_fd_convergence(levels, solve)


def test_finite_well_count_at_threshold():
    # z0 = a sqrt(V0) = pi/2 exactly: the odd state sits at E = V0 and is not bound.
    assert len(finite_well_levels((math.pi / 2) ** 2, 1.0)) == 1
    assert len(finite_well_levels((math.pi / 2) ** 2 * 1.0001, 1.0)) == 2


def test_finite_well_deep_limit():
    levels = finite_well_levels(1e8, 0.5)[:4]
    # Corrections are O(1/(a kappa)) = O(1e-4) relative.
    np.testing.assert_allclose(levels, infinite_well_levels(4), rtol=1e-3)
    assert np.all(levels < infinite_well_levels(4))


def test_finite_well_states():
    depth, half_width = 50.0, 1.0
    levels = finite_well_levels(depth, half_width)
    x = np.linspace(-8, 8, 160001)
    h = x[1] - x[0]
    states = np.stack([finite_well_state(depth, half_width, n + 1, x) for n in range(len(levels))])
    np.testing.assert_allclose(
        np.trapezoid(states[:, None] * states[None], x, axis=-1), np.eye(len(levels)), atol=1e-6
    )
    # Schroedinger residual away from the jumps at +-a.
    potential = np.where(np.abs(x) < half_width, 0.0, depth)
    psi_xx = (states[:, 2:] - 2 * states[:, 1:-1] + states[:, :-2]) / h**2
    residual = -psi_xx + (potential[1:-1] - levels[:, None]) * states[:, 1:-1]
    smooth = np.abs(np.abs(x[1:-1]) - half_width) > 1e-3
    assert np.max(np.abs(residual[:, smooth])) < 1e-4 * depth


@pytest.mark.parametrize("height, width", [(100.0, 0.2), (1000.0, 0.1), (0.0, 0.3)])
def test_barrier_levels_against_fd(height, width):
    levels = barrier_well_levels(6, height, width)
    if height == 0.0:
        np.testing.assert_allclose(levels, infinite_well_levels(6), rtol=1e-12)
    lo, hi = 0.5 - width / 2, 0.5 + width / 2
    # 2000 * refine cells on [0, 1]: both barrier edges (multiples of 0.05) lie on nodes.
    _check_fd_convergence(
        levels, lambda refine: _fd_levels(0.0, 1.0, 2000 * refine - 1, 6, (lo, hi), height, 0.0)
    )


def test_schrodinger_bad_input():
    with pytest.raises(ValueError, match="infinite_well_levels: `n` must be a positive int, got 0"):
        infinite_well_levels(0)
    with pytest.raises(TypeError, match="infinite_well_levels: `n` must be a positive int"):
        infinite_well_levels(4.0)
    with pytest.raises(ValueError, match="infinite_well_state: `n` must be a positive int, got 0"):
        infinite_well_state(0, 0.5)
    with pytest.raises(TypeError, match="infinite_well_state: `n` must be a positive int"):
        infinite_well_state(True, 0.5)
    with pytest.raises(ValueError, match="finite_well_levels: `depth` must be a positive float"):
        finite_well_levels(-1.0, 1.0)
    with pytest.raises(TypeError, match="finite_well_levels: `depth` must be a positive float"):
        finite_well_levels("50", 1.0)
    with pytest.raises(ValueError, match="finite_well_levels: `half_width` must be a positive"):
        finite_well_levels(1.0, 0.0)
    # depth 50, half-width 1: ceil(2 sqrt(50) / pi) = 5 bound states
    with pytest.raises(ValueError, match=r"finite_well_state: `level` must be an int in \[1, 5\]"):
        finite_well_state(50.0, 1.0, 6, 0.0)
    with pytest.raises(TypeError, match=r"finite_well_state: `level` must be an int in \[1, 5\]"):
        finite_well_state(50.0, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="barrier_well_levels: `height` must be a non-negative"):
        barrier_well_levels(3, -1.0, 0.2)
    with pytest.raises(ValueError, match=r"barrier_well_levels: `width` must be in \(0, 1\)"):
        barrier_well_levels(3, 1.0, 1.0)
    with pytest.raises(TypeError, match="barrier_well_levels: `n` must be a positive int"):
        barrier_well_levels(3.0, 1.0, 0.2)
