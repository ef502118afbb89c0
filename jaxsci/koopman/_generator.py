"""Continuous-time Koopman generator estimation.

Two documented routes to the generator L of the Koopman semigroup K^t = exp(t L):

- `GeneratorEDMD`: gEDMD (Klus, Nueske, Peitz, Niemann, Clementi, Schuette 2020, "Data-driven
  approximation of the Koopman generator", Physica D 406, 132416, Sec. 3.1, eq. 13). With drift
  data b(x_i) = x'_i (the vector field, or finite differences of trajectories, see
  `jaxsci.dynamics.derivative_pairs`) the generator acts on the dictionary as
  (L psi_k)(x) = grad psi_k(x) . b(x) + 1/2 sum_ij a_ij(x) d_i d_j psi_k(x), a = sigma sigma^T for
  an SDE dX = b dt + sigma dW. We evaluate dPsi exactly by forward-mode differentiation of the
  dictionary (`jax.jvp`; `jax.jacfwd` twice for the diffusion term) and solve
  min ||W^{1/2}(Psi_X L - dPsi)||_F by QR, like `EDMD`. On a dictionary spanning an
  L-invariant subspace with exact drift data the eigenvalues are exact.
- `generator_from_koopman`: the principal matrix logarithm of a discrete-time model,
  L = V diag(log(lambda) / dt) V^{-1}. Exact for an exact K, but aliased when a true rate has
  |Im(omega) dt| >= pi, and undefined for lambda = 0: sample fast enough.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._dictionaries import AbstractDictionary, features
from ._eig import eig
from ._estimators import AbstractEstimator, _state_coefficients, warn_if_underdetermined
from ._model import AbstractKoopmanModel, GeneratorModel


class GeneratorEDMD(AbstractEstimator):
    """gEDMD: the Koopman generator from states and their time derivatives (Klus et al. 2020).

    Used through `fit(GeneratorEDMD(dictionary), x, dx)`: `dx[i]` is the drift (velocity) at
    `x[i]`, e.g. `jax.vmap(lambda s: flow.vector_field(0.0, s))(x)` or central differences of
    sampled trajectories (`jaxsci.dynamics.derivative_pairs`, error O(dt^2)).

    **Arguments:**

    - `dictionary`: a differentiable `AbstractDictionary`.
    - `diffusion`: optional `sigma(x) -> (dim, dim)` of an SDE dX = b dt + sigma dW; adds the
      second-order term 1/2 a : Hess psi with a = sigma sigma^T (Klus et al. 2020, eq. 12).
    - `rcond`: relative singular-value cut-off of W^{1/2} Psi_X.

    **Returns** (via `fit`): a `GeneratorModel` whose eigenvalues are rates (1/time).
    """

    dictionary: AbstractDictionary
    diffusion: Callable | None = None
    rcond: float | None = eqx.field(static=True, default=None)

    def fit_pairs(self, x, dx, weights):
        psi_x = features(self.dictionary, x)
        warn_if_underdetermined(*psi_x.shape)

        def generator_on_dictionary(point, drift):
            # grad psi . b in one forward-mode pass (exact, no finite differences)
            out = jax.jvp(self.dictionary, (point,), (drift.astype(point.dtype),))[1]
            if self.diffusion is not None:
                sigma = jnp.asarray(self.diffusion(point))
                a = sigma @ sigma.T
                # jacfwd twice: forward mode also handles complex-valued dictionaries (Fourier)
                hess = jax.jacfwd(jax.jacfwd(self.dictionary))(point)  # (N, dim, dim)
                out = out + 0.5 * jnp.einsum("nij,ij->n", hess, a.astype(hess.dtype))
            return out

        dpsi = jax.vmap(generator_on_dictionary)(x, dx)
        sw = jnp.sqrt(weights).astype(psi_x.dtype)[:, None]
        q, r = jnp.linalg.qr(sw * psi_x)
        r_pinv = jnp.linalg.pinv(r, rtol=self.rcond)
        lmat = r_pinv @ (jnp.conj(q.T) @ (sw * dpsi.astype(q.dtype)))
        coeff = _state_coefficients(q, r_pinv, sw, x)
        rates, v = eig(lmat)
        modes = jnp.linalg.solve(v, coeff.astype(v.dtype))
        return GeneratorModel(self.dictionary, lmat, rates, v, modes)


def generator_from_koopman(
    model: AbstractKoopmanModel, dt: float | Float[Array, ""]
) -> GeneratorModel:
    """The generator of a discrete-time model by the principal matrix logarithm.

    L = V diag(log(lambda_j) / dt) V^{-1} with the model's eigenpairs (the same eigenfunctions
    and modes); rates log(lambda) / dt take the principal branch, |Im| <= pi / dt.

    **Arguments:** `model` (a fitted discrete-time model with a square eigenvector matrix, i.e.
    not a `rank`-truncated one), `dt` the sampling interval of its snapshot pairs.

    **Returns:** a `GeneratorModel`.
    """
    v = model.eigenvectors
    if v.shape[0] != v.shape[1]:
        raise ValueError(
            "`model` must have a full eigenbasis (N eigenvectors of length N); got "
            f"{v.shape}: fit without `rank`, or use the reduced matrix."
        )
    rates = jnp.log(model.eigenvalues) / dt
    lmat = (v * rates[None, :]) @ jnp.linalg.inv(v)
    return GeneratorModel(model.dictionary, lmat, rates, v, model.modes)
