"""Measure-preserving EDMD (Colbrook 2023, SIAM J. Numer. Anal., "The mpEDMD algorithm").

For measure-preserving dynamics the Koopman operator is an isometry; mpEDMD replaces the EDMD
matrix by K = G^{-1/2} U G^{1/2} with U the unitary polar factor of G^{-1/2} A G^{-1/2} (Alg. 1),
so eigenvalues lie exactly on the unit circle and spectral measures are positive.
"""

import jax.numpy as jnp
from jax.typing import ArrayLike
from jaxtyping import Array, Complex, Float, Shaped

from ._dictionaries import AbstractDictionary, features
from ._eig import unitary_eig
from ._estimators import AbstractEstimator, warn_if_underdetermined
from ._model import AbstractKoopmanModel, _power_forecast


class MPEDMDModel(AbstractKoopmanModel):
    """A fitted mpEDMD model: the `KoopmanModel` fields plus the orthonormal eigenvectors of the
    unitary factor and G^{1/2}, for spectral measures."""

    dictionary: AbstractDictionary
    matrix: Complex[Array, "n n"]
    eigenvalues: Complex[Array, " n"]
    eigenvectors: Complex[Array, "n n"]
    modes: Complex[Array, "n dim"]
    unitary_eigenvectors: Complex[Array, "n n"]
    gram_sqrt: Complex[Array, "n n"]

    def predict(self, x0: Float[Array, " dim"], n_steps: int) -> Float[Array, "steps dim"]:
        """Forecast `n_steps` steps from one new initial state (vmap outside for many)."""
        return _power_forecast(self, x0, n_steps)

    def spectral_measure(self, coefficients: Shaped[ArrayLike, " n"]) -> Float[Array, " n"]:
        """Weights of the spectral measure of g = psi . coefficients at `eigenvalues`
        (Colbrook 2023, eq. 3.5): |w_j^* G^{1/2} c|^2, summing to ||g||^2 = c^* G c."""
        c = jnp.asarray(coefficients, self.gram_sqrt.dtype)
        return jnp.abs(jnp.conj(self.unitary_eigenvectors.T) @ (self.gram_sqrt @ c)) ** 2


class MPEDMD(AbstractEstimator):
    """mpEDMD on a dictionary. **Returns** (via `fit`) an `MPEDMDModel`."""

    dictionary: AbstractDictionary

    def fit_pairs(self, x, y, weights):
        psi_x, psi_y = features(self.dictionary, x), features(self.dictionary, y)
        warn_if_underdetermined(*psi_x.shape)
        sw = jnp.sqrt(weights).astype(psi_x.dtype)[:, None]
        q, r = jnp.linalg.qr(sw * psi_x)
        c = jnp.conj(q.T) @ (sw * psi_y)  # A = R^* C, G = R^* R
        # R = P S V^*  =>  G^{+-1/2} = V S^{+-1} V^*  and
        # G^{-1/2} A G^{-1/2} = V P^* C V S^{-1} V^*
        p, s, vh = jnp.linalg.svd(r)
        v = jnp.conj(vh.T)
        mid = v @ (jnp.conj(p.T) @ c @ v / s[None, :]) @ vh
        u1, _, v1h = jnp.linalg.svd(mid)
        unitary = u1 @ v1h
        # Schur vectors of the (normal) unitary factor: orthonormal even for repeated eigenvalues
        lam, w = unitary_eig(unitary)
        cdt = w.dtype
        g_isqrt = ((v / s[None, :]) @ vh).astype(cdt)
        g_sqrt = ((v * s[None, :]) @ vh).astype(cdt)
        kmat = g_isqrt @ unitary.astype(cdt) @ g_sqrt
        eigvecs = g_isqrt @ w
        b = jnp.linalg.pinv(r) @ (jnp.conj(q.T) @ (sw * x.astype(q.dtype)))
        modes = jnp.linalg.solve(eigvecs, b.astype(cdt))
        return MPEDMDModel(self.dictionary, kmat, lam, eigvecs, modes, w, g_sqrt)
