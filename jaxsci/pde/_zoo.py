"""The zoo: problems a user brings, each with an exact solution, for judging defaults and error
estimates on problems nobody tuned a recipe for (issue 27).

Every problem here is a closed form: a manufactured source (the operator applied to the exact
solution with autodiff, exact to rounding) or a solution known in closed form (the boundary
layer, the heat series, the spreading Gaussian). Boundary and initial data come from the exact
solution, so non-zero and non-polynomial data are as a user has them. What each row probes:

| name | what a user brings |
|---|---|
| `zoo_bump_2d` | a narrow Gaussian bump inside the square (localised feature) |
| `zoo_boundary_layer` | `-eps u'' + u' = 1`, `eps = 1e-2` (a layer of width eps at x = 1) |
| `zoo_two_tone_1d` | a strong high tone and a weak low one (multi-scale, 1D) |
| `zoo_multiscale_2d` | a smooth solution with a small high-frequency part (2D) |
| `zoo_dirichlet_data_2d` | non-zero, non-polynomial boundary data |
| `zoo_interior_layer_2d` | a steep tanh front across the square, non-zero data |
| `zoo_nonlinear_2d` | `-Lap u + u^3 = f` (nonlinear elliptic) |
| `zoo_mixed_2d` | Dirichlet on two faces, Neumann on the other two |
| `zoo_poisson_3d` | Poisson in three dimensions |
| `zoo_heat` | heat equation, a five-mode initial value |
| `zoo_advection_diffusion` | a Gaussian pulse carried and spread, data from it on the edges |
| `zoo_convection_30`, `zoo_convection_50` | `u_t + beta u_x = 0`, where plain PINNs fail |
| `zoo_reaction_diffusion` | a two-species reaction-diffusion system |
| `zoo_inverse_heat` | heat with unknown diffusivity, learned from 64 observations |

`ZOO` maps each name to its constructor; `ZOO_LEARN` names the parameters an inverse problem
learns (`pinn.solve(..., learn=ZOO_LEARN[name])`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from ._catalogue import convection
from ._conditions import Dirichlet, InitialValue, Neumann, Observations
from ._domain import Box, Interval, SpaceTime
from ._operators import LinearOperator, laplacian, partial, time_derivative
from ._problem import Problem

pi = math.pi


def _linear(domain, operator, exact, name, conditions=None):
    """`operator u = operator(exact)` with Dirichlet data from `exact` on every face."""

    def source(x, p):
        return operator(lambda y: exact(y, p), x)

    return Problem(
        domain,
        operator=operator,
        source=source,
        conditions=[Dirichlet(exact)] if conditions is None else conditions,
        exact=exact,
        name=name,
    )


def zoo_bump_2d(width: float = 0.05) -> Problem:
    """`-Lap u = f` on `[0, 1]^2`, `u = exp(-|x - c|^2 / (2 width^2))`, `c = (0.6, 0.4)`,
    Dirichlet data from `u` (a localised solution: 1e-7 or less on the boundary)."""

    def exact(x, p):
        r2 = (x[0] - 0.6) ** 2 + (x[1] - 0.4) ** 2
        return jnp.exp(-r2 / (2 * width**2))

    return _linear(Box([0.0, 0.0], [1.0, 1.0]), -LinearOperator.laplacian(2), exact, "zoo_bump_2d")


def zoo_boundary_layer(eps: float = 1e-2) -> Problem:
    """`-eps u'' + u' = 1` on `[0, 1]`, `u(0) = u(1) = 0`;
    `u = x - (exp((x - 1)/eps) - exp(-1/eps)) / (1 - exp(-1/eps))`, a layer of width `eps`
    at `x = 1` (the form written so nothing overflows for small `eps`)."""
    operator = LinearOperator([(2,), (1,)], jnp.asarray([-eps, 1.0]))

    def exact(x, p):
        tail = math.exp(-1.0 / eps)
        return x[0] - (jnp.exp((x[0] - 1.0) / eps) - tail) / (1.0 - tail)

    return Problem(
        Interval(0.0, 1.0),
        operator=operator,
        source=lambda x, p: jnp.ones((), x.dtype),
        conditions=[Dirichlet(0.0)],
        exact=exact,
        name="zoo_boundary_layer",
    )


def zoo_two_tone_1d() -> Problem:
    """`-u'' = f` on `[0, 1]`, `u = sin(16 pi x) + 0.1 sin(2 pi x)`, zero Dirichlet: a strong
    high tone and a weak low one."""
    exact = lambda x, p: jnp.sin(16 * pi * x[0]) + 0.1 * jnp.sin(2 * pi * x[0])  # noqa: E731
    op = -LinearOperator.laplacian(1)
    return _linear(Interval(0.0, 1.0), op, exact, "zoo_two_tone_1d", [Dirichlet(0.0)])


def zoo_multiscale_2d() -> Problem:
    """`-Lap u = f` on `[0, 1]^2`, `u = sin(pi x) sin(pi y) + 0.05 sin(8 pi x) sin(8 pi y)`,
    zero Dirichlet: a smooth solution with a small high-frequency part."""

    def exact(x, p):
        return jnp.sin(pi * x[0]) * jnp.sin(pi * x[1]) + 0.05 * jnp.sin(8 * pi * x[0]) * jnp.sin(
            8 * pi * x[1]
        )

    op = -LinearOperator.laplacian(2)
    return _linear(Box([0.0, 0.0], [1.0, 1.0]), op, exact, "zoo_multiscale_2d", [Dirichlet(0.0)])


def zoo_dirichlet_data_2d() -> Problem:
    """`-Lap u = f` on `[0, 1]^2`, `u = exp(x) sin(2 y) + cos(3 x y)`, Dirichlet data from `u`
    (non-zero and non-polynomial on every face)."""
    exact = lambda x, p: jnp.exp(x[0]) * jnp.sin(2 * x[1]) + jnp.cos(3 * x[0] * x[1])  # noqa: E731
    op = -LinearOperator.laplacian(2)
    return _linear(Box([0.0, 0.0], [1.0, 1.0]), op, exact, "zoo_dirichlet_data_2d")


def zoo_interior_layer_2d(width: float = 0.05) -> Problem:
    """`-Lap u = f` on `[0, 1]^2`, `u = tanh((x + y - 1) / width)`: a steep front along the
    diagonal, data from `u` (near -1 and +1 on opposite corners)."""
    exact = lambda x, p: jnp.tanh((x[0] + x[1] - 1.0) / width)  # noqa: E731
    op = -LinearOperator.laplacian(2)
    return _linear(Box([0.0, 0.0], [1.0, 1.0]), op, exact, "zoo_interior_layer_2d")


def zoo_nonlinear_2d() -> Problem:
    """`-Lap u + u^3 = f` on `[0, 1]^2`, `u = 2 sin(pi x) sin(pi y) (1 + x y)`, zero Dirichlet:
    nonlinear elliptic, the cubic term of size 8 against the Laplacian's 40."""

    def exact(x, p):
        return 2 * jnp.sin(pi * x[0]) * jnp.sin(pi * x[1]) * (1 + x[0] * x[1])

    def lhs(u, x, p):
        return -laplacian(u, x) + u(x) ** 3

    def source(x, p):
        return lhs(lambda y: exact(y, p), x, p)

    return Problem(
        Box([0.0, 0.0], [1.0, 1.0]),
        residual=lambda u, x, p: lhs(u, x, p) - source(x, p),
        source=source,
        conditions=[Dirichlet(0.0)],
        exact=exact,
        name="zoo_nonlinear_2d",
    )


def zoo_mixed_2d() -> Problem:
    """`-Lap u = f` on `[0, 1]^2`, `u = sin(pi x) cos(pi y) + x^2 y`: Dirichlet data on the
    faces `x = 0, 1`, Neumann data (`n . grad u` from `u`) on `y = 0, 1`."""
    domain = Box([0.0, 0.0], [1.0, 1.0])
    exact = lambda x, p: jnp.sin(pi * x[0]) * jnp.cos(pi * x[1]) + x[0] ** 2 * x[1]  # noqa: E731

    def outward(x, p):
        # the Neumann faces are y = 0 (normal -e_y) and y = 1 (normal +e_y)
        uy = partial(lambda y: exact(y, p), x, 1)
        return jnp.where(x[1] > 0.5, uy, -uy)

    conditions = [
        Dirichlet(exact, faces=[(0, 0), (0, 1)]),
        Neumann(outward, domain=domain, faces=[(1, 0), (1, 1)]),
    ]
    return _linear(domain, -LinearOperator.laplacian(2), exact, "zoo_mixed_2d", conditions)


def zoo_poisson_3d() -> Problem:
    """`-Lap u = f` on `[0, 1]^3`, `u = sin(pi x) sin(pi y) sin(pi z) + x y z`, Dirichlet data
    from `u` (non-zero on three faces)."""

    def exact(x, p):
        return jnp.prod(jnp.sin(pi * x)) + x[0] * x[1] * x[2]

    op = -LinearOperator.laplacian(3)
    return _linear(Box([0.0] * 3, [1.0] * 3), op, exact, "zoo_poisson_3d")


def _heat_series(x, kappa):
    # u0 = sum_n sin(n pi x) / n over n = 1..5: a ramp-like initial value
    n = jnp.arange(1, 6, dtype=x.dtype)
    return jnp.sum(jnp.exp(-kappa * (n * pi) ** 2 * x[1]) * jnp.sin(n * pi * x[0]) / n)


def zoo_heat(diffusivity: float = 0.02) -> Problem:
    """`u_t = kappa u_xx` on `[0, 1] x [0, 1]`, zero Dirichlet,
    `u = sum_{n=1..5} exp(-kappa (n pi)^2 t) sin(n pi x) / n` (five modes decaying at rates
    from 0.2 to 4.9 with `kappa = 0.02`)."""
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)
    exact = lambda x, p: _heat_series(x, p["diffusivity"])  # noqa: E731
    return Problem(
        domain,
        residual=lambda u, x, p: time_derivative(u, x) - p["diffusivity"] * partial(u, x, 0, 2),
        conditions=[InitialValue(exact), Dirichlet(0.0)],
        exact=exact,
        params={"diffusivity": jnp.asarray(diffusivity)},
        name="zoo_heat",
    )


def zoo_advection_diffusion(speed: float = 0.8, diffusivity: float = 0.01) -> Problem:
    """`u_t + a u_x = kappa u_xx` on `[-1, 1] x [0, 1]`: a Gaussian pulse (width 0.1, from
    `x = -0.4`) carried at speed `a` and spread,
    `u = s0/s(t) exp(-(x + 0.4 - a t)^2 / (2 s(t)^2))`, `s(t)^2 = s0^2 + 2 kappa t`;
    initial and Dirichlet data from `u`."""
    domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)
    s0 = 0.1

    def exact(x, p):
        s2 = s0**2 + 2 * p["diffusivity"] * x[1]
        return jnp.sqrt(s0**2 / s2) * jnp.exp(-((x[0] + 0.4 - p["speed"] * x[1]) ** 2) / (2 * s2))

    def residual(u, x, p):
        return (
            time_derivative(u, x)
            + p["speed"] * partial(u, x, 0)
            - p["diffusivity"] * partial(u, x, 0, 2)
        )

    return Problem(
        domain,
        residual=residual,
        conditions=[InitialValue(exact), Dirichlet(exact)],
        exact=exact,
        params={"speed": jnp.asarray(speed), "diffusivity": jnp.asarray(diffusivity)},
        name="zoo_advection_diffusion",
    )


def _convection(beta: float, name: str) -> Problem:
    problem = convection(beta)
    return Problem(
        problem.domain,
        residual=problem.residual,
        conditions=problem.conditions,
        exact=problem.exact,
        params=problem.params,
        name=name,
    )


def zoo_convection_30() -> Problem:
    """`pde.convection(beta=30)`: `u = sin(x - 30 t)`, periodic in `x` (Krishnapriyan et al.
    2021: a plain PINN fails from beta ~ 20 on)."""
    return _convection(30.0, "zoo_convection_30")


def zoo_convection_50() -> Problem:
    """`pde.convection(beta=50)`: `u = sin(x - 50 t)`, periodic in `x`."""
    return _convection(50.0, "zoo_convection_50")


def zoo_reaction_diffusion() -> Problem:
    """Two species on `[0, 1] x [0, 1]`: `u_t = D u_xx - u v + f`, `v_t = D v_xx + u v - v + g`
    (`D = 0.05`), `u = exp(-t) sin(pi x) + 1`, `v = exp(-2 t) sin(2 pi x) + 0.5`; initial and
    Dirichlet data from the exact pair (a field with `out_size=2`)."""
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)

    def exact(x, p):
        u = jnp.exp(-x[1]) * jnp.sin(pi * x[0]) + 1.0
        v = jnp.exp(-2 * x[1]) * jnp.sin(2 * pi * x[0]) + 0.5
        return jnp.stack([u, v])

    def lhs(w, x, p):
        u = lambda y: w(y)[0]  # noqa: E731
        v = lambda y: w(y)[1]  # noqa: E731
        uv = u(x) * v(x)
        eq_u = time_derivative(u, x) - p["D"] * partial(u, x, 0, 2) + uv
        eq_v = time_derivative(v, x) - p["D"] * partial(v, x, 0, 2) - uv + v(x)
        return jnp.stack([eq_u, eq_v])

    def residual(w, x, p):
        return lhs(w, x, p) - lhs(lambda y: exact(y, p), x, p)

    conditions = []
    for i in (0, 1):
        value = lambda x, p, i=i: exact(x, p)[i]  # noqa: E731
        conditions += [InitialValue(value, component=i), Dirichlet(value, component=i)]
    return Problem(
        domain,
        residual=residual,
        conditions=conditions,
        exact=exact,
        params={"D": jnp.asarray(0.05)},
        n_outputs=2,
        name="zoo_reaction_diffusion",
    )


def zoo_inverse_heat(diffusivity_guess: float = 0.05) -> Problem:
    """`u_t = kappa u_xx` on `[0, 1] x [0, 1]` with `kappa` unknown (true 0.1, starting from
    `diffusivity_guess`), 64 observations of `u` on an 8 x 8 interior grid, zero Dirichlet
    and the initial value known: learn it with `solve(..., learn=["diffusivity"])`.
    `u = exp(-kappa pi^2 t) sin(pi x) + 0.5 exp(-4 kappa pi^2 t) sin(2 pi x)`."""
    domain = SpaceTime(Interval(0.0, 1.0), 0.0, 1.0)
    true_kappa = 0.1

    def exact(x, p):
        decay = jnp.exp(-true_kappa * pi**2 * x[1])
        return decay * jnp.sin(pi * x[0]) + 0.5 * decay**4 * jnp.sin(2 * pi * x[0])

    points = domain.grid((8, 8), cell_centred=True)
    values = jax.vmap(lambda x: exact(x, None))(points)
    return Problem(
        domain,
        residual=lambda u, x, p: time_derivative(u, x) - p["diffusivity"] * partial(u, x, 0, 2),
        conditions=[InitialValue(exact), Dirichlet(0.0), Observations(points, values)],
        exact=exact,
        params={"diffusivity": jnp.asarray(diffusivity_guess)},
        name="zoo_inverse_heat",
    )


ZOO_TRUE_PARAMS = {"zoo_inverse_heat": {"diffusivity": 0.1}}

ZOO = {
    "zoo_bump_2d": zoo_bump_2d,
    "zoo_boundary_layer": zoo_boundary_layer,
    "zoo_two_tone_1d": zoo_two_tone_1d,
    "zoo_multiscale_2d": zoo_multiscale_2d,
    "zoo_dirichlet_data_2d": zoo_dirichlet_data_2d,
    "zoo_interior_layer_2d": zoo_interior_layer_2d,
    "zoo_nonlinear_2d": zoo_nonlinear_2d,
    "zoo_mixed_2d": zoo_mixed_2d,
    "zoo_poisson_3d": zoo_poisson_3d,
    "zoo_heat": zoo_heat,
    "zoo_advection_diffusion": zoo_advection_diffusion,
    "zoo_convection_30": zoo_convection_30,
    "zoo_convection_50": zoo_convection_50,
    "zoo_reaction_diffusion": zoo_reaction_diffusion,
    "zoo_inverse_heat": zoo_inverse_heat,
}

ZOO_LEARN = {"zoo_inverse_heat": ("diffusivity",)}
