"""Canonical problems with closed-form solutions.

Each constructor returns a `Problem`; coefficients live in `params` so a family of problems is a
`vmap` away and an inverse problem can learn them. Where a source term is defined by a
manufactured solution, it is computed by applying the operator to the exact solution with
autodiff (exact to rounding), rather than transcribed by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp

from ._conditions import Dirichlet, InitialValue, InitialVelocity, Periodic
from ._domain import Box, Interval, SpaceTime
from ._operators import LinearOperator, laplacian, partial, time_derivative
from ._problem import Problem

pi = math.pi


def _f(x):
    return jnp.asarray(x)


# ------------------------------------------------------------------ elliptic


def poisson_1d() -> Problem:
    """`-u'' = 4 pi^2 sin(2 pi x)` on `[0, 1]`, `u(0) = u(1) = 0`; `u = sin(2 pi x)`."""
    domain = Interval(0.0, 1.0)
    return Problem(
        domain,
        operator=-LinearOperator.laplacian(1),
        source=lambda x, p: 4 * pi**2 * jnp.sin(2 * pi * x[0]),
        conditions=[Dirichlet(0.0)],
        exact=lambda x, p: jnp.sin(2 * pi * x[0]),
        name="poisson_1d",
    )


def poisson_2d() -> Problem:
    """`-Lap u = 2 pi^2 sin(pi x) sin(pi y)` on `[0, 1]^2`, zero Dirichlet;
    `u = sin(pi x) sin(pi y)`."""
    domain = Box([0.0, 0.0], [1.0, 1.0])
    exact = lambda x, p: jnp.sin(pi * x[0]) * jnp.sin(pi * x[1])
    return Problem(
        domain,
        operator=-LinearOperator.laplacian(2),
        source=lambda x, p: 2 * pi**2 * exact(x, p),
        conditions=[Dirichlet(0.0)],
        exact=exact,
        name="poisson_2d",
    )


def multiscale_poisson_1d() -> Problem:
    """`-u'' = f` on `[0, 1]` with `u = sin(2 pi x) + 0.1 sin(50 pi x)`, zero Dirichlet."""
    domain = Interval(0.0, 1.0)
    exact = lambda x, p: jnp.sin(2 * pi * x[0]) + 0.1 * jnp.sin(50 * pi * x[0])
    source = lambda x, p: (
        (2 * pi) ** 2 * jnp.sin(2 * pi * x[0]) + 0.1 * (50 * pi) ** 2 * jnp.sin(50 * pi * x[0])
    )
    return Problem(
        domain,
        operator=-LinearOperator.laplacian(1),
        source=source,
        conditions=[Dirichlet(0.0)],
        exact=exact,
        name="multiscale_poisson_1d",
    )


def helmholtz_2d(a1: float = 1.0, a2: float = 4.0, wavenumber: float = 1.0) -> Problem:
    """`Lap u + k^2 u = q` on `[-1, 1]^2`, zero Dirichlet, `u = sin(a1 pi x) sin(a2 pi y)`.

    With `k^2 = wavenumber` (the `lambda = 1` of Wang, Teng & Perdikaris 2021) and
    `q = (k^2 - (a1 pi)^2 - (a2 pi)^2) u`. Integer `a1`, `a2` make the boundary values zero.
    """
    domain = Box([-1.0, -1.0], [1.0, 1.0])
    exact = lambda x, p: jnp.sin(a1 * pi * x[0]) * jnp.sin(a2 * pi * x[1])
    k2 = float(wavenumber)
    return Problem(
        domain,
        operator=LinearOperator.laplacian(2) + LinearOperator.identity(2, k2),
        source=lambda x, p: (k2 - (a1 * pi) ** 2 - (a2 * pi) ** 2) * exact(x, p),
        conditions=[Dirichlet(0.0)],
        exact=exact,
        name="helmholtz_2d",
    )


# ------------------------------------------------------------------ evolution


def _manufactured(lhs, exact):
    """Source `f = lhs(exact)`, so that `lhs(u) - f = 0` has the solution `exact`."""
    return lambda x, p: lhs(lambda y: exact(y, p), x, p)


def klein_gordon_1d() -> Problem:
    """`u_tt + alpha u_xx + gamma u^3 = f` on `[0,1] x [0,1]`, `alpha = -1`, `gamma = 1`;
    `u = x cos(5 pi t) + (x t)^3` (Wang, Teng & Perdikaris 2021)."""
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)
    exact = lambda x, p: x[0] * jnp.cos(5 * pi * x[1]) + (x[0] * x[1]) ** 3

    def lhs(u, x, p):
        return time_derivative(u, x, 2) + p["alpha"] * partial(u, x, 0, 2) + p["gamma"] * u(x) ** 3

    source = _manufactured(lhs, exact)
    return Problem(
        domain,
        residual=lambda u, x, p: lhs(u, x, p) - source(x, p),
        conditions=[
            InitialValue(exact),
            InitialVelocity(lambda x, p: time_derivative(lambda y: exact(y, p), x)),
            Dirichlet(exact),
        ],
        exact=exact,
        params={"alpha": jnp.asarray(-1.0), "gamma": jnp.asarray(1.0)},
        name="klein_gordon_1d",
    )


def klein_gordon_2d(box: Sequence[float] = (0.0, 1.0), t_end: float = 1.0) -> Problem:
    """`u_tt - Lap u + u^2 = f` on `box^2 x [0, t_end]` (default `[0,1]^2 x [0,1]`);
    `u = (x+y) cos(2t) + x y sin(2t)`. The SPINN and PIG papers' (2+1)D row is
    `klein_gordon_2d(box=(-1, 1), t_end=10)`."""
    try:
        lo, hi = (float(b) for b in box)
    except (TypeError, ValueError):
        lo = hi = math.nan
    if not lo < hi:
        raise ValueError(f"klein_gordon_2d: `box` must be (lower, upper), lower < upper; got {box}")
    if not t_end > 0:
        raise ValueError(f"klein_gordon_2d: `t_end` must be positive, got {t_end}")
    domain = SpaceTime(Box([lo, lo], [hi, hi]), 0.0, float(t_end))
    exact = lambda x, p: (x[0] + x[1]) * jnp.cos(2 * x[2]) + x[0] * x[1] * jnp.sin(2 * x[2])

    def lhs(u, x, p):
        return time_derivative(u, x, 2) - laplacian(u, x, axes=(0, 1)) + u(x) ** 2

    source = _manufactured(lhs, exact)
    return Problem(
        domain,
        residual=lambda u, x, p: lhs(u, x, p) - source(x, p),
        conditions=[
            InitialValue(exact),
            InitialVelocity(lambda x, p: time_derivative(lambda y: exact(y, p), x)),
            Dirichlet(exact),
        ],
        exact=exact,
        name="klein_gordon_2d",
    )


def convection(beta: float = 10.0) -> Problem:
    """`u_t + beta u_x = 0` on `[0, 2 pi]` periodic, `t in [0, 1]`, `u0 = sin x`;
    `u = sin(x - beta t)` (Krishnapriyan et al. 2021)."""
    domain = SpaceTime(Interval(0.0, 2 * pi), 0.0, 1.0)
    return Problem(
        domain,
        residual=lambda u, x, p: time_derivative(u, x) + p["beta"] * partial(u, x, 0),
        conditions=[
            InitialValue(lambda x, p: jnp.sin(x[0])),
            Periodic(axis=0, derivatives=0, domain=domain),
        ],
        exact=lambda x, p: jnp.sin(x[0] - p["beta"] * x[1]),
        params={"beta": jnp.asarray(beta)},
        name="convection",
    )


def heat_1d(diffusivity: float = 0.1) -> Problem:
    """`u_t = kappa u_xx` on `[0,1] x [0,1]`, zero Dirichlet;
    `u = exp(-kappa pi^2 t) sin(pi x) + 0.5 exp(-9 kappa pi^2 t) sin(3 pi x)`."""
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)

    def exact(x, p):
        k = p["diffusivity"]
        return jnp.exp(-k * pi**2 * x[1]) * jnp.sin(pi * x[0]) + 0.5 * jnp.exp(
            -9 * k * pi**2 * x[1]
        ) * jnp.sin(3 * pi * x[0])

    return Problem(
        domain,
        residual=lambda u, x, p: time_derivative(u, x) - p["diffusivity"] * partial(u, x, 0, 2),
        conditions=[InitialValue(exact), Dirichlet(0.0)],
        exact=exact,
        params={"diffusivity": jnp.asarray(diffusivity)},
        name="heat_1d",
    )


def wave_1d(speed: float = 2.0) -> Problem:
    """`u_tt = c^2 u_xx` on `[0,1] x [0,1]`, zero Dirichlet, at rest initially;
    `u = sin(pi x) cos(c pi t) + 0.5 sin(4 pi x) cos(4 c pi t)`."""
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)

    def exact(x, p):
        c = p["speed"]
        return jnp.sin(pi * x[0]) * jnp.cos(c * pi * x[1]) + 0.5 * jnp.sin(4 * pi * x[0]) * jnp.cos(
            4 * c * pi * x[1]
        )

    return Problem(
        domain,
        residual=lambda u, x, p: time_derivative(u, x, 2) - p["speed"] ** 2 * partial(u, x, 0, 2),
        conditions=[InitialValue(exact), InitialVelocity(0.0), Dirichlet(0.0)],
        exact=exact,
        params={"speed": jnp.asarray(speed)},
        name="wave_1d",
    )
