"""Piecewise-linear RNNs for dynamical-systems reconstruction: the shallow PLRNN and the AL-RNN.

Both are maps `z_t = F(z_{t-1})` on a latent space of `latent_size` units whose first
`observed_size` units *are* the observations (the identity observation model of the DSR papers:
teacher forcing writes the data into them, the readout reads them). A state is one vector;
`vmap` over a batch.

- shPLRNN (Hess et al. 2023, ICML, "Generalized Teacher Forcing for Learning Chaotic
  Dynamics", eq. 2): `z_t = A z_{t-1} + W1 relu(W2 z_{t-1} + h2) + h1`, `A` diagonal; the
  clipped form `W1 [relu(W2 z + h2) - relu(W2 z)]` keeps orbits bounded when `|A| < 1`.
- AL-RNN (Brenner et al. 2024, NeurIPS, "Almost-Linear RNNs Yield Highly Interpretable Symbolic
  Codes", eq. 1): `z_t = A z_{t-1} + W phi*(z_{t-1}) + h`, `phi*` the identity on the first
  `latent_size - n_relu` units and ReLU on the last `n_relu`; each sign pattern of those units
  is one linear subregion, and the sequence of subregions visited is the symbolic code.

Notation: A = `decay` (diagonal), W1/W2/h1/h2 = `w_out`/`w_in`/`bias_out`/`bias_in`, W/h =
`weights`/`bias`, M = `latent_size`, H = `hidden_size`, P = `n_relu`, N = `observed_size`.
Initialisation follows the authors' code: `A` the diagonal of a normalised positive-definite
matrix (Talathi & Vartak 2016), uniform(+-1/sqrt(fan-in)) weights.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._checks import check_bool, check_int


def _positive_definite_diagonal(key, m, dtype):
    r = jr.normal(key, (m, m), dtype)
    k = r.T @ r / m + jnp.eye(m, dtype=dtype)
    return jnp.diagonal(k) / jnp.max(jnp.abs(jnp.linalg.eigvalsh(k)))


def _uniform(key, shape, fan_in, dtype):
    bound = 1 / jnp.sqrt(jnp.asarray(fan_in, dtype))
    return jr.uniform(key, shape, dtype, -bound, bound)


class AbstractDSRModel(eqx.Module):
    """A latent map `z -> F(z)` whose first `observed_size` units are the observations.

    Subclasses define `step` and `jacobian_norm_bound`; `latent_init` maps an observation to
    the unobserved units of the first state (`z_1 = (x_1, L x_1)`, as the authors' `B`/`L`)."""

    observed_size: eqx.AbstractVar[int]
    latent_init: eqx.AbstractVar[Float[Array, "unobserved observed"]]

    @abc.abstractmethod
    def step(self, z: Float[Array, " latent"]) -> Float[Array, " latent"]:
        """One step of the map at one latent state."""

    @abc.abstractmethod
    def jacobian_norm_bound(self) -> Array:
        """An upper bound on the spectral norm of the Jacobian at every state (from the
        parameters alone)."""

    @abc.abstractmethod
    def penalty(self) -> Array:
        """The L2 penalty of the latent map the authors' training adds to the loss (times
        `reconstruct`'s `regularization`): `||1 - A||^2` (the diagonal pulled towards the
        identity) plus the squared weights and biases; `latent_init` is not penalised."""

    @property
    def latent_size(self) -> int:
        return self.observed_size + self.latent_init.shape[0]

    def initial_state(self, x: Float[Array, " observed"]) -> Float[Array, " latent"]:
        """The latent state of an observation: `(x, L x)`."""
        return jnp.concatenate([x, self.latent_init @ x])

    def rollout(self, z0: Float[Array, " latent"], n_steps: int) -> Float[Array, "n_steps latent"]:
        """`n_steps` free-running steps from `z0` (`lax.scan`), `z0` excluded."""

        def body(z, _):
            z = self.step(z)
            return z, z

        return jax.lax.scan(body, z0, None, length=n_steps)[1]

    def generate(self, x0: Float[Array, " observed"], n_steps: int) -> Float[Array, "n observed"]:
        """A free run of `n_steps` from the observation `x0`, read out (`x0` excluded)."""
        return self.rollout(self.initial_state(x0), n_steps)[:, : self.observed_size]


class ShallowPLRNN(AbstractDSRModel):
    """The shallow PLRNN `z_t = A z_{t-1} + W1 relu(W2 z_{t-1} + h2) + h1` (Hess et al. 2023),
    or its clipped form with `clipped=True`.

    **Arguments:** `observed_size` (N), `latent_size` (M >= N), `hidden_size` (H), `clipped`,
    `key`, `dtype`."""

    decay: Float[Array, " latent"]
    w_out: Float[Array, "latent hidden"]
    w_in: Float[Array, "hidden latent"]
    bias_out: Float[Array, " latent"]
    bias_in: Float[Array, " hidden"]
    latent_init: Float[Array, "unobserved observed"]
    observed_size: int = eqx.field(static=True)
    clipped: bool = eqx.field(static=True)

    def __init__(
        self,
        observed_size: int,
        latent_size: int,
        hidden_size: int,
        *,
        clipped: bool = False,
        key: PRNGKeyArray,
        dtype=jnp.float32,
    ):
        where = "ShallowPLRNN"
        n = check_int(observed_size, "observed_size", where)
        m = check_int(latent_size, "latent_size", where, minimum=n)
        h = check_int(hidden_size, "hidden_size", where)
        self.clipped = check_bool(clipped, "clipped", where)
        ka, k1, k2, kb, kl = jr.split(key, 5)
        self.observed_size = n
        self.decay = _positive_definite_diagonal(ka, m, dtype)
        self.w_out = _uniform(k1, (m, h), h, dtype)
        self.w_in = _uniform(k2, (h, m), m, dtype)
        self.bias_out = jnp.zeros(m, dtype)
        self.bias_in = _uniform(kb, (h,), h, dtype) if clipped else jnp.zeros(h, dtype)
        self.latent_init = _uniform(kl, (m - n, n), n, dtype)

    def step(self, z):
        pre = self.w_in @ z
        act = jax.nn.relu(pre + self.bias_in)
        if self.clipped:
            act = act - jax.nn.relu(pre)
        return self.decay * z + self.w_out @ act + self.bias_out

    def penalty(self):
        weights = (self.w_out, self.w_in, self.bias_out, self.bias_in)
        return jnp.sum((1 - self.decay) ** 2) + sum(jnp.sum(w**2) for w in weights)

    def jacobian_norm_bound(self):
        # ||diag(A) + W1 D W2|| <= max|A| + ||W1|| ||W2|| for any 0/1 (or -1/0/1) diagonal D
        return jnp.max(jnp.abs(self.decay)) + jnp.linalg.norm(self.w_out, 2) * jnp.linalg.norm(
            self.w_in, 2
        )


class ALRNN(AbstractDSRModel):
    """The almost-linear RNN `z_t = A z_{t-1} + W phi*(z_{t-1}) + h` (Brenner et al. 2024):
    ReLU on the last `n_relu` of `latent_size` units, the identity on the others.

    **Arguments:** `observed_size` (N), `latent_size` (M >= N), `n_relu` (P <= M), `key`,
    `dtype`."""

    decay: Float[Array, " latent"]
    weights: Float[Array, "latent latent"]
    bias: Float[Array, " latent"]
    latent_init: Float[Array, "unobserved observed"]
    observed_size: int = eqx.field(static=True)
    n_relu: int = eqx.field(static=True)

    def __init__(
        self,
        observed_size: int,
        latent_size: int,
        n_relu: int,
        *,
        key: PRNGKeyArray,
        dtype=jnp.float32,
    ):
        where = "ALRNN"
        n = check_int(observed_size, "observed_size", where)
        m = check_int(latent_size, "latent_size", where, minimum=n)
        self.n_relu = check_int(n_relu, "n_relu", where, minimum=0, maximum=m)
        ka, kw, kl = jr.split(key, 3)
        self.observed_size = n
        self.decay = _positive_definite_diagonal(ka, m, dtype)
        self.weights = 0.01 * jr.normal(kw, (m, m), dtype)
        self.bias = jnp.zeros(m, dtype)
        self.latent_init = _uniform(kl, (m - n, n), n, dtype)

    def _activation(self, z):
        m = z.shape[0]
        relu_units = jnp.arange(m) >= m - self.n_relu
        return jnp.where(relu_units, jax.nn.relu(z), z)

    def step(self, z):
        return self.decay * z + self.weights @ self._activation(z) + self.bias

    def penalty(self):
        return jnp.sum((1 - self.decay) ** 2) + jnp.sum(self.weights**2) + jnp.sum(self.bias**2)

    def jacobian_norm_bound(self):
        return jnp.max(jnp.abs(self.decay)) + jnp.linalg.norm(self.weights, 2)

    def subregion(self, z: Float[Array, " latent"]) -> Int[Array, ""]:
        """The linear subregion of one state: the bits `z_i > 0` of the ReLU units, read as a
        binary number (the first ReLU unit the most significant bit)."""
        bits = (z[z.shape[0] - self.n_relu :] > 0).astype(jnp.int32)
        return jnp.sum(bits * 2 ** jnp.arange(self.n_relu - 1, -1, -1, dtype=jnp.int32))

    def subregion_matrix(self, region: int) -> Float[Array, "latent latent"]:
        """The linear map of one subregion: `z_t = (diag(A) + W D_region) z_{t-1} + h`, `D`
        diagonal with ones on the linear units and the region's bits on the ReLU units."""
        m = self.decay.shape[0]
        bits = (region >> jnp.arange(self.n_relu - 1, -1, -1)) & 1
        d = jnp.concatenate(
            [jnp.ones(m - self.n_relu, self.decay.dtype), bits.astype(self.decay.dtype)]
        )
        return jnp.diag(self.decay) + self.weights * d[None, :]


def symbolic_code(model: ALRNN, latents: Float[Array, "time latent"]) -> Int[Array, " time"]:
    """The AL-RNN's symbolic code of a latent trajectory: the subregion of every state
    (Brenner et al. 2024, Sec. 3.2). `np.unique(code, return_counts=True)` gives the
    subregions used and how often; consecutive pairs give the transition graph."""
    if not isinstance(model, ALRNN):
        raise TypeError(f"symbolic_code: `model` must be an ALRNN, got {type(model).__name__}")
    latents = jnp.asarray(latents)
    if latents.ndim != 2 or latents.shape[1] != model.latent_size:
        raise ValueError(
            f"symbolic_code: `latents` must have shape (time, {model.latent_size}), got "
            f"{latents.shape}"
        )
    return jax.vmap(model.subregion)(latents)
