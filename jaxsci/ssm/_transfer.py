"""Continuous-time transfer functions `G(s) = C (s I - A)^{-1} B` at one point `s` (vmap over
frequencies). They compare systems without a discretisation or a sequence length in between:
two SSMs with close transfer functions on the imaginary axis give close outputs on every input
(the operator norm of the convolution is `sup_omega |G(i omega)|`)."""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Inexact


def _scalar(s):
    s = jnp.asarray(s)
    if s.ndim != 0:
        raise ValueError(f"`s` must be a scalar (vmap over frequencies), got shape {s.shape}.")
    return s


@jax.jit
def transfer_function(
    a: Inexact[Array, "n n"], b: Inexact[Array, " n"], c: Inexact[Array, " n"], s
) -> Complex[Array, ""]:
    """`C (s I - A)^{-1} B` for a dense system, by one linear solve."""
    s = _scalar(s)
    a, b, c = jnp.asarray(a), jnp.asarray(b), jnp.asarray(c)
    n = b.shape[0] if b.ndim == 1 else -1
    if a.shape != (n, n) or c.shape != (n,):
        raise ValueError(
            f"`a` (n, n), `b` (n,), `c` (n,) must agree, got {a.shape}, {b.shape}, {c.shape}."
        )
    dtype = jnp.result_type(a, b, c, jnp.complex64)
    m = s.astype(dtype) * jnp.eye(n, dtype=dtype) - a.astype(dtype)
    return c.astype(dtype) @ jnp.linalg.solve(m, b.astype(dtype))


@jax.jit
def transfer_function_diagonal(
    eigenvalues: Complex[Array, " half"], b: Inexact[Array, " half"], c: Inexact[Array, " half"], s
) -> Complex[Array, ""]:
    """`sum_n [C_n B_n / (s - lambda_n) + conj(C_n B_n) / (s - conj(lambda_n))]`: the transfer
    function of a conjugate-halved diagonal system (the `2 Re` convention, in frequency)."""
    s = _scalar(s)
    lam, b, c = jnp.asarray(eigenvalues), jnp.asarray(b), jnp.asarray(c)
    if lam.ndim != 1 or b.shape != lam.shape or c.shape != lam.shape:
        raise ValueError(
            f"`eigenvalues`, `b`, `c` must all be (half,), got {lam.shape}, {b.shape}, {c.shape}."
        )
    v = c * b
    return jnp.sum(v / (s - lam) + jnp.conj(v) / (s - jnp.conj(lam)))


@jax.jit
def transfer_function_dplr(
    eigenvalues: Complex[Array, " half"],
    low_rank: Complex[Array, "half rank"],
    b: Complex[Array, " half"],
    c: Complex[Array, " half"],
    s,
) -> Complex[Array, ""]:
    """The transfer function of a conjugate-halved DPLR system `A = Lambda - P P^*`.

    Woodbury: with `R = (s - Lambda)^{-1}`, `C (s - A)^{-1} B = C R B - C R P (I + P^* R P)^{-1}
    P^* R B`, each term a Cauchy sum over the full (conjugate-extended) spectrum.
    """
    s = _scalar(s)
    lam, p, b, c = map(jnp.asarray, (eigenvalues, low_rank, b, c))
    m = lam.shape[0] if lam.ndim == 1 else -1
    if p.ndim != 2 or p.shape[0] != m or b.shape != (m,) or c.shape != (m,):
        raise ValueError(
            f"`eigenvalues` (half,), `low_rank` (half, rank), `b`, `c` (half,) must agree, got "
            f"{lam.shape}, {p.shape}, {b.shape}, {c.shape}."
        )
    r, rc = 1 / (s - lam), 1 / (s - jnp.conj(lam))

    def cauchy(v):
        v2 = v.reshape(m, -1)
        return (r @ v2 + rc @ jnp.conj(v2)).reshape(v.shape[1:])

    pc = jnp.conj(p)
    s_cb = cauchy(c * b)
    s_cp = cauchy(c[:, None] * p)
    s_pb = cauchy(pc * b[:, None])
    s_pp = cauchy(pc[:, :, None] * p[:, None, :])
    x = jnp.linalg.solve(jnp.eye(p.shape[1], dtype=s_pp.dtype) + s_pp, s_pb)
    return s_cb - s_cp @ x
