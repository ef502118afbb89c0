"""Fitted Koopman models: eigenvalues, eigenfunctions (evaluable at new points), modes, forecasts.

Convention (row snapshots): `Psi_X[i] = psi(x_i)`; the Koopman matrix K (N x N) maps feature
coefficients, `psi(F(x)) ~ psi(x) K`. An eigenpair K v = lambda v gives the eigenfunction
phi(x) = psi(x) . v, and the modes xi_j reconstruct the state, x = sum_j phi_j(x) xi_j.
"""

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Inexact

from ._dictionaries import AbstractDictionary


class AbstractKoopmanModel(eqx.Module):
    """A fitted finite-dimensional Koopman (or generator) approximation.

    Subclasses hold `dictionary`, `matrix` (N x N), `eigenvalues` (r,), `eigenvectors` (N x r, in
    feature coordinates) and `modes` (r x dim).
    """

    dictionary: eqx.AbstractVar[AbstractDictionary]
    matrix: eqx.AbstractVar[Inexact[Array, "n n"]]
    eigenvalues: eqx.AbstractVar[Complex[Array, " r"]]
    eigenvectors: eqx.AbstractVar[Complex[Array, "n r"]]
    modes: eqx.AbstractVar[Complex[Array, "r dim"]]

    def eigenfunctions(self, x: Float[Array, " dim"]) -> Complex[Array, " r"]:
        """phi_j(x) = psi(x) . v_j at one state (vmap outside for many)."""
        return self.dictionary(x).astype(self.eigenvectors.dtype) @ self.eigenvectors


def _power_forecast(model, x0, n_steps):
    phi = model.eigenfunctions(x0)
    powers = model.eigenvalues[None, :] ** jnp.arange(n_steps + 1)[:, None]
    return jnp.real((powers * phi[None]) @ model.modes)


class KoopmanModel(AbstractKoopmanModel):
    """A discrete-time Koopman model fitted by `DMD`, `EDMD`, `KernelEDMD` or `ReducedRank`.

    - `eigenfunctions(x)`: phi_j(x) = psi(x) . v_j at one point.
    - `predict(x0, n_steps)`: x_n ~ Re sum_j lambda_j^n phi_j(x0) xi_j.
    """

    dictionary: AbstractDictionary
    matrix: Inexact[Array, "n n"]
    eigenvalues: Complex[Array, " r"]
    eigenvectors: Complex[Array, "n r"]
    modes: Complex[Array, "r dim"]

    def predict(self, x0: Float[Array, " dim"], n_steps: int) -> Float[Array, "steps dim"]:
        """Forecast `n_steps` steps from one new initial state (vmap outside for many)."""
        return _power_forecast(self, x0, n_steps)


class GeneratorModel(AbstractKoopmanModel):
    """A continuous-time model: the generator L of the Koopman semigroup, K^t = exp(t L).

    `eigenvalues` are rates (units 1/time); `predict(x0, times)` gives
    x(t) ~ Re sum_j exp(lambda_j t) phi_j(x0) xi_j.
    """

    dictionary: AbstractDictionary
    matrix: Inexact[Array, "n n"]
    eigenvalues: Complex[Array, " r"]
    eigenvectors: Complex[Array, "n r"]
    modes: Complex[Array, "r dim"]

    def predict(self, x0: Float[Array, " dim"], times: Float[Array, " t"]) -> Float[Array, "t dim"]:
        """Forecast at `times` from one new initial state (vmap outside for many)."""
        phi = self.eigenfunctions(x0)
        times = jnp.asarray(times)
        growth = jnp.exp(self.eigenvalues[None, :] * times.astype(self.eigenvalues.dtype)[:, None])
        return jnp.real((growth * phi[None]) @ self.modes)
