"""Exact eigenvalues and eigenfunctions of 1D Schroedinger problems `-psi'' + V psi = E psi`.

Offline float64 numpy/scipy: the levels are roots of scalar transcendental equations, found by
bracketed root finding (`scipy.optimize.brentq`) on brackets where a root provably lies, so no
level is missed or found twice.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize

from .._checks import check_float, check_int

__all__ = [
    "infinite_well_levels",
    "infinite_well_state",
    "finite_well_levels",
    "finite_well_state",
    "barrier_well_levels",
]

_XTOL = 1e-15


def infinite_well_levels(n: int) -> np.ndarray:
    """The first `n` levels of the infinite well on `[0, 1]`: `E_k = (k pi)^2`, `k = 1..n`.

    **Arguments:**

    - `n`: number of levels, `>= 1`.

    **Returns:** a float64 array of shape `(n,)`.
    """
    n = check_int(n, "n", "infinite_well_levels")
    return (np.pi * np.arange(1, n + 1, dtype=np.float64)) ** 2


def infinite_well_state(n: int, x) -> np.ndarray:
    """The normalised state `psi_n(x) = sqrt(2) sin(n pi x)` of the infinite well on `[0, 1]`.

    **Arguments:**

    - `n`: level, `>= 1`.
    - `x`: positions (array-like); zero outside `[0, 1]`.

    **Returns:** a float64 array shaped like `x`.
    """
    n = check_int(n, "n", "infinite_well_state")
    x = np.asarray(x, dtype=np.float64)
    inside = (x >= 0.0) & (x <= 1.0)
    return np.where(inside, np.sqrt(2.0) * np.sin(n * np.pi * x), 0.0)


def _finite_well_roots(depth, half_width):
    """Roots `z = k a` of the even/odd matching conditions, ascending, with their parity.

    With `z0 = a sqrt(V0)` and `kappa a = sqrt(z0^2 - z^2)`, the conditions `k tan(ka) = kappa`
    (even) and `-k cot(ka) = kappa` (odd) are multiplied through by `cos z`, `sin z` to remove
    the poles: `g_even = z sin z - sqrt(z0^2-z^2) cos z`, `g_odd = -z cos z - sqrt(.) sin z`.
    `g_even` changes sign exactly once on each `[j pi, j pi + pi/2] ∩ [0, z0]` and `g_odd` on
    each `[j pi + pi/2, (j+1) pi] ∩ [0, z0]`, so level `m` (0-based) lies in
    `[m pi/2, min((m+1) pi/2, z0)]`: there are `ceil(2 z0 / pi)` bound states (a root at
    `z = z0` would be `E = V0`, not bound)."""
    z0 = half_width * math.sqrt(depth)

    def g(z, even):
        root = math.sqrt(max(z0 * z0 - z * z, 0.0))
        if even:
            return z * math.sin(z) - root * math.cos(z)
        return -z * math.cos(z) - root * math.sin(z)

    roots = []
    for m in range(math.ceil(2.0 * z0 / math.pi)):
        lo, hi = m * math.pi / 2.0, min((m + 1) * math.pi / 2.0, z0)
        even = m % 2 == 0
        if g(lo, even) == 0.0 or lo >= hi:
            continue  # threshold state at E = V0: not bound
        roots.append((scipy.optimize.brentq(g, lo, hi, args=(even,), xtol=_XTOL), even))
    return roots


def finite_well_levels(depth: float, half_width: float) -> np.ndarray:
    """All bound-state energies of the finite square well, ascending.

    `V = 0` for `|x| < half_width`, `V = depth` outside; bound states have `0 < E < depth`.
    Even states solve `k tan(k a) = kappa`, odd ones `-k cot(k a) = kappa`, with
    `k^2 = E`, `kappa^2 = depth - E`, `a = half_width` (e.g. Griffiths, *Introduction to
    Quantum Mechanics*, Section 2.6). As `depth -> inf` the levels tend to the infinite well of
    width `2a`, `(n pi / (2a))^2`.

    **Arguments:**

    - `depth`: `V0 > 0`.
    - `half_width`: `a > 0`.

    **Returns:** a float64 array of the `ceil(2 a sqrt(V0) / pi)` levels.
    """
    depth = check_float(depth, "depth", "finite_well_levels", positive=True)
    half_width = check_float(half_width, "half_width", "finite_well_levels", positive=True)
    roots = _finite_well_roots(depth, half_width)
    return np.array([(z / half_width) ** 2 for z, _ in roots], dtype=np.float64)


def finite_well_state(depth: float, half_width: float, level: int, x) -> np.ndarray:
    """The normalised bound state number `level` (1 = ground) of the finite square well.

    Even (odd `level`): `cos(k x)` inside, `cos(k a) e^{-kappa(|x|-a)}` outside; odd:
    `sin(k x)` inside, `sign(x) sin(k a) e^{-kappa(|x|-a)}` outside, scaled so that
    `∫ psi^2 dx = 1` (closed-form norm). Sign convention: `psi > 0` just right of `x = 0`
    for odd states and at `x = 0` for even ones.

    **Arguments:**

    - `depth`, `half_width`: as `finite_well_levels`.
    - `level`: `1 <= level <= ` number of bound states.
    - `x`: positions (array-like).

    **Returns:** a float64 array shaped like `x`.
    """
    name = "finite_well_state"
    depth = check_float(depth, "depth", name, positive=True)
    half_width = check_float(half_width, "half_width", name, positive=True)
    roots = _finite_well_roots(depth, half_width)
    level = check_int(level, "level", name, maximum=len(roots))
    z, even = roots[level - 1]
    a = half_width
    k = z / a
    kappa = math.sqrt(max(depth - k * k, 0.0))
    x = np.asarray(x, dtype=np.float64)
    outside = np.exp(-kappa * (np.abs(x) - a))
    if even:
        psi = np.where(np.abs(x) < a, np.cos(k * x), math.cos(z) * outside)
        norm2 = a + math.sin(2 * z) / (2 * k) + math.cos(z) ** 2 / kappa
    else:
        psi = np.where(np.abs(x) < a, np.sin(k * x), np.sign(x) * math.sin(z) * outside)
        norm2 = a - math.sin(2 * z) / (2 * k) + math.sin(z) ** 2 / kappa
    return psi / math.sqrt(norm2)


def _barrier_condition(energy, height, half_barrier, gap, even):
    """Matching condition for the symmetric barrier box, continuous through `E = V0`.

    Centred coordinate `s = x - 1/2`; in the free region `psi = sin(k (1/2 - |s|))` (times
    `sign(s)` when odd), in the barrier `cosh`/`sinh(q s)` (`E < V0`, `q^2 = V0 - E`) or
    `cos`/`sin(q s)` (`E > V0`, `q^2 = E - V0`). Matching `psi'/psi` at `s = b` and clearing
    denominators gives, with `d = 1/2 - b` the free gap:

    - even: `q sinh(qb) sin(kd) + k cosh(qb) cos(kd)`; for `E > V0`,
      `-q sin(qb) sin(kd) + k cos(qb) cos(kd)`;
    - odd (divided by `q` so that `q -> 0` is not a spurious root): `cosh(qb) sin(kd) +
      k sinh(qb)/q cos(kd)`; for `E > V0`, `cos(qb) sin(kd) + k sin(qb)/q cos(kd)`.

    Both branches agree at `E = V0`, so a sign change brackets a true root."""
    k = math.sqrt(energy)
    b, d = half_barrier, gap
    if energy < height:
        q = math.sqrt(height - energy)
        if even:
            return q * math.sinh(q * b) * math.sin(k * d) + k * math.cosh(q * b) * math.cos(k * d)
        sinhc = b * (math.sinh(q * b) / (q * b) if q * b > 0 else 1.0)
        return math.cosh(q * b) * math.sin(k * d) + k * sinhc * math.cos(k * d)
    q = math.sqrt(energy - height)
    if even:
        return -q * math.sin(q * b) * math.sin(k * d) + k * math.cos(q * b) * math.cos(k * d)
    sinc = b * (math.sin(q * b) / (q * b) if q * b > 0 else 1.0)
    return math.cos(q * b) * math.sin(k * d) + k * sinc * math.cos(k * d)


def barrier_well_levels(n: int, height: float, width: float, n_scan: int = 4000) -> np.ndarray:
    """The first `n` levels of the box `[0, 1]` with a central barrier.

    `V = height` on `|x - 1/2| < width/2`, `0` elsewhere in the box, `psi(0) = psi(1) = 0`.
    The potential is symmetric, so even and odd states are roots of separate matching
    conditions (see `_barrier_condition`, both `E < V0` and `E > V0` branches). Each is scanned
    on `n_scan` points of `(0, (n pi)^2 + height]` (the `n`-th level lies below this by the min-max
    principle, `E_n <= (n pi)^2 + max V`) and sign changes refined by `brentq`. Scanning each
    parity separately keeps its roots well apart even when tunnelling makes even/odd pairs
    nearly degenerate.

    **Arguments:**

    - `n`: number of levels, `>= 1`.
    - `height`: barrier height `V0 >= 0`.
    - `width`: barrier width, `0 < width < 1`.
    - `n_scan`: scan points per parity (raise it for very high `n`).

    **Returns:** a float64 array of shape `(n,)`, ascending.
    """
    name = "barrier_well_levels"
    n = check_int(n, "n", name)
    height = check_float(height, "height", name, non_negative=True)
    if not 0 < check_float(width, "width", name) < 1:
        raise ValueError(f"{name}: `width` must be in (0, 1), got {width!r}")
    n_scan = check_int(n_scan, "n_scan", name, minimum=2)
    b, d = width / 2.0, 0.5 - width / 2.0
    upper = (n * np.pi) ** 2 + height + 1.0
    grid = np.linspace(upper * 1e-9, upper, n_scan)
    levels = []
    for even in (True, False):
        f = np.array([_barrier_condition(e, height, b, d, even) for e in grid])
        for i in np.nonzero(np.sign(f[:-1]) * np.sign(f[1:]) <= 0)[0]:
            if f[i] == 0.0:
                levels.append(grid[i])
                continue
            levels.append(
                scipy.optimize.brentq(
                    _barrier_condition, grid[i], grid[i + 1], args=(height, b, d, even), xtol=1e-13
                )
            )
    levels = np.unique(np.array(levels))
    if levels.size < n:
        raise ValueError(f"{name}: found only {levels.size} levels; raise `n_scan`")
    return levels[:n]
