"""Exact viscous Burgers solution by the Cole-Hopf transform (offline reference solver).

Numerics are in float64 numpy: this is a one-off "truth" generator, never traced or
differentiated by JAX, and float64 is needed because the integrands span hundreds of orders of
magnitude before the log-sum-exp shift below.
"""

from __future__ import annotations

import numpy as np
import scipy.special

from .._checks import check_float, check_int

__all__ = ["burgers_solution", "burgers_steepest_slope"]

_DEFAULT_NU = 0.01 / np.pi
_STEEPEST_TIME = 1.6037 / np.pi


def _check(t, x, nu, n_quad):
    check_float(nu, "nu", "burgers_solution", positive=True)
    check_int(n_quad, "n_quad", "burgers_solution", minimum=2)
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("burgers_solution: `t` must be finite and non-negative")
    if not np.all(np.isfinite(x)):
        raise ValueError("burgers_solution: `x` must be finite")
    try:
        t, x = np.broadcast_arrays(t, x)
    except ValueError as e:
        raise ValueError(
            f"burgers_solution: `t` {t.shape} and `x` {x.shape} do not broadcast"
        ) from e
    return t, x


def _sums(t, x, nu, n_quad):
    """Shifted Gauss-Hermite sums of the Cole-Hopf integrals.

    With `y = sqrt(4 nu t) z` the heat kernel becomes the Hermite weight `exp(-z^2)`, so
    `int g(x - y) exp(-y^2/(4 nu t)) dy ∝ sum_k w_k g(x - y_k)`. The factor
    `f = exp(-cos(pi s)/(2 pi nu))` reaches `exp(1/(2 pi nu)) = exp(50)` for `nu = 0.01/pi`
    (and overflows for smaller `nu`), so each sum is computed as `exp(m) * sum_k exp(l_k - m)`
    with `l_k = log w_k - cos(pi s_k)/(2 pi nu)`, `m = max_k l_k`; the common factor `exp(m)`
    cancels in every ratio we form.
    """
    # scipy's Hermite rule stays accurate for large `n` (numpy's `hermgauss` overflows past
    # about 300 nodes); weights that underflow to 0 give `log 0 = -inf`, i.e. a dropped term.
    nodes, weights = scipy.special.roots_hermite(int(n_quad))
    s = x[..., None] - np.sqrt(4.0 * nu * t)[..., None] * nodes  # s_k = x - y_k
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    log_terms = log_weights - np.cos(np.pi * s) / (2.0 * np.pi * nu)
    e = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
    sin, cos = np.sin(np.pi * s), np.cos(np.pi * s)
    denominator = e.sum(-1)
    numerator = (sin * e).sum(-1)
    # d/dx of the numerator: d/ds [sin(pi s) f(s)] = (pi cos(pi s) + sin(pi s)^2/(2 nu)) f(s).
    numerator_x = ((np.pi * cos + sin**2 / (2.0 * nu)) * e).sum(-1)
    return numerator, denominator, numerator_x


def burgers_solution(t, x, nu: float = _DEFAULT_NU, n_quad: int = 200) -> np.ndarray:
    """Exact solution of viscous Burgers `u_t + u u_x = nu u_xx` with `u(0, x) = -sin(pi x)`.

    The Cole-Hopf substitution `u = -2 nu phi_x / phi` linearises Burgers to the heat equation
    `phi_t = nu phi_xx` with `phi(0, x) = f(x) = exp(-cos(pi x)/(2 pi nu))`, giving

    `u(t, x) = -∫ sin(pi(x-y)) f(x-y) exp(-y²/(4 nu t)) dy / ∫ f(x-y) exp(-y²/(4 nu t)) dy`,

    evaluated by Gauss-Hermite quadrature. `f` is 2-periodic and the initial data odd, so the
    whole-line solution is odd about `x = ±1` and satisfies `u(t, ±1) = 0`: it is the solution
    of the boundary-value problem on `[-1, 1]`.

    **Arguments:**

    - `t`: times `>= 0` (array-like; broadcast against `x`). `t = 0` gives the initial data.
    - `x`: positions (array-like), normally in `[-1, 1]`.
    - `nu`: viscosity `> 0` (default `0.01/pi`, the Raissi et al. 2019 benchmark).
    - `n_quad`: number of Gauss-Hermite nodes. The default 200 is converged to round-off for
      `nu = 0.01/pi` (100 already is); smaller `nu` needs more.

    **Returns:**

    A float64 numpy array of `u(t, x)` with the broadcast shape of `t` and `x`.

    Cole 1951 (Q. Appl. Math. 9, 225); Hopf 1950 (Comm. Pure Appl. Math. 3, 201);
    Basdevant et al. 1986 (Comput. Fluids 14, 23), eq. (2.3).
    """
    t, x = _check(t, x, nu, n_quad)
    numerator, denominator, _ = _sums(t, x, nu, n_quad)
    return np.where(t == 0, -np.sin(np.pi * x), -numerator / denominator)


def burgers_slope(t, x, nu: float = _DEFAULT_NU, n_quad: int = 200) -> np.ndarray:
    """Exact `u_x(t, x)` of the Cole-Hopf solution (see `burgers_solution`).

    Differentiates the quadrature formula analytically: with `u = -N/D` and `D_x = N/(2 nu)`,
    `u_x = -N_x/D + u²/(2 nu)`.

    **Arguments:** as `burgers_solution`.

    **Returns:** a float64 array of `u_x(t, x)`.
    """
    t, x = _check(t, x, nu, n_quad)
    numerator, denominator, numerator_x = _sums(t, x, nu, n_quad)
    u = -numerator / denominator
    u_x = -numerator_x / denominator + u**2 / (2.0 * nu)
    return np.where(t == 0, -np.pi * np.cos(np.pi * x), u_x)


def burgers_steepest_slope(
    nu: float = _DEFAULT_NU, t: float = _STEEPEST_TIME, n_quad: int = 200
) -> float:
    """Slope `u_x(t, 0)` at the centre, steepest at `t = 1.6037/pi` for `nu = 0.01/pi`.

    **Arguments:**

    - `nu`: viscosity `> 0`.
    - `t`: time (default `1.6037/pi`, when the centre slope is steepest).
    - `n_quad`: Gauss-Hermite nodes.

    **Returns:**

    `u_x(t, 0)` as a Python float; Basdevant et al. 1986 (Table 1) give `-152.00516` for the
    defaults.
    """
    return float(burgers_slope(t, 0.0, nu=nu, n_quad=n_quad))
