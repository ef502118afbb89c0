"""Look up catalogue problems by name (used by configs and the command line)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from . import _catalogue, _eigenproblems, _reference_problems
from ._flow_mixing import flow_mixing
from ._gp_boundary_problems import GP_BOUNDARY_PROBLEMS, GP_SPACE_TIME_PROBLEMS
from ._gp_problems import GP_PROBLEMS
from ._nonlinear_diffusion import nonlinear_diffusion
from ._problem import Problem

PROBLEMS: dict[str, Callable[..., Problem]] = {
    "poisson_1d": _catalogue.poisson_1d,
    "poisson_2d": _catalogue.poisson_2d,
    "multiscale_poisson_1d": _catalogue.multiscale_poisson_1d,
    "helmholtz_2d": _catalogue.helmholtz_2d,
    "klein_gordon_1d": _catalogue.klein_gordon_1d,
    "klein_gordon_2d": _catalogue.klein_gordon_2d,
    "convection": _catalogue.convection,
    "heat_1d": _catalogue.heat_1d,
    "wave_1d": _catalogue.wave_1d,
    "infinite_well": _eigenproblems.infinite_well,
    "finite_well": _eigenproblems.finite_well,
    "barrier_well": _eigenproblems.barrier_well,
    "burgers": _reference_problems.burgers,
    "allen_cahn": _reference_problems.allen_cahn,
    "flow_mixing": flow_mixing,
    "nonlinear_diffusion": nonlinear_diffusion,
}


PROBLEMS.update(GP_PROBLEMS)
PROBLEMS.update(GP_BOUNDARY_PROBLEMS)  # Neumann, Robin, mixed, variable coefficients (issue 25)
# space-time heat and advection-diffusion as `LinearOperator`s, for the GP's Kronecker path
PROBLEMS.update(GP_SPACE_TIME_PROBLEMS)


def register(name: str, constructor: Callable[..., Problem]) -> None:
    """Add a problem constructor under `name` (for configs and `get_problem`)."""
    PROBLEMS[name] = constructor


def get_problem(name: str, **kwargs) -> Problem:
    """The catalogue problem `name`, built with keyword arguments `kwargs`.

    Unknown names and arguments raise a `ValueError` listing what is available."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; expected one of {sorted(PROBLEMS)}")
    make = PROBLEMS[name]
    allowed = list(inspect.signature(make).parameters)
    bad = [k for k in kwargs if k not in allowed]
    if bad:
        raise ValueError(
            f"problem {name!r} takes no argument(s) {bad}; its arguments are {allowed or 'none'}"
        )
    return make(**kwargs)
