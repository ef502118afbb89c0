"""Initialisations of diagonal SSMs: S4D-LegS, S4D-Inv, S4D-Lin, S4D-Real (Gu, Gupta, Goel, Re
2022, "On the parameterization and initialization of diagonal state space models", Sec. 4),
log-uniform timescales, and S5's block-diagonal HiPPO-N (Smith et al. 2023, Sec. 4.3).

All return one eigenvalue of each conjugate pair (`n/2` of them for state size `n`), matching
the `2 Re` convention of `s4d_kernel`, `s5_ssm` and the layers.
"""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Complex, Float, PRNGKeyArray

from .._checks import check_choice, check_int
from ._hippo import (
    _check_even_size,
    _hippo_numpy,
    _low_rank_numpy,
    _normal_eig,
    complex_dtype,
    float_dtype,
)

S4D_INITS = ("legs", "inv", "lin", "real")


def s4d_init(
    name: str, n: int, *, dtype=None
) -> tuple[Complex[Array, " half"], Complex[Array, " half"]]:
    """Eigenvalues and input vector of an S4D initialisation, state size `n` (`n/2` stored modes).

    - `"legs"`: the eigenvalues of the normal part of HiPPO-LegS (`-1/2 + i omega_n`) and
      `B = V^* B_LegS / 2`. With the factor 1/2 the diagonal system's transfer function converges
      to LegS's as `n` grows (S4D paper, Thm 3: `A + P P^T` with `P = B / sqrt 2`, so by
      Sherman-Morrison the two resolvents differ by the scalar `1 + B^T (s - A_N)^{-1} B / 2`,
      which tends to 2). The convergence is pointwise in `s`, not uniform: see `ptd`.
    - `"inv"`: `-1/2 + i n/pi (n/(2k+1) - 1)`, the asymptotics of LegS's imaginary parts; `B = 1`.
    - `"lin"`: `-1/2 + i pi k`, FouT's frequencies; `B = 1`.
    - `"real"`: `-(k+1)`, real, `B = 1` (each stored mode counts twice under `2 Re`).

    `dtype`: the real precision (`float32`/`float64`) or the complex one of the result
    (`complex64`/`complex128`); default JAX's default float.

    **Returns:** `(eigenvalues, b)`, both `(n/2,)` complex.
    """
    if dtype is not None and jnp.issubdtype(jnp.dtype(dtype), jnp.complexfloating):
        dtype = jnp.finfo(jnp.dtype(dtype)).dtype  # complex128 -> float64: the result's precision
    check_choice(name, "name", S4D_INITS, "s4d_init")
    n = _check_even_size(n, "n", "s4d_init")
    half = n // 2
    k = np.arange(half, dtype=np.float64)
    if name == "legs":
        a, b = _hippo_numpy("legs", n)
        p = _low_rank_numpy("legs", n)
        lam, v = _normal_eig(a + p @ p.T)
        bb = v.conj().T @ b / 2
    elif name == "inv":
        lam = -0.5 + 1j * n / np.pi * (n / (2 * k + 1) - 1)
        bb = np.ones(half)
    elif name == "lin":
        lam = -0.5 + 1j * np.pi * k
        bb = np.ones(half)
    else:
        lam = -(k + 1) + 0j
        bb = np.ones(half)
    cdt = complex_dtype(float_dtype(dtype))
    return jnp.asarray(lam, cdt), jnp.asarray(bb, cdt)


def log_uniform_timescales(
    shape: tuple[int, ...],
    *,
    key: PRNGKeyArray,
    dt_min: float = 1e-3,
    dt_max: float = 1e-1,
    dtype=None,
) -> Float[Array, "..."]:
    """Steps `dt` with `log dt` uniform on `[log dt_min, log dt_max]` (S4, S4D, S5).

    Each channel then sees a different timescale, from `1/dt_max` to `1/dt_min` samples, so a
    layer covers short and long dependencies from the start.
    """
    if not 0 < dt_min <= dt_max:
        raise ValueError(f"need 0 < dt_min <= dt_max, got dt_min={dt_min}, dt_max={dt_max}.")
    dt = float_dtype(dtype)
    logs = jr.uniform(key, tuple(shape), dt, np.log(dt_min), np.log(dt_max))
    return jnp.exp(logs)


def s5_hippo_n(
    state_size: int, blocks: int = 1, *, dtype=None
) -> tuple[Complex[Array, " half"], Complex[Array, "state half"]]:
    """S5's block-diagonal HiPPO-N initialisation.

    HiPPO-N is the normal part `A + P P^T` of LegS (S5, Sec. 4.3): it has a unitary eigenbasis,
    so `B~ = V^* B` and `C~ = C V` are well conditioned. S5 uses `blocks` copies of the
    `state_size / blocks` HiPPO-N on the diagonal, which spreads the frequencies over blocks.
    Conjugate-halved per block.

    **Arguments:** `state_size` (even multiple of `2 blocks`), `blocks`.

    **Returns:** `(eigenvalues, eigenvectors)`, shapes `(state_size/2,)` and
    `(state_size, state_size/2)`; with real `B` `(state, hidden)` and `C` `(hidden, state)`,
    S5's parameters are `eigenvectors^* B` and `C eigenvectors`.
    """
    state_size = check_int(state_size, "state_size", "s5_hippo_n")
    blocks = check_int(blocks, "blocks", "s5_hippo_n")
    if state_size % (2 * blocks):
        raise ValueError(
            f"s5_hippo_n: `state_size` ({state_size}) must be a multiple of 2 * `blocks` "
            f"({2 * blocks})"
        )
    size = state_size // blocks
    a, _ = _hippo_numpy("legs", size)
    p = _low_rank_numpy("legs", size)
    lam, v = _normal_eig(a + p @ p.T)
    lams = np.tile(lam, blocks)
    vs = np.zeros((state_size, state_size // 2), complex)
    for j in range(blocks):
        vs[j * size : (j + 1) * size, j * (size // 2) : (j + 1) * (size // 2)] = v
    cdt = complex_dtype(float_dtype(dtype))
    return jnp.asarray(lams, cdt), jnp.asarray(vs, cdt)
