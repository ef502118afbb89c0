"""The dysts collection of chaotic flows and maps as jaxsci systems.

`ChaoticFlow("Lorenz")` and `ChaoticMap("Henon")` are `AbstractFlow` / `AbstractMap`s whose
right-hand side is the JAX function of `_dysts_fields.py` and whose parameters, initial
condition, integration step, dominant period, Lyapunov estimates and standardisation statistics
come from dysts' metadata (Gilpin 2021, "Chaos as an interpretable benchmark for forecasting and
data-driven modelling", NeurIPS Datasets and Benchmarks), copied into `_dysts_table.json` by
`python -m experiments.dsr.dysts_table`. dysts itself is not a dependency: it is the peer the
tests check every right-hand side against.

`chaotic_trajectories` reproduces dysts' `make_trajectory` sampling: `n` points on
`linspace(0, period * n / pts_per_period, n)`, so `pts_per_period` points per dominant period,
optionally standardised by the metadata's mean and standard deviation.
"""

from __future__ import annotations

import json
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_bool, check_choice, check_int
from ._dysts_fields import FLOW_FIELDS, MAP_STEPS
from ._systems import AbstractFlow, AbstractMap
from ._trajectories import trajectories

_TABLE = json.loads((Path(__file__).parent / "_dysts_table.json").read_text())


def chaotic_systems(kind: str = "flow") -> list[str]:
    """The names of the dysts systems jaxsci implements: `kind="flow"` (49) or `"map"` (13)."""
    check_choice(kind, "kind", ("flow", "map"), "chaotic_systems")
    return sorted(FLOW_FIELDS if kind == "flow" else MAP_STEPS)


def _metadata(name: str, kind: str, where: str) -> dict:
    table = _TABLE["flows" if kind == "flow" else "maps"]
    if not isinstance(name, str):
        raise TypeError(f"{where}: `name` must be a str, got {type(name).__name__} {name!r}")
    if name not in table:
        raise ValueError(f"{where}: unknown `name` {name!r}; expected one of {sorted(table)}")
    return table[name]


def _parameters(name, meta, overrides, where) -> dict[str, float]:
    params = {k: float(v) for k, v in meta["parameters"].items()}
    for k, v in overrides.items():
        if k not in params:
            raise ValueError(
                f"{where}: {name} has no parameter {k!r}; its parameters are {sorted(params)}"
            )
        params[k] = v
    return params


class _Metadata(eqx.Module):
    """What dysts records about a system (read-only properties over its table entry)."""

    name: eqx.AbstractVar[str]

    def _meta(self) -> dict:
        return _TABLE["flows" if isinstance(self, AbstractFlow) else "maps"][self.name]

    @property
    def initial_condition(self) -> np.ndarray:
        """dysts' initial condition (on the attractor)."""
        return np.asarray(self._meta()["initial_conditions"], np.float64)

    @property
    def maximum_lyapunov(self) -> float | None:
        """dysts' `maximum_lyapunov_estimated` (see `lyapunov_spectrum_estimate` for the
        other field, which disagrees with it for some systems)."""
        return self._meta()["maximum_lyapunov_estimated"]

    @property
    def lyapunov_spectrum_estimate(self) -> list[float] | None:
        """dysts' `lyapunov_spectrum_estimated`."""
        return self._meta()["lyapunov_spectrum_estimated"]

    @property
    def mean(self) -> np.ndarray | None:
        m = self._meta()["mean"]
        return None if m is None else np.asarray(m, np.float64)

    @property
    def std(self) -> np.ndarray | None:
        sd = self._meta()["std"]
        return None if sd is None else np.asarray(sd, np.float64)


class ChaoticFlow(_Metadata, AbstractFlow):
    """One of dysts' chaotic flows, `x' = f(x; parameters)`, in JAX.

    **Arguments:** `name` (dysts' class name: `"Lorenz"`, `"Rossler"`, `"Lorenz96"`, ...; see
    `chaotic_systems("flow")`) and keyword overrides of its parameters
    (`ChaoticFlow("Lorenz", rho=35.0)`).

    Beyond `vector_field`, the metadata: `initial_condition`, `dt` (dysts' integration step),
    `period` (dominant period), `maximum_lyapunov`, `lyapunov_spectrum_estimate`, `mean`, `std`.
    """

    name: str = eqx.field(static=True)
    parameters: dict[str, float]
    dim: int = eqx.field(static=True)

    def __init__(self, name: str, **parameters: float):
        meta = _metadata(name, "flow", "ChaoticFlow")
        self.name = name
        self.parameters = _parameters(name, meta, parameters, "ChaoticFlow")
        self.dim = len(meta["initial_conditions"])

    def vector_field(self, t, x: Float[Array, " dim"], args=None) -> Float[Array, " dim"]:
        return FLOW_FIELDS[self.name](x, self.parameters).astype(jnp.result_type(x))

    @property
    def dt(self) -> float:
        return float(self._meta()["dt"])

    @property
    def period(self) -> float:
        return float(self._meta()["period"])


class ChaoticMap(_Metadata, AbstractMap):
    """One of dysts' chaotic maps, `x_{n+1} = F(x_n; parameters)`, in JAX (`Henon`, `Ikeda`,
    `Logistic`, ...; see `chaotic_systems("map")`). Arguments as `ChaoticFlow`."""

    name: str = eqx.field(static=True)
    parameters: dict[str, float]
    dim: int = eqx.field(static=True)

    def __init__(self, name: str, **parameters: float):
        meta = _metadata(name, "map", "ChaoticMap")
        self.name = name
        self.parameters = _parameters(name, meta, parameters, "ChaoticMap")
        self.dim = len(meta["initial_conditions"])

    def step(self, x: Float[Array, " dim"]) -> Float[Array, " dim"]:
        return jnp.reshape(MAP_STEPS[self.name](x, self.parameters), x.shape).astype(x.dtype)


def chaotic_trajectories(
    system: ChaoticFlow | ChaoticMap,
    n: int,
    *,
    initial_states: Float[Array, "batch dim"] | None = None,
    pts_per_period: int = 100,
    standardize: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
) -> Float[Array, "batch n dim"]:
    """Trajectories of `n` points with dysts' sampling, `vmap`ped over initial states.

    A flow is sampled at `linspace(0, period * n / pts_per_period, n)` (dysts'
    `make_trajectory(n, pts_per_period=...)` with its Fourier timescale), integrated by diffrax
    (Tsit5, adaptive); a map is iterated `n - 1` times. With `standardize=True` each coordinate
    is shifted and scaled by the metadata's `mean` and `std` (dysts' `standardize=True`).

    **Arguments:**

    - `system`: a `ChaoticFlow` or `ChaoticMap`.
    - `n`: points per trajectory (at least 2).
    - `initial_states`: `(batch, dim)`; default: dysts' initial condition (batch 1), in the
      dtype JAX gives a NumPy float64 array (float32 unless x64 is on).
    - `pts_per_period`, `standardize`: as above.
    - `rtol`, `atol`: ODE tolerances; default 1e-9 in float64 and 1e-6 in float32 (a float32
      solve asked for 1e-9 shrinks its steps to nothing and runs out of `max_steps`).

    **Returns:** `(batch, n, dim)`.
    """
    where = "chaotic_trajectories"
    if not isinstance(system, (ChaoticFlow, ChaoticMap)):
        raise TypeError(
            f"{where}: `system` must be a ChaoticFlow or ChaoticMap, got {type(system).__name__}"
        )
    n = check_int(n, "n", where, minimum=2)
    pts_per_period = check_int(pts_per_period, "pts_per_period", where)
    standardize = check_bool(standardize, "standardize", where)
    if initial_states is None:
        initial_states = jnp.asarray(system.initial_condition)[None]
    initial_states = jnp.asarray(initial_states)
    default_tol = 1e-9 if initial_states.dtype == jnp.float64 else 1e-6
    rtol = default_tol if rtol is None else rtol
    atol = default_tol if atol is None else atol
    if isinstance(system, ChaoticFlow):
        tlim = system.period * n / pts_per_period
        xs = trajectories(
            system, initial_states, dt=tlim / (n - 1), n_steps=n - 1, rtol=rtol, atol=atol
        )
    else:
        xs = trajectories(system, initial_states, dt=1.0, n_steps=n - 1)
    if standardize:
        if system.mean is None:
            raise ValueError(f"{where}: dysts records no mean/std for {system.name}")
        xs = (xs - jnp.asarray(system.mean, xs.dtype)) / jnp.asarray(system.std, xs.dtype)
    return xs
