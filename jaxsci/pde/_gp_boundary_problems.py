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

Space-time, the linear-operator forms of catalogue problems declared as autodiff residuals
(for the GP's Kronecker path, which reads `LinearOperator` terms; the same equations, data and
exact solutions; `pde.GP_SPACE_TIME_PROBLEMS`, in the catalogue beside `GP_BOUNDARY_PROBLEMS`,
whose problems each have a Neumann or Robin face):

- `heat_1d_linear`: `heat_1d`, `u_t - 0.1 u_xx = 0` on `[0, 1] x [0, 1]`.
- `zoo_heat_linear`: `zoo_heat`, `u_t - 0.02 u_xx = 0`, five decaying modes.
- `zoo_advection_diffusion_linear`: `zoo_advection_diffusion`, `u_t + 0.8 u_x - 0.01 u_xx = 0`
  on `[-1, 1] x [0, 1]`, a Gaussian pulse carried and spread.

Each has an `InitialValue` at `t = 0`, `Dirichlet` data on `x` faces and no condition at
`t = 1`. The source is zero (the operator applied to `exact` by autodiff: zero to rounding).

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

from ._conditions import Dirichlet, InitialValue, Neumann, Robin, _normal_derivative
from ._domain import Box, Interval, SpaceTime
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


def _space_time(domain, operator, exact, boundary, name):
    conditions = [InitialValue(exact), Dirichlet(boundary)]
    return _linear(domain, operator, exact, conditions, name)


def heat_1d_linear(diffusivity: float = 0.1) -> Problem:
    """`heat_1d` with a `LinearOperator`: `u_t - kappa u_xx = 0` on `[0, 1] x [0, 1]`, zero
    Dirichlet, `u = exp(-kappa pi^2 t) sin(pi x) + 0.5 exp(-9 kappa pi^2 t) sin(3 pi x)`."""
    k = diffusivity

    def exact(x, p):
        return jnp.exp(-k * pi**2 * x[1]) * jnp.sin(pi * x[0]) + 0.5 * jnp.exp(
            -9 * k * pi**2 * x[1]
        ) * jnp.sin(3 * pi * x[0])

    op = LinearOperator([(0, 1), (2, 0)], jnp.asarray([1.0, -k]))
    return _space_time(SpaceTime(Interval(0.0, 1.0), 0.0, 1.0), op, exact, 0.0, "heat_1d_linear")


def zoo_heat_linear(diffusivity: float = 0.02) -> Problem:
    """`zoo_heat` with a `LinearOperator`: `u_t - kappa u_xx = 0` on `[0, 1] x [0, 1]`, zero
    Dirichlet, `u = sum_{n=1..5} exp(-kappa (n pi)^2 t) sin(n pi x) / n`."""
    k = diffusivity

    def exact(x, p):
        n = jnp.arange(1, 6, dtype=x.dtype)
        return jnp.sum(jnp.exp(-k * (n * pi) ** 2 * x[1]) * jnp.sin(n * pi * x[0]) / n)

    op = LinearOperator([(0, 1), (2, 0)], jnp.asarray([1.0, -k]))
    return _space_time(SpaceTime(Interval(0.0, 1.0), 0.0, 1.0), op, exact, 0.0, "zoo_heat_linear")


def zoo_advection_diffusion_linear(speed: float = 0.8, diffusivity: float = 0.01) -> Problem:
    """`zoo_advection_diffusion` with a `LinearOperator`: `u_t + a u_x - kappa u_xx = 0` on
    `[-1, 1] x [0, 1]`, `u = s0/s(t) exp(-(x + 0.4 - a t)^2 / (2 s(t)^2))`,
    `s(t)^2 = s0^2 + 2 kappa t`, `s0 = 0.1`; Dirichlet data from `u`."""
    s0 = 0.1

    def exact(x, p):
        s2 = s0**2 + 2 * diffusivity * x[1]
        return jnp.sqrt(s0**2 / s2) * jnp.exp(-((x[0] + 0.4 - speed * x[1]) ** 2) / (2 * s2))

    op = LinearOperator([(0, 1), (1, 0), (2, 0)], jnp.asarray([1.0, speed, -diffusivity]))
    domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)
    return _space_time(domain, op, exact, exact, "zoo_advection_diffusion_linear")


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

GP_SPACE_TIME_PROBLEMS = {
    "heat_1d_linear": heat_1d_linear,
    "zoo_heat_linear": zoo_heat_linear,
    "zoo_advection_diffusion_linear": zoo_advection_diffusion_linear,
}
