"""Problems beyond Dirichlet boxes for the GP solver (issue 25): Neumann, Robin and mixed faces,
and variable coefficients, each with an exact solution.

- `gp_neumann_1d`: `u_xx - u = f` on `[0, 1]`, `u = cos(6 pi x) + sin(2 pi x)`; Neumann at
  both ends.
- `gp_robin_1d`: `u_xx = f` on `[0, 1]`, `u = sin(6 pi x) + x`; Robin `u + u_n` at both ends.
- `gp_neumann_2d`: `Lap u - u = f` on `[0, 1]^2`, `u = cos(2 pi x) cos(3 pi y) + x y`; Neumann
  on all four faces.
- `gp_robin_2d`: `Lap u = f` on `[0, 1]^2`, `u = sin(2 pi x) cos(3 pi y) + x y`; Robin
  `u + u_n / 4` on all four faces.
- `gp_mixed_2d`: `Lap u = f` on `[0, 1]^2`, `u = cos(3 pi x) sin(2 pi y) + exp((x + y) / 2)`;
  Dirichlet on `x = 0`, Neumann on `y = 0`, Robin `2 u + u_n` on `x = 1` and `y = 1`.
- `gp_variable_1d`: `-(a u_x)_x = f` on `[0, 1]`, `a = 1 + x^2 / 2`, `u = sin(6 pi x) + x`;
  Dirichlet at `x = 0`, Neumann at `x = 1`.
- `gp_variable_advection_1d`: `a u_xx + b u_x = f` on `[0, 1]`, `a = 1 + x^2`,
  `b = 10 cos(pi x)`, `u = sin(5 pi x) + x`; Dirichlet at `x = 0`, Robin `u + u_n` at `x = 1`.
- `gp_variable_2d`: `-div(a grad u) = f` on `[0, 1]^2`, `a = 1 + x y / 2`,
  `u = sin(2 pi x) sin(3 pi y) + x`; Dirichlet on `x = 0, 1`, Neumann on `y = 0, 1`.

The constant-coefficient problems carry a `LinearOperator` (the GP's `Dense` path); the
variable-coefficient ones only a residual written with autodiff (`partial` of a flux), which
the GP solves by `GaussNewton` (a `LinearOperator` has constant coefficients). Sources are the
equation applied to the exact solution by autodiff, and the Neumann and Robin data are the
exact solution's outward derivative on the face `Neumann`/`Robin` assign a point to (the
nearest face, lower faces first at a corner), so the exact solution satisfies the residual and
every condition to rounding.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from ._conditions import Dirichlet, Neumann, Robin, _normal_derivative
from ._domain import Box, Interval
from ._operators import LinearOperator, partial
from ._problem import Problem

pi = math.pi


def _normal(exact, domain):
    """`value(x, p)`: the outward normal derivative of `exact` on the face nearest `x`."""
    return lambda x, p: _normal_derivative(domain, lambda y: exact(y, p), x)


def _robin(exact, domain, a, b):
    """`value(x, p) = a u + b u_n` of `exact` (as `Robin.residual` reads the face)."""
    normal = _normal(exact, domain)
    return lambda x, p: a * exact(x, p) + b * normal(x, p)


def _linear(domain, operator, exact, conditions, name):
    def source(x, p):
        return operator(lambda y: exact(y, p), x)

    return Problem(
        domain, operator=operator, source=source, conditions=conditions, exact=exact, name=name
    )


def _residual(domain, equation, exact, conditions, name):
    """A linear equation `equation(u, x) = f` written with autodiff, `f` from `exact`."""

    def source(x, p):
        return equation(lambda y: exact(y, p), x)

    def residual(u, x, p):
        return equation(u, x) - source(x, p)

    return Problem(
        domain, residual=residual, source=source, conditions=conditions, exact=exact, name=name
    )


def gp_neumann_1d() -> Problem:
    """`u_xx - u = f` on `[0, 1]`, `u = cos(6 pi x) + sin(2 pi x)`, Neumann data at both ends
    (the `- u` term makes the pure Neumann problem well posed)."""
    domain = Interval(0.0, 1.0)
    exact = lambda x, p: jnp.cos(6 * pi * x[0]) + jnp.sin(2 * pi * x[0])  # noqa: E731
    op = LinearOperator.laplacian(1) - LinearOperator.identity(1)
    conditions = [Neumann(_normal(exact, domain), domain=domain)]
    return _linear(domain, op, exact, conditions, "gp_neumann_1d")


def gp_robin_1d() -> Problem:
    """`u_xx = f` on `[0, 1]`, `u = sin(6 pi x) + x`, Robin data `u + u_n` at both ends."""
    domain = Interval(0.0, 1.0)
    exact = lambda x, p: jnp.sin(6 * pi * x[0]) + x[0]  # noqa: E731
    conditions = [Robin(_robin(exact, domain, 1.0, 1.0), a=1.0, b=1.0, domain=domain)]
    return _linear(domain, LinearOperator.laplacian(1), exact, conditions, "gp_robin_1d")


def gp_neumann_2d() -> Problem:
    """`Lap u - u = f` on `[0, 1]^2`, `u = cos(2 pi x) cos(3 pi y) + x y`, Neumann data on all
    four faces."""
    domain = Box([0.0, 0.0], [1.0, 1.0])

    def exact(x, p):
        return jnp.cos(2 * pi * x[0]) * jnp.cos(3 * pi * x[1]) + x[0] * x[1]

    op = LinearOperator.laplacian(2) - LinearOperator.identity(2)
    conditions = [Neumann(_normal(exact, domain), domain=domain)]
    return _linear(domain, op, exact, conditions, "gp_neumann_2d")


def gp_robin_2d() -> Problem:
    """`Lap u = f` on `[0, 1]^2`, `u = sin(2 pi x) cos(3 pi y) + x y`, Robin data
    `u + u_n / 4` on all four faces."""
    domain = Box([0.0, 0.0], [1.0, 1.0])

    def exact(x, p):
        return jnp.sin(2 * pi * x[0]) * jnp.cos(3 * pi * x[1]) + x[0] * x[1]

    conditions = [Robin(_robin(exact, domain, 1.0, 0.25), a=1.0, b=0.25, domain=domain)]
    return _linear(domain, LinearOperator.laplacian(2), exact, conditions, "gp_robin_2d")


def gp_mixed_2d() -> Problem:
    """`Lap u = f` on `[0, 1]^2`, `u = cos(3 pi x) sin(2 pi y) + exp((x + y) / 2)`: Dirichlet
    on `x = 0`, Neumann on `y = 0`, Robin `2 u + u_n` on `x = 1` and `y = 1`."""
    domain = Box([0.0, 0.0], [1.0, 1.0])

    def exact(x, p):
        return jnp.cos(3 * pi * x[0]) * jnp.sin(2 * pi * x[1]) + jnp.exp(0.5 * (x[0] + x[1]))

    conditions = [
        Dirichlet(exact, faces=[(0, 0)]),
        Neumann(_normal(exact, domain), domain=domain, faces=[(1, 0)]),
        Robin(_robin(exact, domain, 2.0, 1.0), a=2.0, b=1.0, domain=domain, faces=[(0, 1), (1, 1)]),
    ]
    return _linear(domain, LinearOperator.laplacian(2), exact, conditions, "gp_mixed_2d")


def gp_variable_1d() -> Problem:
    """`-(a(x) u_x)_x = f` on `[0, 1]`, `a = 1 + x^2 / 2`, `u = sin(6 pi x) + x`: Dirichlet at
    `x = 0`, Neumann at `x = 1`. The divergence form is written as autodiff of the flux."""
    domain = Interval(0.0, 1.0)
    exact = lambda x, p: jnp.sin(6 * pi * x[0]) + x[0]  # noqa: E731

    def equation(u, x):
        flux = lambda y: (1.0 + 0.5 * y[0] ** 2) * partial(u, y, 0)  # noqa: E731
        return -partial(flux, x, 0)

    conditions = [
        Dirichlet(exact, faces=[(0, 0)]),
        Neumann(_normal(exact, domain), domain=domain, faces=[(0, 1)]),
    ]
    return _residual(domain, equation, exact, conditions, "gp_variable_1d")


def gp_variable_advection_1d() -> Problem:
    """`a(x) u_xx + b(x) u_x = f` on `[0, 1]`, `a = 1 + x^2`, `b = 10 cos(pi x)`,
    `u = sin(5 pi x) + x`: Dirichlet at `x = 0`, Robin `u + u_n` at `x = 1`."""
    domain = Interval(0.0, 1.0)
    exact = lambda x, p: jnp.sin(5 * pi * x[0]) + x[0]  # noqa: E731

    def equation(u, x):
        a = 1.0 + x[0] ** 2
        b = 10.0 * jnp.cos(pi * x[0])
        return a * partial(u, x, 0, 2) + b * partial(u, x, 0)

    conditions = [
        Dirichlet(exact, faces=[(0, 0)]),
        Robin(_robin(exact, domain, 1.0, 1.0), a=1.0, b=1.0, domain=domain, faces=[(0, 1)]),
    ]
    return _residual(domain, equation, exact, conditions, "gp_variable_advection_1d")


def gp_variable_2d() -> Problem:
    """`-div(a(x) grad u) = f` on `[0, 1]^2`, `a = 1 + x y / 2`,
    `u = sin(2 pi x) sin(3 pi y) + x`: Dirichlet on `x = 0, 1`, Neumann on `y = 0, 1`."""
    domain = Box([0.0, 0.0], [1.0, 1.0])

    def exact(x, p):
        return jnp.sin(2 * pi * x[0]) * jnp.sin(3 * pi * x[1]) + x[0]

    def equation(u, x):
        a = lambda y: 1.0 + 0.5 * y[0] * y[1]  # noqa: E731
        flux = [lambda y, i=i: a(y) * partial(u, y, i) for i in range(2)]
        return -(partial(flux[0], x, 0) + partial(flux[1], x, 1))

    conditions = [
        Dirichlet(exact, faces=[(0, 0), (0, 1)]),
        Neumann(_normal(exact, domain), domain=domain, faces=[(1, 0), (1, 1)]),
    ]
    return _residual(domain, equation, exact, conditions, "gp_variable_2d")


GP_BOUNDARY_PROBLEMS = {
    "gp_neumann_1d": gp_neumann_1d,
    "gp_robin_1d": gp_robin_1d,
    "gp_neumann_2d": gp_neumann_2d,
    "gp_robin_2d": gp_robin_2d,
    "gp_mixed_2d": gp_mixed_2d,
    "gp_variable_1d": gp_variable_1d,
    "gp_variable_advection_1d": gp_variable_advection_1d,
    "gp_variable_2d": gp_variable_2d,
}
