"""Flow mixing in (2+1)D: a scalar advected by a vortex with radius-dependent angular velocity.

`u_t + a u_x + b u_y = 0` with the rotational field `(a, b) = omega(r) (-y, x)`, where
`omega(r) = v_t(r) / (r v_max)` and `v_t(r) = sech^2(r) tanh(r)`. Each point turns about the
origin at its own rate, so the solution is the initial profile `u0 = -tanh(y / 2)` rotated by
`omega(r) t`: `u = -tanh((y/2) cos(omega t) - (x/2) sin(omega t))` (Tamamidis & Assanis 1993;
the benchmark of SPINN, Cho et al. 2023, and PIG, Kang et al. 2024).

Written as `a = -omega y`, `b = omega x` (equal to the published `-(v_t/v_max)(y/r)`,
`(v_t/v_max)(x/r)`), everything depends on `r` only through `omega`, which is a smooth even
function of `r`, i.e. a smooth function of `s = r^2`: `omega = g(s) sech^2(r) / v_max` with
`g(s) = tanh(sqrt(s)) / sqrt(s)` and, near 0, `sech^2 = 1 - tanh^2 = 1 - s g^2`. Near `s = 0`,
`g` is evaluated by its Taylor series and `sqrt` is only ever applied to `s` away from 0 (the
double-`where` pattern), so values and forward- and reverse-mode derivatives of every order are
finite at and near the origin, where the published form divides 0 by 0.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._conditions import Dirichlet, InitialValue
from ._domain import Box, SpaceTime
from ._operators import directional_derivative
from ._problem import Problem

__all__ = ["flow_mixing", "flow_mixing_angular_velocity"]

# Taylor coefficients of tanh(r)/r in powers of s = r^2 (tanh's series: Bernoulli numbers).
_TANHC = (1.0, -1.0 / 3.0, 2.0 / 15.0, -17.0 / 315.0, 62.0 / 2835.0, -1382.0 / 155925.0)
# Below this s the series is used: its first omitted term, 21844/6081075 s^6 ~ 4e-21, and its
# s-derivative ~ 2e-17 are under float64 rounding; above it tanh(r)/r has no cancellation.
_SERIES_BELOW = 1e-3


def _tanh_over_r_and_sech2(s):
    """`tanh(r) / r` and `sech^2(r)` for `s = r^2 >= 0`, smooth (all derivatives) at `s = 0`."""
    small = s < _SERIES_BELOW
    safe = jnp.where(small, 1.0, s)  # never sqrt(0): its derivative is infinite
    r = jnp.sqrt(safe)
    series = _TANHC[-1]
    for c in reversed(_TANHC[:-1]):
        series = series * s + c
    ratio = jnp.where(small, series, jnp.tanh(r) / r)
    # 1/cosh^2 rather than 1 - tanh^2, which cancels for large r (1.6e-12 relative at r = 5.6)
    sech2 = jnp.where(small, 1.0 - s * series**2, 1.0 / jnp.cosh(r) ** 2)
    return ratio, sech2


def flow_mixing_angular_velocity(x, y, v_max):
    """`omega = v_t(r) / (r v_max)` with `v_t = sech^2(r) tanh(r)`, finite (`1/v_max`) and
    smooth at `r = 0`."""
    ratio, sech2 = _tanh_over_r_and_sech2(x**2 + y**2)
    return ratio * sech2 / v_max


def flow_mixing(v_max: float = 0.385) -> Problem:
    """Flow mixing `u_t + a u_x + b u_y = 0` on `[-4, 4]^2 x [0, 4]` (points `(x, y, t)`).

    `a = -omega y`, `b = omega x`, `omega = sech^2(r) tanh(r) / (r v_max)`, `r = |(x, y)|`;
    exact `u = -tanh((y/2) cos(omega t) - (x/2) sin(omega t))`. The initial value and the
    Dirichlet data on the four sides come from the exact solution. `v_max = 0.385` (the
    default) is the maximum of `sech^2 tanh`, so the peak tangential speed is about 1.
    `params = {"v_max": ...}`.
    """
    if not v_max > 0:
        raise ValueError(f"flow_mixing: `v_max` must be positive, got {v_max!r}")
    domain = SpaceTime(Box([-4.0, -4.0], [4.0, 4.0]), 0.0, 4.0)

    def exact(x, p):
        omega = flow_mixing_angular_velocity(x[0], x[1], p["v_max"])
        angle = omega * x[2]
        return -jnp.tanh(0.5 * x[1] * jnp.cos(angle) - 0.5 * x[0] * jnp.sin(angle))

    def residual(u, x, p):
        # u_t + a u_x + b u_y = (a, b, 1) . grad u: one forward pass instead of three
        omega = flow_mixing_angular_velocity(x[0], x[1], p["v_max"])
        velocity = jnp.stack([-omega * x[1], omega * x[0], jnp.ones_like(x[2])])
        return directional_derivative(u, x, velocity)

    return Problem(
        domain,
        residual,
        conditions=[InitialValue(exact), Dirichlet(exact)],
        exact=exact,
        params={"v_max": jnp.asarray(float(v_max))},
        name="flow_mixing",
    )
