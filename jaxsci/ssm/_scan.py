"""Diagonal linear recurrences over a sequence, in parallel (`jax.lax.associative_scan`) and
sequentially (`jax.lax.scan`), and the S5 MIMO SSM built on them (Smith, Warrington, Linderman
2023, "Simplified State Space Layers for Sequence Modeling")."""

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Inexact

from .._checks import check_choice
from ._discretise import METHODS, discretise_diagonal

SCANS = ("parallel", "sequential")


def _check_recurrence(abar, bu):
    abar, bu = jnp.asarray(abar), jnp.asarray(bu)
    if bu.ndim != 2:
        raise ValueError(f"`bu` must have shape (length, state), got {bu.shape}.")
    if abar.shape not in (bu.shape[1:], bu.shape):
        raise ValueError(
            f"`abar` must have shape ({bu.shape[1]},) or {bu.shape} (per step), got {abar.shape}."
        )
    return jnp.broadcast_to(abar, bu.shape), bu


def _combine(left, right):
    # (a1, b1) then (a2, b2): x -> a2 (a1 x + b1) + b2 = (a2 a1) x + (a2 b1 + b2)
    a1, b1 = left
    a2, b2 = right
    return a2 * a1, a2 * b1 + b2


@jax.jit
def parallel_scan(
    abar: Inexact[Array, "... state"], bu: Inexact[Array, "length state"]
) -> Inexact[Array, "length state"]:
    """All states of `x_k = abar * x_{k-1} + bu_k`, `x_{-1} = 0`, by a parallel prefix scan.

    The affine maps `x -> a x + b` compose associatively, so `jax.lax.associative_scan` gives all
    `L` states in `O(log L)` depth and `O(L)` work (Blelloch 1990; S5, Sec. 2.2).

    **Arguments:** `abar` `(state,)` or `(length, state)`, `bu` `(length, state)`.

    **Returns:** the states, `(length, state)`.
    """
    abar, bu = _check_recurrence(abar, bu)
    return jax.lax.associative_scan(_combine, (abar, bu))[1]


@jax.jit
def sequential_scan(
    abar: Inexact[Array, "... state"], bu: Inexact[Array, "length state"]
) -> Inexact[Array, "length state"]:
    """The same states as `parallel_scan`, one step after the other (`jax.lax.scan`)."""
    abar, bu = _check_recurrence(abar, bu)

    def step(x, inp):
        a, b = inp
        x = a * x + b
        return x, x

    return jax.lax.scan(step, jnp.zeros_like(bu[0]), (abar, bu))[1]


@functools.partial(jax.jit, static_argnames=("method", "scan"))
def s5_ssm(
    eigenvalues: Complex[Array, " half"],
    b: Complex[Array, "half hidden"],
    c: Complex[Array, "hidden half"],
    d: Float[Array, " hidden"],
    dt,
    u: Float[Array, "length hidden"],
    *,
    method: str = "zoh",
    scan: str = "parallel",
) -> Float[Array, "length hidden"]:
    """The S5 multi-input multi-output diagonal SSM applied to one sequence.

    `x_k = Abar x_{k-1} + Bbar u_k`, `y_k = 2 Re(C x_k) + D u_k`, with `Abar`, `Bbar` the
    discretised `diag(eigenvalues)` and `b`. One shared state of `2 half` (conjugate-halved)
    modes mixes all `hidden` channels, unlike S4/S4D's one SISO SSM per channel.

    **Arguments:**

    - `eigenvalues` `(half,)`, `b` `(half, hidden)`, `c` `(hidden, half)`, `d` `(hidden,)`.
    - `dt`: scalar or `(half,)` (S5 learns one step per mode).
    - `u`: one sequence `(length, hidden)`; vmap over a batch.
    - `method`: `"zoh"` or `"bilinear"`; `scan`: `"parallel"` or `"sequential"`.

    **Returns:** `y`, `(length, hidden)`, real.
    """
    check_choice(method, "method", METHODS, "s5_ssm")
    check_choice(scan, "scan", SCANS, "s5_ssm")
    lam, b, c, d, u = map(jnp.asarray, (eigenvalues, b, c, d, u))
    if lam.ndim != 1 or b.ndim != 2 or b.shape[0] != lam.shape[0]:
        raise ValueError(f"`b` must have shape ({lam.shape[0]}, hidden), got {b.shape}.")
    h = b.shape[1]
    if c.shape != (h, lam.shape[0]) or d.shape != (h,):
        raise ValueError(
            f"`c` must be ({h}, {lam.shape[0]}) and `d` ({h},), got {c.shape}, {d.shape}."
        )
    if u.ndim != 2 or u.shape[1] != h:
        raise ValueError(f"`u` must have shape (length, {h}), got {u.shape}.")
    abar, bbar = discretise_diagonal(lam, b, dt, method)
    bu = u.astype(bbar.dtype) @ bbar.T
    xs = (parallel_scan if scan == "parallel" else sequential_scan)(abar, bu)
    return (2 * jnp.real(xs @ c.T) + u * d).astype(u.dtype)
