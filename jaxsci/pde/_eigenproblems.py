"""1D Schroedinger eigenproblems `-psi'' + V psi = E psi` as `Problem`s.

The eigenvalue is the entry `"energy"` of `params` (`Problem.eigenvalue`), learned by a solver
together with `psi`; a `Normalisation` condition rules out `psi = 0`. Its starting value selects
the state a solver converges to (start below the first gap for the ground state).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from ._conditions import Dirichlet, Normalisation
from ._domain import Interval
from ._operators import partial
from ._problem import Problem


def _schrodinger_residual(potential):
    def residual(u, x, p):
        return -partial(u, x, 0, 2) + (potential(x) - p["energy"]) * u(x)

    return residual


def infinite_well(level: int = 1, energy_guess: float | None = None) -> Problem:
    """`-psi'' = E psi` on `[0, 1]`, `psi(0) = psi(1) = 0`, `int psi^2 = 1`.

    Exact: `E_n = (n pi)^2`, `psi_n = sqrt(2) sin(n pi x)` (up to sign). `energy_guess` defaults
    to `0.8 E_n`, which lies closer to `E_n` than to any other level."""
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise ValueError(f"infinite_well: `level` must be a positive int, got {level!r}")
    domain = Interval(0.0, 1.0)
    e_n = (level * math.pi) ** 2
    return Problem(
        domain,
        residual=_schrodinger_residual(lambda x: 0.0),
        conditions=[Dirichlet(0.0), Normalisation(1.0, domain=domain, weight=100.0)],
        exact=lambda x, p: math.sqrt(2.0) * jnp.sin(level * math.pi * x[0]),
        params={"energy": jnp.asarray(0.8 * e_n if energy_guess is None else energy_guess)},
        eigenvalue="energy",
        name=f"infinite_well_{level}",
    )
