"""ResDMD residuals, pseudospectra and spectra with error control.

Colbrook and Townsend (2024), "Rigorous data-driven computation of spectral properties of Koopman
operators for dynamical systems", CPAM; Colbrook, Ayton, Szoke (2023) JFM. With G, A, L the
weighted Gram matrices of held-out data,
    res(lambda, v)^2 = v^*(L - lambda A^* - conj(lambda) A + |lambda|^2 G) v / (v^* G v)
(CPAM eq. 4.2) = ||W^{1/2}(Psi_Y - lambda Psi_X) v||^2 / ||W^{1/2} Psi_X v||^2.
Forming L - lambda A^* - ... cancels catastrophically for small residuals, so we use the stacked QR
W^{1/2}[Psi_X, Psi_Y] = Q [[R11, R12], [0, R22]], in which the residual is
||[(R12 - lambda R11) v; R22 v]|| / ||R11 v|| with no cancellation.
"""

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float, Inexact

from .._precision import full_precision
from ._dictionaries import AbstractDictionary, features
from ._estimators import validate_pairs
from ._model import AbstractKoopmanModel


class ResidualData(eqx.Module):
    """Triangular factors of the stacked QR of held-out data (all that ResDMD needs, N x N)."""

    r11: Inexact[Array, "n n"]
    r12: Inexact[Array, "n n"]
    r22: Inexact[Array, "n n"]

    @property
    def gram(self):
        """G, A, L (for reference / cross-checks)."""
        g = jnp.conj(self.r11.T) @ self.r11
        a = jnp.conj(self.r11.T) @ self.r12
        ell = jnp.conj(self.r12.T) @ self.r12 + jnp.conj(self.r22.T) @ self.r22
        return g, a, ell


@full_precision
def residual_data(
    dictionary: AbstractDictionary,
    x: Float[Array, "m dim"],
    y: Float[Array, "m dim"],
    *,
    weights: Float[Array, " m"] | None = None,
) -> ResidualData:
    """Stacked-QR factors of held-out snapshot pairs for `residuals` and `pseudospectrum`.

    **Arguments:** `dictionary`; held-out `x`, `y` `(m, dim)` (not the fitting data: on training
    data with m <= N the residuals are zero); `weights` `(m,)`, Monte Carlo by default.

    **Returns:** a `ResidualData`. The O(m N^2) QR runs on the default device.
    """
    x, y, weights = validate_pairs(x, y, weights)
    psi_x, psi_y = features(dictionary, x), features(dictionary, y)
    m, n = psi_x.shape
    if m <= n:
        raise ValueError(
            f"`x` has {m} snapshots for {n} features: with m <= N every z has a function with "
            "zero residual on these data (the residuals collapse to zero); pass more held-out "
            "snapshots than features."
        )
    sw = jnp.sqrt(weights).astype(psi_x.dtype)[:, None]
    r = jnp.linalg.qr(jnp.concatenate([sw * psi_x, sw * psi_y], axis=1))[
        1
    ]  # mode="r" is slower on XLA:CPU
    # with N < m < 2N the reduced R is (m, 2N): the missing rows of R22 are zero
    r = jnp.pad(r, ((0, 2 * n - r.shape[0]), (0, 0)))
    return ResidualData(r[:n, :n], r[:n, n:], r[n:, n:])


@full_precision
def residuals(model: AbstractKoopmanModel, data: ResidualData) -> Float[Array, " r"]:
    """ResDMD residual of every eigenpair of `model`, measured on held-out `data`.

    **Returns:** `(r,)` residuals; res_j ~ 0 for a true eigenpair, ~1 for a spurious one of an
    isometry.
    """
    v = model.eigenvectors
    if v.shape[0] != data.r11.shape[0]:
        raise ValueError(
            f"`model` has {v.shape[0]} features but `data` was built with {data.r11.shape[0]}: "
            "use the same dictionary for both."
        )
    dt = v.dtype
    r11, r12, r22 = (m.astype(dt) for m in (data.r11, data.r12, data.r22))
    num = jnp.sum(jnp.abs((r12 @ v) - (r11 @ v) * model.eigenvalues[None]) ** 2, 0)
    num = num + jnp.sum(jnp.abs(r22 @ v) ** 2, 0)
    den = jnp.sum(jnp.abs(r11 @ v) ** 2, 0)
    return jnp.sqrt(num / den)


def spectrum_estimates(
    z: Complex[Array, "rows cols"], tau: Float[Array, "rows cols"], *, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Spectra with error control: local minimisers of tau on the grid with tau < epsilon.

    Each returned z_k lies in the tau_k-pseudospectrum (as M -> infinity and the dictionary
    grows), i.e. it is within tau_k of the spectrum for normal operators; `tau_k` is the
    reported bound. Runs on the host (a small post-processing step).

    **Returns:** `(points, bounds)`, NumPy arrays sorted by bound.
    """
    z, t = np.asarray(z), np.asarray(tau)
    if z.shape != t.shape or z.ndim != 2:
        raise ValueError(
            f"`z` and `tau` must be 2-d grids of the same shape, got {z.shape}, {t.shape}."
        )
    pad = np.pad(t, 1, constant_values=np.inf)
    neigh = np.stack(
        [
            pad[1 + i : 1 + i + t.shape[0], 1 + j : 1 + j + t.shape[1]]
            for i in (-1, 0, 1)
            for j in (-1, 0, 1)
            if (i, j) != (0, 0)
        ]
    )
    mask = (t <= neigh.min(0)) & (t < epsilon)
    order = np.argsort(t[mask])
    return z[mask][order], t[mask][order]


@full_precision
def verified_eigenpairs(
    model: AbstractKoopmanModel, data: ResidualData, *, epsilon: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The eigenpairs of `model` whose ResDMD residual on held-out `data` is below `epsilon`.

    Each kept lambda_j lies in the res_j-pseudospectrum of the Koopman operator (up to the
    quadrature error of `data`), so the filter removes spectral pollution (Colbrook and Townsend
    2024, CPAM, Alg. 1). The output size depends on the data, so this runs on the host: use
    `residuals` inside `jit`.

    **Returns:** `(eigenvalues, eigenvectors, residuals)` as NumPy arrays, sorted by residual.
    """
    if not epsilon > 0:
        raise ValueError(f"`epsilon` must be positive, got {epsilon!r}.")
    res = np.asarray(residuals(model, data))
    keep = np.flatnonzero(res < epsilon)
    keep = keep[np.argsort(res[keep])]
    return np.asarray(model.eigenvalues)[keep], np.asarray(model.eigenvectors)[:, keep], res[keep]
