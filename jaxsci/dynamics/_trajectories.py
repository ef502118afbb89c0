"""Trajectories from many initial conditions, snapshot pairs and time-delay embeddings."""

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_int
from ._systems import AbstractFlow, AbstractMap, AbstractSystem, OrnsteinUhlenbeck, dimension


def trajectories(
    system: AbstractSystem,
    initial_states: Float[Array, "batch dim"],
    *,
    dt: float,
    n_steps: int,
    key: PRNGKeyArray | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> Float[Array, "batch steps dim"]:
    """Trajectories sampled every `dt` from a batch of initial states.

    Flows are integrated with diffrax (Tsit5, adaptive steps, `SaveAt(ts=...)`) for one initial
    state and `jax.vmap`ped over the batch; they follow the dtype of `initial_states` (pass float64
    for the 1e-10 spectral tests). Maps are iterated with `lax.scan`. Ornstein-Uhlenbeck uses its
    exact Gaussian transition and needs `key`.

    **Arguments:**

    - `system`: an `AbstractFlow`, `AbstractMap` or `OrnsteinUhlenbeck`.
    - `initial_states`: shape `(batch, dim)`.
    - `dt`: sampling interval (flows and OU; ignored for maps).
    - `n_steps`: number of steps; the output has `n_steps + 1` states per trajectory.
    - `key`: PRNG key, required for stochastic systems.
    - `rtol`, `atol`: ODE tolerances.

    **Returns:** an array of shape `(batch, n_steps + 1, dim)`.
    """
    initial_states = jnp.asarray(initial_states)
    dim = dimension(system)
    if initial_states.ndim != 2 or initial_states.shape[1] != dim:
        raise ValueError(
            f"`initial_states` must have shape (batch, {dim}), got {initial_states.shape}."
        )
    if not jnp.issubdtype(initial_states.dtype, jnp.floating):
        raise TypeError(f"`initial_states` must be floating point, got {initial_states.dtype}.")
    n_steps = check_int(n_steps, "n_steps", "trajectories")
    dtype = initial_states.dtype

    if isinstance(system, AbstractMap):

        def one(x0):
            def body(x, _):
                x1 = system.step(x)
                return x1, x1

            _, xs = jax.lax.scan(body, x0, None, length=n_steps)
            return jnp.concatenate([x0[None], xs])

        return jax.vmap(one)(initial_states)

    if isinstance(system, OrnsteinUhlenbeck):
        if key is None:
            raise ValueError("`key` is required for the stochastic system OrnsteinUhlenbeck.")

        def one_ou(x0, k):
            def body(x, kk):
                x1 = system.transition(x, dt, key=kk)
                return x1, x1

            _, xs = jax.lax.scan(body, x0, jr.split(k, n_steps))
            return jnp.concatenate([x0[None], xs])

        return jax.vmap(one_ou)(initial_states, jr.split(key, initial_states.shape[0]))

    if isinstance(system, AbstractFlow):
        ts = jnp.arange(n_steps + 1, dtype=dtype) * dt
        term = diffrax.ODETerm(system.vector_field)
        controller = diffrax.PIDController(rtol=rtol, atol=atol)

        def one_flow(x0):
            sol = diffrax.diffeqsolve(
                term,
                diffrax.Tsit5(),
                t0=ts[0],
                t1=ts[-1],
                dt0=jnp.asarray(dt, dtype) / 4,
                y0=x0,
                saveat=diffrax.SaveAt(ts=ts),
                stepsize_controller=controller,
                max_steps=64 * (n_steps + 16) + 4096,
            )
            return sol.ys

        return jax.vmap(one_flow)(initial_states)
    raise TypeError(f"`system` must be a jaxsci.dynamics system, got {type(system).__name__}.")


def snapshot_pairs(
    trajectories: Float[Array, "batch time dim"],
) -> tuple[Float[Array, "m dim"], Float[Array, "m dim"]]:
    """Snapshot pairs `(X, Y)` with `Y[i]` one step after `X[i]`, flattened over trajectories.

    **Arguments:** `trajectories` of shape `(batch, time, dim)` (time >= 2).

    **Returns:** `(X, Y)`, each of shape `(batch * (time - 1), dim)`.
    """
    trajectories = jnp.asarray(trajectories)
    if trajectories.ndim != 3 or trajectories.shape[1] < 2:
        raise ValueError(
            f"`trajectories` must have shape (batch, time >= 2, dim), got {trajectories.shape}."
        )
    d = trajectories.shape[-1]
    return trajectories[:, :-1].reshape(-1, d), trajectories[:, 1:].reshape(-1, d)


def derivative_pairs(
    trajectories: Float[Array, "batch time dim"], dt: float
) -> tuple[Float[Array, "m dim"], Float[Array, "m dim"]]:
    """States and their time derivatives by second-order central differences, for generator
    estimation (`jaxsci.koopman.GeneratorEDMD`).

    x'(t_k) ~ (x_{k+1} - x_{k-1}) / (2 dt), with error dt^2 |x^(3)| / 6.

    **Arguments:** `trajectories` `(batch, time >= 3, dim)` sampled every `dt`.

    **Returns:** `(X, dX)` of shape `(batch * (time - 2), dim)`: interior states and derivatives.
    """
    trajectories = jnp.asarray(trajectories)
    if trajectories.ndim != 3 or trajectories.shape[1] < 3:
        raise ValueError(
            f"`trajectories` must have shape (batch, time >= 3, dim), got {trajectories.shape}."
        )
    d = trajectories.shape[-1]
    dx = (trajectories[:, 2:] - trajectories[:, :-2]) / (2 * dt)
    return trajectories[:, 1:-1].reshape(-1, d), dx.reshape(-1, d)


def hankel(series: Float[Array, "time ..."], delays: int) -> Float[Array, "rows delays_dim"]:
    """Time-delay (Hankel) embedding of one series: row t is (x_t, x_{t+1}, ..., x_{t+delays-1}).

    `vmap` over trajectories. Pair consecutive rows with `snapshot_pairs(h[None])`.
    """
    series = jnp.asarray(series)
    if series.ndim == 1:
        series = series[:, None]
    if series.ndim != 2:
        raise ValueError(f"`series` must have shape (time, dim), got {series.shape}.")
    delays = check_int(delays, "delays", "hankel", maximum=series.shape[0])
    n = series.shape[0] - delays + 1
    idx = jnp.arange(n)[:, None] + jnp.arange(delays)[None, :]
    return series[idx].reshape(n, -1)
