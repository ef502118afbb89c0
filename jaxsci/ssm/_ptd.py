"""Perturb-then-diagonalise (PTD): an approximate, well-conditioned diagonalisation of a
non-normal HiPPO matrix (Yu, Nigmetov, Morozov, Mahoney, Erichson 2024, "Robustifying
state-space models for long sequences via approximate diagonalization", Sec. 4).

LegS is diagonalisable in exact arithmetic (eigenvalues -1..-N), but its eigenvector matrix has
cond(V) ~ 1e20 at N = 64: no finite precision can use it. S4D and S5 drop the low-rank term
instead, which changes the system: its transfer function converges to LegS's only pointwise, with
a spike at high frequency that does not shrink as N grows. PTD keeps the system and perturbs it
slightly: find a small `E` such that `A + E = V Lambda V^{-1}` has a well-conditioned `V`, i.e.
minimise (paper, eq. (8))

    Phi(E) = ||E|| / ||A|| + precision * cond(V(A + E)).

The first term is the backward error of the diagonal model; the second is how much a model that
stores `Lambda, V^{-1} B, C V` in `precision` (float32 by default) amplifies its rounding. We
start from the best of a few Gaussian perturbations (a random `E` of size `eps` already gives
cond(V) = O(poly(N) / eps): pseudospectral shattering, Banks et al. 2021) and run Adam on `Phi`
with the exact gradient of `cond_F(V) = sqrt(N sum_i kappa_i^2)`, `kappa_i = |v_i| |w_i|` the
eigenvalue condition numbers (derived in `_condition_and_gradient`). Finally eigenvalues are
moved to `Re <= -margin` (the left half-plane) and `E` is recomputed as
`V Lambda V^{-1} - A`: the reported `E` is the true backward error of what is returned.

Everything runs on the host in NumPy float64 (not under `jit`, not differentiable): call it once,
at initialisation.
"""

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float, PRNGKeyArray

from .._checks import check_int
from ._hippo import _check_even_size, _hippo_numpy, complex_dtype, float_dtype


class PTD(NamedTuple):
    """Result of `perturb_then_diagonalise`: `a + perturbation = V diag(eigenvalues) V^{-1}`.

    `condition_number` is cond_2(V) with unit-norm columns; `relative_perturbation` is
    `||perturbation||_2 / ||a||_2`.
    """

    eigenvalues: Complex[Array, " n"]
    eigenvectors: Complex[Array, "n n"]
    inverse_eigenvectors: Complex[Array, "n n"]
    perturbation: Float[Array, "n n"]
    condition_number: float
    relative_perturbation: float

    def halved(self) -> tuple[Complex[Array, " m"], Complex[Array, "n m"], Complex[Array, "m n"]]:
        """One eigenvalue of each conjugate pair, for the `2 Re` convention of the layers.

        Real eigenvalues (a real perturbation leaves a few) are their own conjugates: they keep
        a slot each with both eigenvector factors scaled by `1/sqrt 2`, so that `2 Re` counts
        them once. So `m = n/2 + (number of real eigenvalues)/2`.

        **Returns:** `(eigenvalues, W, W_inv)`: with real `B`, `C`, use `W_inv @ B` and `C @ W`.
        """
        lam = np.asarray(self.eigenvalues)
        keep = np.flatnonzero(lam.imag >= 0)
        # slow modes first: by frequency, then by decay rate
        keep = keep[np.lexsort((-lam[keep].real, lam[keep].imag))]
        scale = np.where(lam[keep].imag == 0, np.sqrt(0.5), 1.0)
        v = np.asarray(self.eigenvectors)[:, keep] * scale
        w = np.asarray(self.inverse_eigenvectors)[keep, :] * scale[:, None]
        cdt = self.eigenvalues.dtype
        return jnp.asarray(lam[keep], cdt), jnp.asarray(v, cdt), jnp.asarray(w, cdt)


def _eig(a):
    lam, v = np.linalg.eig(a)
    v = v / np.linalg.norm(v, axis=0)
    return lam, v, np.linalg.inv(v)


def _condition_and_gradient(a):
    """`cond_F(V)` with unit columns, and its gradient with respect to real `a`.

    With unit right eigenvectors `v_i` and left rows `w_i` of `W = V^{-1}`,
    `cond_F(V)^2 = ||V||_F^2 ||W||_F^2 = n f`, `f = sum_i |v_i|^2 |w_i|^2` (invariant to how the
    columns are scaled, so the eigenvector normalisation does not enter the derivative). First-
    order perturbation theory with `M_ij = 1/(lambda_i - lambda_j)` (0 on the diagonal):
    `dv_i = sum_j v_j (w_j dA v_i) M_ij`, `dw_i = sum_j M_ij (w_i dA v_j) w_j`, so
    `df = 2 Re <dA, W^T (K1 + K2) V^T>` with `K1 = (|w|^2 * (V^*V) * M)^T` and
    `K2 = |v|^2 * M * (W W^*)^T` (rows scaled by the vectors).
    """
    n = a.shape[0]
    lam, v, w = _eig(a)
    nv, nw = np.sum(np.abs(v) ** 2, 0), np.sum(np.abs(w) ** 2, 1)
    f = float(np.sum(nv * nw))
    diff = lam[:, None] - lam[None, :]
    np.fill_diagonal(diff, 1.0)
    m = 1.0 / diff
    np.fill_diagonal(m, 0.0)
    k1 = (nw[:, None] * (v.conj().T @ v) * m).T
    k2 = nv[:, None] * m * (w @ w.conj().T).T
    grad_f = 2 * np.real(w.T @ (k1 + k2) @ v.T)
    kappa = np.sqrt(n * f)
    return kappa, np.sqrt(n) * grad_f / (2 * np.sqrt(f))


def perturb_then_diagonalise(
    a: Float[ArrayLike, "n n"],
    *,
    key: PRNGKeyArray,
    precision: float = 2.0**-24,
    start_scales: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2),
    steps: int = 300,
    learning_rate: float = 1e-6,
    margin: float = 1e-2,
    dtype=None,
) -> PTD:
    """Approximately diagonalise a real non-normal matrix by a small perturbation (PTD).

    See the module docstring for the objective and the algorithm (S4-PTD / S5-PTD, Yu et al.
    2024). Runs on the host in float64; `a` may be a NumPy array (so no `jax_enable_x64` is
    needed). A float32 `a` warns: its rounding is already a perturbation of size ~1e-7 ||A||
    whose effect on the eigenvectors is amplified by the original cond(V).

    **Arguments:**

    - `a`: the real `(n, n)` matrix (e.g. `hippo("legs", n)[0]`).
    - `key`: PRNG key for the random starting perturbations.
    - `precision`: the unit roundoff the diagonal model will run in (weight of cond(V)).
    - `start_scales`: sizes `||E|| / ||A||` of the random starting perturbations tried.
    - `steps`, `learning_rate`: Adam on `E / ||A||`; the best iterate is kept.
    - `margin`: eigenvalues end with `Re <= -margin`.
    - `dtype`: real dtype of the returned arrays (default JAX's default float).

    **Returns:** a `PTD` (eigenvalues, eigenvectors, their inverse, the perturbation `E`,
    cond(V) and `||E|| / ||A||`).
    """
    if isinstance(a, jax.core.Tracer):
        raise TypeError(
            "`perturb_then_diagonalise` runs on the host at initialisation; call it outside jit."
        )
    a_in = np.asarray(a)
    if a_in.ndim != 2 or a_in.shape[0] != a_in.shape[1] or not np.isrealobj(a_in):
        raise ValueError(f"`a` must be a real square matrix, got {a_in.dtype} {a_in.shape}.")
    if a_in.dtype != np.float64:
        warnings.warn(
            f"`a` is {a_in.dtype}: PTD needs the matrix in float64 (build it with NumPy, or "
            "`hippo(..., dtype=jnp.float64)` with jax_enable_x64); continuing in float64 from "
            "the rounded matrix.",
            UserWarning,
            stacklevel=2,
        )
    if steps < 0 or not start_scales or margin < 0:
        raise ValueError("need `steps` >= 0, non-empty `start_scales` and `margin` >= 0.")
    a64 = a_in.astype(np.float64)
    n = a64.shape[0]
    norm_a = np.linalg.norm(a64, 2)
    raw = jr.key_data(key) if jnp.issubdtype(jnp.asarray(key).dtype, jax.dtypes.prng_key) else key
    rng = np.random.default_rng(np.asarray(raw, np.uint32).ravel().tolist())

    def phi(e):
        kappa, g = _condition_and_gradient(a64 + norm_a * e)
        fro = np.linalg.norm(e)
        return fro + precision * kappa, e / max(fro, 1e-300) + precision * norm_a * g

    best_e, best_phi = None, np.inf
    for eps in start_scales:
        for _ in range(2):
            g = rng.standard_normal((n, n))
            e = eps * g / np.linalg.norm(g)
            val = phi(e)[0]
            if val < best_phi:
                best_e, best_phi = e, val
    # Adam (Kingma & Ba 2015) on the scaled perturbation E / ||A||
    e, mom, vel = best_e.copy(), np.zeros((n, n)), np.zeros((n, n))
    for t in range(1, steps + 1):
        val, grad = phi(e)
        if val < best_phi:
            best_e, best_phi = e.copy(), val
        mom = 0.9 * mom + 0.1 * grad
        vel = 0.999 * vel + 0.001 * grad**2
        e = e - learning_rate * (mom / (1 - 0.9**t)) / (np.sqrt(vel / (1 - 0.999**t)) + 1e-30)
    lam, v, w = _eig(a64 + norm_a * best_e)
    lam = np.where(lam.real > -margin, -margin + 1j * lam.imag, lam)
    e_total = np.real(v @ np.diag(lam) @ w) - a64
    fdt = float_dtype(dtype)
    cdt = complex_dtype(fdt)
    return PTD(
        jnp.asarray(lam, cdt),
        jnp.asarray(v, cdt),
        jnp.asarray(w, cdt),
        jnp.asarray(e_total, fdt),
        float(np.linalg.cond(v)),
        float(np.linalg.norm(e_total, 2) / norm_a),
    )


def s4_ptd_init(
    n: int, *, key: PRNGKeyArray, dtype=None, **kwargs
) -> tuple[Complex[Array, " m"], Complex[Array, " m"]]:
    """S4-PTD: eigenvalues and `V^{-1} B` of the perturbed, diagonalised HiPPO-LegS, halved.

    Drop-in for `s4d_init` (its `B` needs no factor 1/2: PTD keeps the low-rank term). `kwargs`
    go to `perturb_then_diagonalise`. The number of modes `m` is `n/2` plus half the number of
    real eigenvalues left by the perturbation.
    """
    n = _check_even_size(n, "n", "s4_ptd_init")
    a, b = _hippo_numpy("legs", n)
    lam, _, w = perturb_then_diagonalise(a, key=key, dtype=dtype, **kwargs).halved()
    return lam, w @ jnp.asarray(b, w.dtype)


def s5_ptd_init(
    state_size: int, blocks: int = 1, *, key: PRNGKeyArray, dtype=None, **kwargs
) -> tuple[Complex[Array, " m"], Complex[Array, "state m"], Complex[Array, "m state"]]:
    """S5-PTD: block-diagonal PTD of HiPPO-LegS blocks (S5's HiPPO-N replaced by PTD).

    **Returns:** `(eigenvalues, W, W_inv)` as `PTD.halved`, block-diagonal; S5's parameters are
    `W_inv @ B` and `C @ W`.
    """
    state_size = check_int(state_size, "state_size", "s5_ptd_init")
    blocks = check_int(blocks, "blocks", "s5_ptd_init")
    if state_size % (2 * blocks):
        raise ValueError(
            f"s5_ptd_init: `state_size` ({state_size}) must be a multiple of 2 * `blocks` "
            f"({2 * blocks})"
        )
    size = state_size // blocks
    a, _ = _hippo_numpy("legs", size)
    parts = [
        perturb_then_diagonalise(a, key=k, dtype=dtype, **kwargs).halved()
        for k in jr.split(key, blocks)
    ]
    m = sum(p[0].shape[0] for p in parts)
    cdt = parts[0][0].dtype
    v = np.zeros((state_size, m), complex)
    w = np.zeros((m, state_size), complex)
    col = 0
    for j, (_, vj, wj) in enumerate(parts):
        mj = vj.shape[1]
        v[j * size : (j + 1) * size, col : col + mj] = np.asarray(vj)
        w[col : col + mj, j * size : (j + 1) * size] = np.asarray(wj)
        col += mj
    lam = jnp.concatenate([p[0] for p in parts])
    return lam, jnp.asarray(v, cdt), jnp.asarray(w, cdt)
