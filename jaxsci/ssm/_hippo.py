"""HiPPO transition matrices and their normal-plus-low-rank (NPLR) and diagonal-plus-low-rank
(DPLR) forms.

Notation (paper symbol -> name in code):

| paper            | code                 | meaning                                              |
|------------------|----------------------|------------------------------------------------------|
| A, B             | `a`, `b`             | continuous-time state matrix and input vector        |
| Lambda           | `eigenvalues`        | eigenvalues of the normal part                       |
| V                | `eigenvectors`       | unitary eigenvectors of the normal part              |
| P (N x r)        | `low_rank`           | low-rank term, A = V Lambda V* - P P^T               |
| Delta            | `dt`                 | step size                                            |

All matrices use the *stable* (negative) convention `x'(t) = A x(t) + B u(t)`. Everything here is
built in NumPy float64 on the host, whatever `jax_enable_x64` says, and only then cast to the
requested dtype: the eigendecompositions below lose digits in float32, and the HiPPO matrices are
so non-normal (cond(eigenvectors of LegS) ~ 1e20 at N = 64) that a float32 construction of
anything spectral is meaningless.
"""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .._checks import check_choice, check_int

MEASURES = ("legs", "legt", "lagt", "fout")


def _check_measure(measure, where):
    """`measure` in lower case, one of `MEASURES` (any case)."""
    return check_choice(
        measure.lower() if isinstance(measure, str) else measure, "measure", MEASURES, where
    )


def _check_even_size(n, name, where):
    """A positive int that is even: a real system halved into conjugate pairs."""
    n = check_int(n, name, where)
    if n % 2:
        raise ValueError(f"{where}: `{name}` must be even (conjugate pairs are halved), got {n}")
    return n


def float_dtype(dtype=None):
    """`dtype` if given, else JAX's default float (float64 only when `jax_enable_x64` is on)."""
    dt = jnp.dtype(dtype) if dtype is not None else jnp.zeros(()).dtype
    if not jnp.issubdtype(dt, jnp.floating):
        raise TypeError(f"`dtype` must be a real floating dtype, got {dt}.")
    return dt


def complex_dtype(dtype):
    return jnp.complex128 if jnp.dtype(dtype) == jnp.float64 else jnp.complex64


def _hippo_numpy(measure, n):
    k = np.arange(n, dtype=np.float64)
    if measure == "legs":
        # Gu et al. 2020 (HiPPO), Thm 2: scaled Legendre measure on [0, t].
        r = np.sqrt(2 * k + 1)
        a = -np.tril(np.outer(r, r), -1) - np.diag(k + 1)
        b = r.copy()
    elif measure == "legt":
        # Translated Legendre on the window [t - 1, t] (HiPPO Thm 1 with theta = 1; the LMU).
        # S4's code uses theta = 2 (it halves A and B); we keep the unit window.
        r = np.sqrt(2 * k + 1)
        i, j = np.meshgrid(k, k, indexing="ij")
        a = -np.outer(r, r) * np.where(i >= j, 1.0, (-1.0) ** (i - j))
        b = r.copy()
    elif measure == "lagt":
        # Translated Laguerre, measure e^{-(t - s)} on (-inf, t] (HiPPO appendix D.2).
        a = -np.tril(np.ones((n, n)))
        b = np.ones(n)
    else:  # fout
        # Translated Fourier on [t - 1, t] (Gu et al. 2022, "How to train your HiPPO", Sec. 4):
        # state (1, 0, cos 2 pi x, sin 2 pi x, ..., cos 2 pi (N/2-1) x, sin ...); the zero slot
        # keeps every cosine paired with its sine. u(t - 1) leaves the window and is estimated
        # from the state (the Fourier series at the jump gives (u(t) + u(t-1)) / 2), which is
        # the rank-one term -B B^T / 2.
        e = np.zeros(n)
        e[0] = 1.0
        e[2::2] = np.sqrt(2.0)
        a = np.zeros((n, n))
        for f in range(1, (n + 1) // 2):
            c, s = 2 * f, 2 * f + 1
            if s < n:
                a[c, s] = 2 * np.pi * f
                a[s, c] = -2 * np.pi * f
        b = 2 * e
        a = a - np.outer(b, b) / 2
    return a, b


def _low_rank_numpy(measure, n):
    k = np.arange(n, dtype=np.float64)
    if measure == "legs":
        return np.sqrt(k + 0.5)[:, None]
    if measure == "legt":
        r = np.sqrt(2 * k + 1)
        even, odd = np.where(k % 2 == 0, r, 0.0), np.where(k % 2 == 1, r, 0.0)
        return np.stack([even, odd], axis=1)
    if measure == "lagt":
        return np.full((n, 1), np.sqrt(0.5))
    b = _hippo_numpy("fout", n)[1]
    return (b / np.sqrt(2.0))[:, None]


def hippo(measure: str, n: int, *, dtype=None) -> tuple[Float[Array, "n n"], Float[Array, " n"]]:
    """The HiPPO transition matrix and input vector of a measure, stable convention.

    HiPPO (Gu, Dao, Ermon, Rudra, Re 2020) keeps in the state `x(t)` the coefficients of the
    projection of the input history onto `n` orthogonal functions; `x' = A x + B u` updates them
    online. Measures:

    - `"legs"`: scaled Legendre on [0, t]: `A_nk = -sqrt(2n+1) sqrt(2k+1)` (n > k), `-(n+1)`
      (n = k), 0 above; `B_n = sqrt(2n+1)`. Used time-invariantly by S4, `exp(tA) B` has entries
      `sqrt(2n+1) P_n(2 e^-t - 1) e^-t`; eigenvalues exactly -1, ..., -n.
    - `"legt"`: translated Legendre on the unit window [t-1, t].
    - `"lagt"`: translated Laguerre with weight e^{-(t-s)}.
    - `"fout"`: translated Fourier on the unit window (Gu et al. 2022).

    Built in float64 NumPy and cast to `dtype` (see the module docstring). `hippo_basis`
    evaluates the functions each state coordinate multiplies.

    **Arguments:**

    - `measure`: one of `MEASURES`.
    - `n`: state size.
    - `dtype`: output dtype; default JAX's default float.

    **Returns:** `(A, B)` of shapes `(n, n)` and `(n,)`.
    """
    measure = _check_measure(measure, "hippo")
    n = check_int(n, "n", "hippo")
    a, b = _hippo_numpy(measure, n)
    dt = float_dtype(dtype)
    return jnp.asarray(a, dt), jnp.asarray(b, dt)


def hippo_low_rank(measure: str, n: int, *, dtype=None) -> Float[Array, "n rank"]:
    """The low-rank term `P` making `A + P P^T` normal for a HiPPO matrix.

    Rank 1 for LegS (`P_n = sqrt(n + 1/2)`), LagT (`1/sqrt 2`) and FouT (`B / sqrt 2`); rank 2
    for LegT (the even and odd entries of `sqrt(2n+1)`). `A + P P^T` is `-I/2` plus a skew matrix
    for LegS and LagT and skew for LegT and FouT (Gu, Goel, Re 2022, S4, Thm 1).

    **Returns:** `P` of shape `(n, rank)`.
    """
    measure = _check_measure(measure, "hippo_low_rank")
    n = check_int(n, "n", "hippo_low_rank")
    return jnp.asarray(_low_rank_numpy(measure, n), float_dtype(dtype))


class NPLR(NamedTuple):
    """`A = eigenvectors @ diag(eigenvalues) @ eigenvectors^* - low_rank @ low_rank^T`."""

    eigenvalues: Complex[Array, " n"]
    eigenvectors: Complex[Array, "n n"]
    low_rank: Float[Array, "n rank"]
    b: Float[Array, " n"]


class DPLR(NamedTuple):
    """Conjugate-halved DPLR parameters in the eigenbasis of the normal part.

    The full system (size `n`) is `diag(Lambda) - P P^*` with `Lambda = [eigenvalues,
    conj(eigenvalues)]`, `P = [low_rank; conj(low_rank)]`, `B = [b; conj(b)]`; only the first
    half is stored. `eigenvectors` (shape `(n, n/2)`) maps back: `V_full = [eigenvectors,
    conj(eigenvectors)]`, `A = V_full (diag(Lambda) - P P^*) V_full^*`.
    """

    eigenvalues: Complex[Array, " half"]
    low_rank: Complex[Array, "half rank"]
    b: Complex[Array, " half"]
    eigenvectors: Complex[Array, "n half"]


def _normal_eig(s):
    """Eigendecomposition of a real normal matrix `s = c I + K` with K skew (float64).

    `-i K` is Hermitian, so `eigh` gives a unitary eigenbasis to rounding (a general `eig` of a
    normal matrix with repeated eigenvalues need not). Returns the eigenvalues with non-negative
    imaginary part first, then their conjugates in the same order, so that the second half of the
    eigenvectors is exactly the conjugate of the first. Zero-frequency modes (FouT's constant and
    empty slots) come in real pairs and are combined into conjugate pairs (u1 +- i u2)/sqrt 2.
    """
    n = s.shape[0]
    c = float(np.mean(np.diag(s)))
    k = s - c * np.eye(n)
    if np.max(np.abs(k + k.T)) > 1e-10 * max(1.0, np.max(np.abs(k))):
        raise ValueError("the normal part is not `c I + skew`; cannot diagonalise it stably.")
    freq, v = np.linalg.eigh(-1j * k)
    tol = 1e-9 * max(1.0, np.max(np.abs(freq)))
    pos = freq > tol
    zero = np.abs(freq) <= tol
    vz = v[:, zero]
    if vz.shape[1] % 2:
        raise ValueError("odd-dimensional null space: cannot pair the zero modes.")
    if vz.shape[1]:
        # a real orthonormal basis of the (real) null space of k, then pair its vectors
        u, sv, _ = np.linalg.svd(np.concatenate([vz.real, vz.imag], axis=1), full_matrices=False)
        real_basis = u[:, : vz.shape[1]]
        pairs = (real_basis[:, 0::2] + 1j * real_basis[:, 1::2]) / np.sqrt(2.0)
    else:
        pairs = np.zeros((n, 0), complex)
    order = np.argsort(freq[pos])
    half_v = np.concatenate([pairs, v[:, pos][:, order]], axis=1)
    half_w = c + 1j * np.concatenate([np.zeros(pairs.shape[1]), freq[pos][order]])
    if half_v.shape[1] * 2 != n:
        raise ValueError("eigenvalues of the normal part do not come in conjugate pairs.")
    return half_w, half_v


def nplr(measure: str, n: int, *, dtype=None) -> NPLR:
    """The normal-plus-low-rank form `A = V Lambda V^* - P P^T` of a HiPPO matrix.

    S4 (Gu, Goel, Re 2022), Thm 1: every HiPPO matrix is a normal matrix minus a low-rank one,
    and the normal part has a *unitary* eigenbasis, so diagonalising it is well conditioned
    (unlike `A` itself). `n` must be even (eigenvalues of the real normal part come in
    conjugate pairs; see `dplr`).

    **Returns:** an `NPLR` with `eigenvalues` `(n,)` complex, `eigenvectors` `(n, n)` unitary,
    `low_rank` `(n, rank)` real and `b` `(n,)` real.
    """
    measure = _check_measure(measure, "nplr")
    n = _check_even_size(n, "n", "nplr")
    a, b = _hippo_numpy(measure, n)
    p = _low_rank_numpy(measure, n)
    w, v = _normal_eig(a + p @ p.T)
    w, v = np.concatenate([w, w.conj()]), np.concatenate([v, v.conj()], axis=1)
    dt = float_dtype(dtype)
    cdt = complex_dtype(dt)
    return NPLR(jnp.asarray(w, cdt), jnp.asarray(v, cdt), jnp.asarray(p, dt), jnp.asarray(b, dt))


def dplr(measure: str, n: int, *, dtype=None) -> DPLR:
    """The S4 parameters of a HiPPO matrix: eigenvalues, low-rank term and `B` in the unitary
    eigenbasis of the normal part, keeping one eigenvalue of each conjugate pair.

    With `V` unitary, `V^* A V = Lambda - (V^* P)(V^* P)^*` is diagonal plus low rank. Because
    `A`, `P`, `B` are real, the eigenvalues come in pairs `(lambda, conj lambda)` whose
    eigenvectors, and hence whose entries of `V^* P` and `V^* B`, are conjugate. Keeping one of
    each pair halves the work: a kernel is `2 Re` of the sum over the stored half, and a Cauchy
    sum adds the conjugate term `conj(v) / (z - conj(lambda))` explicitly (S4, Sec. 3.3 and its
    code's `_conj` trick). `C` must then be conjugate-symmetric too, which is why S4 stores only
    `n/2` complex entries of it.

    **Returns:** a `DPLR` whose arrays have `n/2` rows (see its docstring).
    """
    measure = _check_measure(measure, "dplr")
    n = _check_even_size(n, "n", "dplr")
    a, b = _hippo_numpy(measure, n)
    p = _low_rank_numpy(measure, n)
    w, v = _normal_eig(a + p @ p.T)
    vh = v.conj().T
    dt = float_dtype(dtype)
    cdt = complex_dtype(dt)
    return DPLR(
        jnp.asarray(w, cdt), jnp.asarray(vh @ p, cdt), jnp.asarray(vh @ b, cdt), jnp.asarray(v, cdt)
    )


def conjugate_extend(x: Array, axis: int = 0) -> Array:
    """`[x, conj(x)]` along `axis`: the full (size-`n`) system from a conjugate-halved one."""
    return jnp.concatenate([x, jnp.conj(x)], axis=axis)
