"""Convolution kernels `K_l = C Abar^l Bbar` of one SSM (one channel; `vmap` over channels),
computed three ways, and the causal FFT convolution of a sequence with a kernel.

- `naive_kernel`: the definition, one matrix-vector product per lag (`O(L n^2)`); the reference.
- `s4d_kernel`: a diagonal system, the Vandermonde product (`O(L n)`) (Gu, Gupta, Goel, Re 2022).
- `s4_kernel`: a DPLR system, via its generating function at the roots of unity: Cauchy sums and
  a Woodbury correction, then an inverse FFT (Gu, Goel, Re 2022, S4, Alg. 1).

Conjugate halving: `s4d_kernel` and `s4_kernel` take one mode of each conjugate pair and return
the kernel of the full real system (see `jaxsci.ssm.dplr`).
"""

import functools
import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Inexact

from .._checks import check_choice, check_int
from ._discretise import METHODS, _check_dt, discretise, dplr_dense
from ._hippo import conjugate_extend


@functools.partial(jax.jit, static_argnames=("length",))
def naive_kernel(
    abar: Inexact[Array, "n ..."], bbar: Inexact[Array, " n"], c: Inexact[Array, " n"], length: int
) -> Float[Array, " length"]:
    """The kernel `K_l = Re(C Abar^l Bbar)`, `l = 0..length-1`, by the definition.

    `abar` is dense `(n, n)` or diagonal `(n,)`. Use it as a reference, not in a model: it costs
    `length` sequential products. For a real system written in a complex basis (a conjugate-
    extended DPLR or diagonal system) the imaginary part is rounding and is dropped.

    **Returns:** shape `(length,)`, real.
    """
    check_int(length, "length", "naive_kernel")
    abar, bbar, c = jnp.asarray(abar), jnp.asarray(bbar), jnp.asarray(c)
    n = bbar.shape[0]
    if bbar.ndim != 1 or c.shape != (n,) or abar.shape not in ((n,), (n, n)):
        raise ValueError(
            f"`abar` must be ({n}, {n}) or ({n},), `bbar` and `c` ({n},); got {abar.shape}, "
            f"{bbar.shape}, {c.shape}."
        )
    apply = (lambda x: abar * x) if abar.ndim == 1 else (lambda x: abar @ x)

    def step(x, _):
        return apply(x), jnp.sum(c * x)

    _, k = jax.lax.scan(step, bbar, None, length=length)
    return jnp.real(k)


@functools.partial(jax.jit, static_argnames=("length", "method"))
def s4d_kernel(
    eigenvalues: Complex[Array, " half"],
    b: Inexact[Array, " half"],
    c: Inexact[Array, " half"],
    dt,
    length: int,
    method: str = "zoh",
) -> Float[Array, " length"]:
    """The kernel of a diagonal SSM (S4D), `K_l = 2 Re sum_n C_n Bbar_n Abar_n^l`.

    A Vandermonde product: powers `Abar_n^l = exp(l log Abar_n)` are exponentials (for ZOH
    `exp(l dt lambda_n)`), not repeated products, so rounding does not accumulate along the
    sequence; splitting `l = i block + j` turns the product into one small matrix product.
    `2 Re` accounts for the conjugate modes not stored; store a real eigenvalue with half its
    `C_n B_n` weight.

    **Arguments:** `eigenvalues` `(half,)`, `b`, `c` `(half,)`, scalar `dt`, static `length`,
    `method` in `("zoh", "bilinear")`.

    **Returns:** shape `(length,)`, real, in the precision of `eigenvalues`.
    """
    check_choice(method, "method", METHODS, "s4d_kernel")
    check_int(length, "length", "s4d_kernel")
    lam, b, c = jnp.asarray(eigenvalues), jnp.asarray(b), jnp.asarray(c)
    if lam.ndim != 1 or b.shape != lam.shape or c.shape != lam.shape:
        raise ValueError(
            f"`eigenvalues`, `b`, `c` must all have shape (half,), got {lam.shape}, {b.shape}, "
            f"{c.shape}."
        )
    dt = _check_dt(dt).astype(jnp.finfo(lam.dtype).dtype)
    z = dt * lam
    if method == "zoh":
        log_abar = z
        gain = jnp.expm1(z) / lam
    else:
        log_abar = jnp.log((1 + z / 2) / (1 - z / 2))
        gain = dt / (1 - z / 2)
    # Two-level Vandermonde: with lag l = i * block + j, Abar^l = Abar^(i block) Abar^j, so
    # K[i, j] = 2 Re sum_n (w_n Abar_n^(i block)) Abar_n^j is one (blocks x modes) @ (modes x
    # block) complex matrix product. That is O(modes * L) multiply-adds on the matrix unit and
    # only O(modes * sqrt L) exponentials, instead of one exponential per (mode, lag).
    block = max(1, math.isqrt(length - 1) + 1)
    blocks = -(-length // block)
    inner = jnp.arange(block, dtype=dt.dtype)
    outer = jnp.arange(blocks, dtype=dt.dtype) * block
    low = jnp.exp(log_abar[:, None] * inner[None, :])
    high = jnp.exp(log_abar[:, None] * outer[None, :])
    k = 2 * jnp.real(((c * gain * b)[:, None] * high).T @ low)
    return k.reshape(-1)[:length]


@functools.partial(jax.jit, static_argnames=("length",))
def s4_kernel(
    eigenvalues: Complex[Array, " half"],
    low_rank: Complex[Array, "half rank"],
    b: Complex[Array, " half"],
    c_tilde: Complex[Array, " half"],
    dt,
    length: int,
) -> Float[Array, " length"]:
    """The kernel of a DPLR SSM `A = Lambda - P P^*` (S4), bilinear discretisation.

    The generating function `sum_l K_l z^l = C (I - Abar^L z^L)(I - Abar z)^{-1} Bbar` at the
    roots of unity `z^L = 1` is `C~ (I - Abar z)^{-1} Bbar` with `C~ = C (I - Abar^L)`
    (`c_tilde`, the parameter S4 trains; convert with `s4_c_tilde`). For the bilinear `Abar` this
    equals `2/(1+z) C~ (g(z) - A)^{-1} B`, `g(z) = 2/dt (1-z)/(1+z)`, and Woodbury reduces the
    resolvent of `Lambda - P P^*` to four Cauchy sums over the eigenvalues (S4, Alg. 1, eqs.
    (5)-(6)); an inverse real FFT of the `L/2 + 1` values gives the kernel.

    Numerics: we multiply numerator and denominator by `(1 + z)`, summing `v_n / d_n(z)` with
    `d_n = 2/dt (1 - z) - lambda_n (1 + z)`. This is the same function, but it stays finite at
    `z = -1` (the Nyquist frequency, present for even `L`), where `g(z)` is infinite;
    `d_n` never vanishes for `Re lambda_n < 0`. Each conjugate pair enters the sums as
    `v / d(lambda) + conj(v) / d(conj lambda)`.

    **Arguments:** `eigenvalues` `(half,)`, `low_rank` `(half, rank)`, `b` `(half,)`,
    `c_tilde` `(half,)`, scalar `dt`, static `length`.

    **Returns:** shape `(length,)`, real.
    """
    check_int(length, "length", "s4_kernel")
    lam, p = jnp.asarray(eigenvalues), jnp.asarray(low_rank)
    b, ct = jnp.asarray(b), jnp.asarray(c_tilde)
    m = lam.shape[0] if lam.ndim == 1 else -1
    if lam.ndim != 1 or p.ndim != 2 or p.shape[0] != m or b.shape != (m,) or ct.shape != (m,):
        raise ValueError(
            "`eigenvalues` (half,), `low_rank` (half, rank), `b` (half,), `c_tilde` (half,) must "
            f"agree, got {lam.shape}, {p.shape}, {b.shape}, {ct.shape}."
        )
    dt = _check_dt(dt).astype(jnp.finfo(lam.dtype).dtype)
    cdt = jnp.result_type(lam, p, b, ct)
    freqs = jnp.arange(length // 2 + 1, dtype=dt.dtype)
    z = jnp.exp((-2j * jnp.pi / length) * freqs).astype(cdt)
    one_minus, one_plus = (2 / dt) * (1 - z), 1 + z

    # 1/d = conj(d) / |d|^2 written out: XLA's complex division guards against overflow with
    # extra work we do not need (|d| lies between ~|lambda| and ~4/dt here)
    def reciprocal(d):
        scale = 1 / (jnp.real(d) ** 2 + jnp.imag(d) ** 2)
        return jax.lax.complex(jnp.real(d) * scale, -jnp.imag(d) * scale)

    inv_d = reciprocal(one_minus[:, None] - lam[None, :] * one_plus[:, None])
    inv_dc = reciprocal(one_minus[:, None] - jnp.conj(lam)[None, :] * one_plus[:, None])

    # All four Cauchy sums share the denominators: stack their numerators as columns so that
    # each of the two (frequencies x modes) reciprocal tables is read once, by one matrix product.
    pc = jnp.conj(p)
    rank = p.shape[1]
    cols = jnp.concatenate(
        [
            (ct * b)[:, None],
            ct[:, None] * p,
            pc * b[:, None],
            (pc[:, :, None] * p[:, None, :]).reshape(m, -1),
        ],
        axis=1,
    )
    sums = inv_d @ cols + inv_dc @ jnp.conj(cols)
    s_cb = sums[:, 0]
    s_cp = sums[:, 1 : 1 + rank]
    s_pb = sums[:, 1 + rank : 1 + 2 * rank]
    s_pp = sums[:, 1 + 2 * rank :].reshape(-1, rank, rank)
    if rank == 1:
        corr = s_cp[:, 0] * s_pb[:, 0] / (1 + one_plus * s_pp[:, 0, 0])
    else:
        eye = jnp.eye(rank, dtype=cdt)
        x = jnp.linalg.solve(eye + one_plus[:, None, None] * s_pp, s_pb[..., None])[..., 0]
        corr = jnp.sum(s_cp * x, axis=-1)
    khat = 2 * (s_cb - one_plus * corr)
    return jnp.fft.irfft(khat, n=length).astype(dt.dtype)


def _abar_power(eigenvalues, low_rank, c, dt, length):
    if jnp.ndim(c) != 1 or jnp.shape(c) != jnp.shape(eigenvalues)[:1]:
        raise ValueError(f"`c` must have shape {jnp.shape(eigenvalues)[:1]}, got {jnp.shape(c)}.")
    a = dplr_dense(eigenvalues, low_rank)
    abar, _ = discretise(a, jnp.zeros(a.shape[0], a.dtype), dt, "bilinear")
    return jnp.linalg.matrix_power(abar, length)


@functools.partial(jax.jit, static_argnames=("length",))
def s4_c_tilde(
    eigenvalues: Complex[Array, " half"],
    low_rank: Complex[Array, "half rank"],
    c: Complex[Array, " half"],
    dt,
    length: int,
) -> Complex[Array, " half"]:
    """`C~ = C (I - Abar^L)`: the output vector S4 trains, from the true `C` (conjugate-halved).

    `Abar^L` is formed densely by repeated squaring (`O(n^3 log L)`); use it for setting up or
    checking, not in a training step.
    """
    check_int(length, "length", "s4_c_tilde")
    power = _abar_power(eigenvalues, low_rank, c, dt, length)
    cf = conjugate_extend(jnp.asarray(c))
    out = cf - cf @ power
    return out[: c.shape[0]]


@functools.partial(jax.jit, static_argnames=("length",))
def s4_c_from_tilde(
    eigenvalues: Complex[Array, " half"],
    low_rank: Complex[Array, "half rank"],
    c_tilde: Complex[Array, " half"],
    dt,
    length: int,
) -> Complex[Array, " half"]:
    """The true `C = C~ (I - Abar^L)^{-1}` for S4's recurrent mode (inverse of `s4_c_tilde`)."""
    check_int(length, "length", "s4_c_from_tilde")
    power = _abar_power(eigenvalues, low_rank, c_tilde, dt, length)
    cf = conjugate_extend(jnp.asarray(c_tilde))
    eye = jnp.eye(power.shape[0], dtype=power.dtype)
    out = jnp.linalg.solve((eye - power).T, cf)
    return out[: c_tilde.shape[0]]


@jax.jit
def fft_conv(
    u: Float[Array, " length"], kernel: Float[Array, " klength"]
) -> Float[Array, " length"]:
    """Causal convolution `y_l = sum_{j <= l} K_j u_{l-j}` by FFT, `O(L log L)`.

    Both are zero-padded to `length + klength` so the circular convolution of the FFT equals the
    linear one on the first `length` outputs. One channel; `vmap` over channels.
    """
    u, kernel = jnp.asarray(u), jnp.asarray(kernel)
    if u.ndim != 1 or kernel.ndim != 1:
        raise ValueError(
            f"`u` and `kernel` must be 1-d (one channel; vmap outside), got {u.shape}, "
            f"{kernel.shape}."
        )
    n = u.shape[0] + kernel.shape[0]
    y = jnp.fft.irfft(jnp.fft.rfft(u, n=n) * jnp.fft.rfft(kernel, n=n), n=n)
    return y[: u.shape[0]].astype(jnp.result_type(u, kernel))
