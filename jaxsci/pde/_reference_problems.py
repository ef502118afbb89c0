"""Problems whose truth is computed by the project's own classical solvers."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ._allen_cahn import allen_cahn_solution
from ._burgers import burgers_solution
from ._conditions import Dirichlet, InitialValue, Periodic
from ._domain import Interval, SpaceTime
from ._operators import partial, time_derivative
from ._problem import Problem


def burgers(viscosity: float = 0.01 / math.pi) -> Problem:
    """Viscous Burgers `u_t + u u_x = nu u_xx` on `[-1, 1] x [0, 1]`, `u(0, x) = -sin(pi x)`,
    `u(t, +-1) = 0` (Raissi, Perdikaris & Karniadakis 2019). Truth: the Cole-Hopf solution by
    Gauss-Hermite quadrature (`burgers_solution`)."""
    if not viscosity > 0:
        raise ValueError(f"burgers: `viscosity` must be positive, got {viscosity!r}")
    domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)

    def residual(u, x, p):
        return (
            time_derivative(u, x) + u(x) * partial(u, x, 0) - p["viscosity"] * partial(u, x, 0, 2)
        )

    return Problem(
        domain,
        residual,
        conditions=[InitialValue(lambda x, p: -jnp.sin(jnp.pi * x[0])), Dirichlet(0.0)],
        params={"viscosity": jnp.asarray(viscosity)},
        reference=lambda pts: burgers_solution(pts[:, 1], pts[:, 0], viscosity),
        name="burgers",
    )


def _allen_cahn_reference(pts: np.ndarray) -> np.ndarray:
    xs, ix = np.unique(pts[:, 0], return_inverse=True)
    ts, it = np.unique(pts[:, 1], return_inverse=True)
    grid = np.atleast_2d(allen_cahn_solution(ts, xs).reshape(len(xs), len(ts)))
    return grid[ix.ravel(), it.ravel()]


def allen_cahn() -> Problem:
    """Allen-Cahn `u_t - 1e-4 u_xx + 5 u^3 - 5 u = 0` on `[-1, 1)` periodic, `t in [0, 1]`,
    `u(0, x) = x^2 cos(pi x)` (Raissi et al. 2019). Truth: Fourier spectral + ETDRK4
    (`allen_cahn_solution`). Periodicity of `u` and `u_x` is a condition."""
    domain = SpaceTime(Interval(-1.0, 1.0), 0.0, 1.0)

    def residual(u, x, p):
        v = u(x)
        return (
            time_derivative(u, x)
            - p["diffusion"] * partial(u, x, 0, 2)
            + p["reaction"] * (v**3 - v)
        )

    return Problem(
        domain,
        residual,
        conditions=[
            InitialValue(lambda x, p: x[0] ** 2 * jnp.cos(jnp.pi * x[0])),
            Periodic(axis=0, derivatives=1, domain=domain),
        ],
        params={"diffusion": jnp.asarray(1e-4), "reaction": jnp.asarray(5.0)},
        reference=_allen_cahn_reference,
        name="allen_cahn",
    )
