"""Discretisation of `x' = A x + B u` with step `dt`: zero-order hold and bilinear, for dense,
diagonal and DPLR state matrices.

- Zero-order hold (exact for piecewise-constant input): `Abar = exp(dt A)`,
  `Bbar = A^{-1} (exp(dt A) - I) B`.
- Bilinear (Tustin, S4's choice): `Abar = (I - dt/2 A)^{-1} (I + dt/2 A)`,
  `Bbar = (I - dt/2 A)^{-1} dt B`. It maps the left half-plane onto the unit disc, and `Abar` is
  a rational function of `A`, which is what makes S4's Cauchy/Woodbury kernel possible.
"""

import functools

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Inexact

from .._checks import check_choice
from ._hippo import conjugate_extend

METHODS = ("zoh", "bilinear")


def _check_dt(dt, shape=()):
    dt = jnp.asarray(dt)
    if dt.ndim > len(shape) or (dt.ndim and dt.shape != tuple(shape)[-dt.ndim :]):
        raise ValueError(f"`dt` must be a scalar or broadcast to {tuple(shape)}, got {dt.shape}.")
    return dt


@functools.partial(jax.jit, static_argnames=("method",))
def discretise(
    a: Inexact[Array, "n n"], b: Inexact[Array, "n ..."], dt, method: str = "zoh"
) -> tuple[Inexact[Array, "n n"], Inexact[Array, "n ..."]]:
    """Discretise a dense system.

    Zero-order hold uses one matrix exponential of the augmented matrix
    `[[A, B], [0, 0]] dt`, whose top blocks are `(Abar, Bbar)` (Van Loan 1978): no inverse of
    `A`, so singular `A` (FouT) is fine.

    **Arguments:** `a` `(n, n)`, `b` `(n,)` or `(n, m)`, scalar `dt`, `method` in
    `("zoh", "bilinear")`.

    **Returns:** `(Abar, Bbar)` with the shapes of `(a, b)`.
    """
    check_choice(method, "method", METHODS, "discretise")
    a, b = jnp.asarray(a), jnp.asarray(b)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"`a` must be square (n, n), got {a.shape}.")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(
            f"`b` must have shape ({a.shape[0]},) or ({a.shape[0]}, m), got {b.shape}."
        )
    dt = _check_dt(dt)
    # follow the system's dtype: a Python or float64 `dt` must not promote a float32 system
    dtype = jnp.result_type(a, b)
    a, b, dt = a.astype(dtype), b.astype(dtype), dt.astype(dtype)
    n = a.shape[0]
    b2 = b if b.ndim == 2 else b[:, None]
    if method == "zoh":
        m = b2.shape[1]
        aug = jnp.zeros((n + m, n + m), dtype).at[:n, :n].set(a).at[:n, n:].set(b2)
        e = jsl.expm(dt * aug)
        abar, bbar = e[:n, :n], e[:n, n:]
    else:
        eye = jnp.eye(n, dtype=dtype)
        sol = jnp.linalg.solve(eye - dt / 2 * a, jnp.concatenate([eye + dt / 2 * a, dt * b2], 1))
        abar, bbar = sol[:, :n], sol[:, n:]
    return abar, (bbar if b.ndim == 2 else bbar[:, 0])


@functools.partial(jax.jit, static_argnames=("method",))
def discretise_diagonal(
    eigenvalues: Inexact[Array, " m"], b: Inexact[Array, "m ..."], dt, method: str = "zoh"
) -> tuple[Inexact[Array, " m"], Inexact[Array, "m ..."]]:
    """Discretise a diagonal system `x' = diag(eigenvalues) x + B u` (S4D, S5).

    ZOH: `Abar = exp(dt lambda)`, `Bbar = (exp(dt lambda) - 1) / lambda B`, written with
    `expm1` so that small `dt lambda` keeps its digits. Bilinear: `Abar = (1 + dt lambda / 2) /
    (1 - dt lambda / 2)`, `Bbar = dt / (1 - dt lambda / 2) B`.

    **Arguments:** `eigenvalues` `(m,)` (complex or real), `b` `(m,)` or `(m, k)` (MIMO), `dt` a
    scalar or `(m,)` (one step per mode, as in S5), `method`.

    **Returns:** `(Abar, Bbar)` with the shapes of `(eigenvalues, b)`.
    """
    check_choice(method, "method", METHODS, "discretise_diagonal")
    lam, b = jnp.asarray(eigenvalues), jnp.asarray(b)
    if lam.ndim != 1:
        raise ValueError(f"`eigenvalues` must have shape (m,), got {lam.shape}.")
    if b.ndim not in (1, 2) or b.shape[0] != lam.shape[0]:
        raise ValueError(
            f"`b` must have shape ({lam.shape[0]},) or ({lam.shape[0]}, k), got {b.shape}."
        )
    dt = _check_dt(dt, lam.shape).astype(jnp.finfo(jnp.result_type(lam, b)).dtype)
    z = dt * lam
    if method == "zoh":
        abar = jnp.exp(z)
        gain = jnp.expm1(z) / lam
    else:
        abar = (1 + z / 2) / (1 - z / 2)
        gain = dt / (1 - z / 2)
    return abar, (gain * b if b.ndim == 1 else gain[:, None] * b)


@jax.jit
def dplr_dense(
    eigenvalues: Inexact[Array, " half"], low_rank: Inexact[Array, "half rank"]
) -> Inexact[Array, "n n"]:
    """The full `n x n` complex state matrix `diag(Lambda) - P P^*` of a conjugate-halved DPLR
    system (`n = 2 half`), in the basis `[modes, conjugate modes]`."""
    lam, p = jnp.asarray(eigenvalues), jnp.asarray(low_rank)
    if lam.ndim != 1 or p.ndim != 2 or p.shape[0] != lam.shape[0]:
        raise ValueError(
            f"`eigenvalues` (half,) and `low_rank` (half, rank) must agree, got {lam.shape}, "
            f"{p.shape}."
        )
    lam, p = conjugate_extend(lam), conjugate_extend(p)
    return jnp.diag(lam) - p @ jnp.conj(p).T


@functools.partial(jax.jit, static_argnames=("method",))
def discretise_dplr(
    eigenvalues: Inexact[Array, " half"],
    low_rank: Inexact[Array, "half rank"],
    b: Inexact[Array, " half"],
    dt,
    method: str = "bilinear",
) -> tuple[Inexact[Array, "n n"], Inexact[Array, " n"]]:
    """Discretise a conjugate-halved DPLR system `A = Lambda - P P^*` (S4).

    The conjugate half is not closed under `A` (the low-rank term couples a mode with the
    conjugates of the others), so the result is the full `n = 2 half` system in the basis
    `[modes, conjugate modes]`, dense: `O(n^3)`. Kernels never need this (`s4_kernel` works
    with the generating function); the recurrent step mode and the naive reference kernel do.
    ZOH has no structured form for DPLR matrices; bilinear is what S4 uses.

    **Returns:** `(Abar, Bbar)`, shapes `(n, n)` and `(n,)`, complex. A real input sequence
    gives a conjugate-symmetric state `[x, conj x]`.
    """
    lam, p, b = jnp.asarray(eigenvalues), jnp.asarray(low_rank), jnp.asarray(b)
    if lam.ndim != 1 or p.ndim != 2 or p.shape[0] != lam.shape[0] or b.shape != lam.shape:
        raise ValueError(
            "`eigenvalues` (half,), `low_rank` (half, rank) and `b` (half,) must agree, got "
            f"{lam.shape}, {p.shape}, {b.shape}."
        )
    return discretise(dplr_dense(lam, p), conjugate_extend(b), dt, method)
