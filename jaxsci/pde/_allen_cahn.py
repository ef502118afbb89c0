"""Allen-Cahn reference solution by a Fourier spectral method with ETDRK4 (offline solver).

float64 numpy: a one-off "truth" generator; the stiff diffusion term is integrated exactly by
the exponential integrator, so float64 round-off, not stability, limits the accuracy.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_float, check_int

__all__ = ["allen_cahn_solution"]

_DIFFUSION = 1e-4
_REACTION = 5.0


def _etdrk4_coefficients(linear, h, n_contour=64):
    """ETDRK4 coefficients by the Kassam-Trefethen contour integral.

    The `phi` functions `(e^z - 1 - z)/z^2` etc. cancel catastrophically for small `|z|`; they
    are averaged over `n_contour` points on a unit circle around each `z = h L`, where they are
    well conditioned (Kassam & Trefethen 2005, eq. (2.5) and Section 3)."""
    e = np.exp(h * linear)
    e2 = np.exp(h * linear / 2.0)
    roots = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    z = h * linear[:, None] + roots[None, :]
    q = h * np.real(np.mean((np.exp(z / 2.0) - 1.0) / z, axis=1))
    f1 = h * np.real(np.mean((-4.0 - z + np.exp(z) * (4.0 - 3.0 * z + z**2)) / z**3, axis=1))
    f2 = h * np.real(np.mean((2.0 + z + np.exp(z) * (-2.0 + z)) / z**3, axis=1))
    f3 = h * np.real(np.mean((-4.0 - 3.0 * z - z**2 + np.exp(z) * (4.0 - z)) / z**3, axis=1))
    return e, e2, q, f1, f2, f3


def _nonlinear(v_hat, n):
    # -5 u^3 in Fourier space. No dealiasing: with 512 modes the solution's spectrum decays to
    # round-off well before the aliasing band (checked by the self-convergence test).
    u = np.fft.irfft(v_hat, n=n)
    return np.fft.rfft(-_REACTION * u**3)


def _step(v, coefficients, n):
    e, e2, q, f1, f2, f3 = coefficients
    nv = _nonlinear(v, n)
    a = e2 * v + q * nv
    na = _nonlinear(a, n)
    b = e2 * v + q * na
    nb = _nonlinear(b, n)
    c = e2 * a + q * (2.0 * nb - nv)
    nc = _nonlinear(c, n)
    return e * v + nv * f1 + 2.0 * (na + nb) * f2 + nc * f3


def _evaluate(v_hat, n, x):
    """Evaluates the trigonometric interpolant with rfft coefficients `v_hat` at `x`."""
    k = np.arange(v_hat.shape[-1])
    weights = np.full(k.shape, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0  # Nyquist mode appears once
    phase = np.exp(1j * np.pi * np.outer(np.asarray(x) + 1.0, k))  # grid starts at x = -1
    return np.real(phase @ (weights * v_hat)) / n


def allen_cahn_solution(t, x=None, n_modes: int = 512, dt: float = 1e-4) -> np.ndarray:
    """Solution of Allen-Cahn `u_t - 1e-4 u_xx + 5u^3 - 5u = 0`, periodic on `[-1, 1)`.

    The initial condition is `u(0, x) = x^2 cos(pi x)` (the Raissi et al. 2019 benchmark).
    Fourier pseudo-spectral in space; in time ETDRK4, which integrates the stiff linear part
    `1e-4 u_xx + 5u` exactly and the cubic term `-5u^3` to fourth order. Between consecutive
    requested times the step is shrunk to divide the gap evenly (at most `dt`).

    **Arguments:**

    - `t`: output times `>= 0` (scalar or 1D array-like, any order).
    - `x`: optional positions (1D array-like); the solution is evaluated there through its
      Fourier series. Default: the uniform grid `x_j = -1 + 2j/n_modes`, `j = 0..n_modes-1`.
    - `n_modes`: number of grid points / Fourier modes (even, `>= 16`).
    - `dt`: largest time step `> 0`.

    **Returns:**

    A float64 array of shape `(len(x), len(t))` (`u[i, j] = u(t_j, x_i)`, the layout of
    `AC.mat`); a scalar `t` drops the last axis.

    Kassam & Trefethen 2005 (SIAM J. Sci. Comput. 26, 1214), ETDRK4 of Cox & Matthews 2002.
    """
    if check_int(n_modes, "n_modes", "allen_cahn_solution", minimum=16) % 2:
        raise ValueError(f"allen_cahn_solution: `n_modes` must be even, got {n_modes!r}")
    check_float(dt, "dt", "allen_cahn_solution", positive=True)
    times = np.asarray(t, dtype=np.float64)
    if times.ndim > 1 or np.any(times < 0) or not np.all(np.isfinite(times)):
        raise ValueError("allen_cahn_solution: `t` must be a scalar or 1D array of times >= 0")
    if x is not None:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or not np.all(np.isfinite(x)):
            raise ValueError("allen_cahn_solution: `x` must be a 1D array of finite positions")
    n = int(n_modes)
    grid = -1.0 + 2.0 * np.arange(n) / n
    wavenumbers = np.pi * np.arange(n // 2 + 1)  # period 2
    linear = -_DIFFUSION * wavenumbers**2 + _REACTION
    v = np.fft.rfft(grid**2 * np.cos(np.pi * grid))

    flat = np.atleast_1d(times)
    order = np.argsort(flat, kind="stable")
    out_hat = np.empty((flat.size, v.size), dtype=complex)
    cache, now = {}, 0.0
    for idx in order:
        gap = flat[idx] - now
        if gap > 0:
            steps = int(np.ceil(gap / dt - 1e-9))
            h = gap / steps
            key = round(h, 14)
            if key not in cache:
                cache[key] = _etdrk4_coefficients(linear, h)
            for _ in range(steps):
                v = _step(v, cache[key], n)
            now = flat[idx]
        out_hat[idx] = v
    if x is None:
        u = np.fft.irfft(out_hat, n=n, axis=-1).T
    else:
        u = np.stack([_evaluate(vh, n, x) for vh in out_hat], axis=-1)
    return u[:, 0] if times.ndim == 0 else u
