"""The high-frequency and multi-scale problems of Fang et al. (ICLR 2024, Tables 1-2).

Ids follow the paper's table rows: P1-P5 (1D Poisson), A1-A2 (1D Allen-Cahn-type
`u_xx + u(u^2 - 1) = f`), Q1-Q2 (2D Poisson), AC2 (2D Allen-Cahn-type), ADV (advection with data
on all four edges). Sources are the operator applied to the exact solution with autodiff, exact
to rounding. Dirichlet data come from the exact solution on every face.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from ._conditions import Dirichlet
from ._domain import Box, Interval, SpaceTime
from ._operators import LinearOperator, laplacian
from ._problem import Problem

pi = math.pi


def _linear(domain, operator, exact, name):
    def source(x, p):
        return operator(lambda y: exact(y, p), x)

    return Problem(
        domain,
        operator=operator,
        source=source,
        conditions=[Dirichlet(exact)],
        exact=exact,
        name=name,
    )


def _allen_cahn(domain, exact, name):
    def source(x, p):
        u = lambda y: exact(y, p)  # noqa: E731
        v = u(x)
        return laplacian(u, x) + v * (v**2 - 1.0)

    def residual(u, x, p):
        v = u(x)
        return laplacian(u, x) + v * (v**2 - 1.0) - source(x, p)

    return Problem(
        domain,
        residual=residual,
        source=source,
        conditions=[Dirichlet(exact)],
        exact=exact,
        name=name,
    )


def _poisson_1d(exact, upper, name):
    return _linear(Interval(0.0, upper), LinearOperator.laplacian(1), exact, name)


def gp_p1() -> Problem:
    """`u_xx = f` on `[0, 2 pi]`, `u = sin(100 x)`."""
    return _poisson_1d(lambda x, p: jnp.sin(100 * x[0]), 2 * pi, "gp_p1")


def gp_p2() -> Problem:
    """`u_xx = f` on `[0, 1]`, `u = sin x + 0.1 sin 20x + 0.05 cos 100x`."""
    exact = lambda x, p: (  # noqa: E731
        jnp.sin(x[0]) + 0.1 * jnp.sin(20 * x[0]) + 0.05 * jnp.cos(100 * x[0])
    )
    return _poisson_1d(exact, 1.0, "gp_p2")


def gp_p3() -> Problem:
    """`u_xx = f` on `[0, 2 pi]`, `u = sin(6x) cos(100x)`."""
    return _poisson_1d(lambda x, p: jnp.sin(6 * x[0]) * jnp.cos(100 * x[0]), 2 * pi, "gp_p3")


def gp_p4() -> Problem:
    """`u_xx = f` on `[0, 2 pi]`, `u = x sin(200x)`."""
    return _poisson_1d(lambda x, p: x[0] * jnp.sin(200 * x[0]), 2 * pi, "gp_p4")


def gp_p5() -> Problem:
    """`u_xx = f` on `[0, 1]`, `u = sin(500x) - 2(x - 0.5)^2`."""
    exact = lambda x, p: jnp.sin(500 * x[0]) - 2 * (x[0] - 0.5) ** 2  # noqa: E731
    return _poisson_1d(exact, 1.0, "gp_p5")


def gp_a1() -> Problem:
    """`u_xx + u(u^2 - 1) = f` on `[0, 2 pi]`, `u = sin(100x)`."""
    return _allen_cahn(Interval(0.0, 2 * pi), lambda x, p: jnp.sin(100 * x[0]), "gp_a1")


def gp_a2() -> Problem:
    """`u_xx + u(u^2 - 1) = f` on `[0, 2 pi]`, `u = sin(6x) cos(100x)`."""
    exact = lambda x, p: jnp.sin(6 * x[0]) * jnp.cos(100 * x[0])  # noqa: E731
    return _allen_cahn(Interval(0.0, 2 * pi), exact, "gp_a2")


def gp_q1() -> Problem:
    """`u_xx + u_yy = f` on `[0, 2 pi]^2`, `u = sin(100x) sin(100y)`."""
    exact = lambda x, p: jnp.sin(100 * x[0]) * jnp.sin(100 * x[1])  # noqa: E731
    return _linear(Box([0.0, 0.0], [2 * pi, 2 * pi]), LinearOperator.laplacian(2), exact, "gp_q1")


def gp_q2() -> Problem:
    """`u_xx + u_yy = f` on `[0, 2 pi]^2`, `u = sin(6x) cos(20x) + sin(6y) cos(20y)`."""

    def exact(x, p):
        return jnp.sin(6 * x[0]) * jnp.cos(20 * x[0]) + jnp.sin(6 * x[1]) * jnp.cos(20 * x[1])

    return _linear(Box([0.0, 0.0], [2 * pi, 2 * pi]), LinearOperator.laplacian(2), exact, "gp_q2")


def gp_ac2() -> Problem:
    """`Lap u + u(u^2 - 1) = f` on `[0, 1]^2`,
    `u = (sin x + 0.1 sin 20x + cos 100x)(sin y + 0.1 sin 20y + cos 100y)`."""

    def g(s):
        return jnp.sin(s) + 0.1 * jnp.sin(20 * s) + jnp.cos(100 * s)

    return _allen_cahn(Box([0.0, 0.0], [1.0, 1.0]), lambda x, p: g(x[0]) * g(x[1]), "gp_ac2")


def gp_advection(beta: float = 200.0) -> Problem:
    """`u_t + beta u_x = 0` on `(x, t) in [0, 1]^2`, `u = sin(x - beta t)`, data on all four
    edges (`t = 1` included, as in the paper)."""
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)
    operator = LinearOperator([(0, 1), (1, 0)], jnp.asarray([1.0, beta]))
    exact = lambda x, p: jnp.sin(x[0] - beta * x[1])  # noqa: E731
    return _linear(domain, operator, exact, "gp_advection")


def gp_unpicked() -> Problem:
    """`u_xx = f` on `[0, 2 pi]`, `u = sin(37.3 x) + 0.3 cos(71.9 x)`: not in the paper's table,
    non-integer frequencies (5.94 and 11.44 cycles per unit), for the check that the default
    kernel finds them from the source alone."""
    return _poisson_1d(
        lambda x, p: jnp.sin(37.3 * x[0]) + 0.3 * jnp.cos(71.9 * x[0]), 2 * pi, "gp_unpicked"
    )


def gp_two_tone() -> Problem:
    """`u_xx = f` on `[0, 2 pi]`, `u = sin(75 x) + 0.3 cos(7 x)`: not in the paper's table, a
    strong high tone (11.94 cycles per unit) and a weaker low one (1.11), which the Laplacian
    weighs (75/7)^2 = 115 times less against it in the source than in `u` (issue 25: a
    picker reading the source's spectrum took side lobes of the high tone instead, 1.3e-6 at
    400 points)."""
    exact = lambda x, p: jnp.sin(75 * x[0]) + 0.3 * jnp.cos(7 * x[0])  # noqa: E731
    return _poisson_1d(exact, 2 * pi, "gp_two_tone")


def gp_two_scale_2d() -> Problem:
    """`u_xx + u_yy = f` on `[0, 1]^2`, `u = sin(20 pi x) sin(3 pi y)`: not in the paper's
    table, a different frequency per axis (10 cycles per unit in x, 1.5 in y)."""
    exact = lambda x, p: jnp.sin(20 * pi * x[0]) * jnp.sin(3 * pi * x[1])  # noqa: E731
    return _linear(
        Box([0.0, 0.0], [1.0, 1.0]), LinearOperator.laplacian(2), exact, "gp_two_scale_2d"
    )


GP_PROBLEMS = {
    "gp_p1": gp_p1,
    "gp_p2": gp_p2,
    "gp_p3": gp_p3,
    "gp_p4": gp_p4,
    "gp_p5": gp_p5,
    "gp_a1": gp_a1,
    "gp_a2": gp_a2,
    "gp_q1": gp_q1,
    "gp_q2": gp_q2,
    "gp_ac2": gp_ac2,
    "gp_advection": gp_advection,
    "gp_unpicked": gp_unpicked,
    "gp_two_tone": gp_two_tone,
    "gp_two_scale_2d": gp_two_scale_2d,
}
