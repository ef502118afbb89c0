"""1D Schroedinger eigenproblems `-psi'' + V psi = E psi` as `Problem`s.

The eigenvalue is the entry `"energy"` of `params` (`Problem.eigenvalue`), learned by a solver
together with `psi`; a `Normalisation` condition rules out `psi = 0`. Its starting value selects
the state a solver converges to (start below the first gap for the ground state).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from .._checks import check_int
from ._conditions import Dirichlet, Normalisation
from ._domain import Interval
from ._operators import partial
from ._problem import Problem
from ._schrodinger import barrier_well_levels, finite_well_levels, finite_well_state


def _schrodinger_residual(potential):
    def residual(u, x, p):
        return -partial(u, x, 0, 2) + (potential(x) - p["energy"]) * u(x)

    return residual


def infinite_well(level: int = 1, energy_guess: float | None = None) -> Problem:
    """`-psi'' = E psi` on `[0, 1]`, `psi(0) = psi(1) = 0`, `int psi^2 = 1`.

    Exact: `E_n = (n pi)^2`, `psi_n = sqrt(2) sin(n pi x)` (up to sign). `energy_guess` defaults
    to `0.8 E_n`, which lies closer to `E_n` than to any other level."""
    level = check_int(level, "level", "infinite_well")
    domain = Interval(0.0, 1.0)
    e_n = (level * math.pi) ** 2
    return Problem(
        domain,
        residual=_schrodinger_residual(lambda x: 0.0),
        conditions=[Dirichlet(0.0), Normalisation(1.0, domain=domain, weight=100.0)],
        exact=lambda x, p: math.sqrt(2.0) * jnp.sin(level * math.pi * x[0]),
        params={"energy": jnp.asarray(0.8 * e_n if energy_guess is None else energy_guess)},
        eigenvalue="energy",
        exact_eigenvalue=e_n,
        name="infinite_well" if level == 1 else f"infinite_well_level{level}",
    )


def finite_well(
    depth: float = 50.0,
    half_width: float = 0.5,
    extent: float = 2.5,
    level: int = 1,
    energy_guess: float | None = None,
) -> Problem:
    """`-psi'' + V psi = E psi` with the square well `V = 0` for `|x| < a`, `V = depth` outside,
    on the truncated line `[-extent, extent]` with `psi = 0` at its ends and `int psi^2 = 1`.

    Truth: `finite_well_levels` / `finite_well_state` (the transcendental matching equations
    `k tan(ka) = kappa`, `-k cot(ka) = kappa`), whose bound states decay like
    `exp(-kappa (|x| - a))`; with the defaults the truncation changes `E_1` by ~1e-11.
    `energy_guess` defaults to half the ground level of the infinite well of width `2a`, an
    upper bound on `E_1` that uses nothing of the exact answer.
    """
    levels = finite_well_levels(depth, half_width)
    level = check_int(level, "level", "finite_well", maximum=len(levels))  # a bound state
    if not extent > half_width:
        raise ValueError(f"finite_well: `extent` must exceed `half_width`, got {extent!r}")
    domain = Interval(-extent, extent)
    potential = lambda x: jnp.where(jnp.abs(x[0]) < half_width, 0.0, depth)
    guess = 0.5 * (math.pi / (2 * half_width)) ** 2 * level**2
    return Problem(
        domain,
        residual=_schrodinger_residual(potential),
        conditions=[Dirichlet(0.0), Normalisation(1.0, domain=domain, weight=100.0)],
        params={"energy": jnp.asarray(guess if energy_guess is None else energy_guess)},
        reference=lambda pts: finite_well_state(depth, half_width, level, pts[:, 0]),
        eigenvalue="energy",
        exact_eigenvalue=float(levels[level - 1]),
        name="finite_well",
    )


def barrier_well(
    height: float = 100.0, width: float = 0.2, level: int = 1, energy_guess: float | None = None
) -> Problem:
    """`-psi'' + V psi = E psi` on `[0, 1]` with `psi(0) = psi(1) = 0` and a central barrier
    `V = height` on `|x - 1/2| < width / 2`. Truth for the levels: `barrier_well_levels`
    (the transcendental matching condition); the state has no closed form here."""
    level = check_int(level, "level", "barrier_well")
    exact = float(barrier_well_levels(level, height, width)[level - 1])
    domain = Interval(0.0, 1.0)
    potential = lambda x: jnp.where(jnp.abs(x[0] - 0.5) < width / 2, height, 0.0)
    return Problem(
        domain,
        residual=_schrodinger_residual(potential),
        conditions=[Dirichlet(0.0), Normalisation(1.0, domain=domain, weight=100.0)],
        params={
            "energy": jnp.asarray(
                0.8 * (level * math.pi) ** 2 if energy_guess is None else energy_guess
            )
        },
        eigenvalue="energy",
        exact_eigenvalue=exact,
        name="barrier_well",
    )
