"""Shared data for the Koopman benchmark and cross-checks: the Chirikov standard map on the torus
with N real Fourier features (orthogonal under uniform sampling, so every method solves the same
well-conditioned least-squares problem and eigenvalues can be compared across libraries)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jaxsci import dynamics as dy
from jaxsci import koopman as kp


def half_plane_wavenumbers(count: int) -> np.ndarray:
    """The `count` shortest k in Z^2 with k1 > 0 or (k1 = 0, k2 > 0), by |k| then lexicographic."""
    r = int(np.ceil(np.sqrt(2 * count))) + 2
    ks = [
        k
        for k in itertools.product(range(-r, r + 1), repeat=2)
        if k[0] > 0 or (k[0] == 0 and k[1] > 0)
    ]
    ks.sort(key=lambda k: (k[0] ** 2 + k[1] ** 2, k))
    return np.asarray(ks[:count], np.int32)


def fourier_dictionary(n_features: int) -> kp.FunctionDictionary:
    """N real features: a constant, cos(k . x) and sin(k . x) for the shortest half-plane k."""
    if n_features % 2 == 0:
        raise ValueError("use an odd n_features (constant + cos/sin pairs)")
    k = jnp.asarray(half_plane_wavenumbers((n_features - 1) // 2), jnp.float64)

    def psi(x):
        phase = k @ x
        return jnp.concatenate([jnp.ones((1,), x.dtype), jnp.cos(phase), jnp.sin(phase)])

    return kp.FunctionDictionary(psi)


def standard_map_pairs(m: int, *, key, strength: float = 1.0):
    """m snapshot pairs (x uniform on the torus, y = standard map of x)."""
    x = jax.random.uniform(key, (m, 2), jnp.float64, 0.0, 2 * np.pi)
    return x, jax.vmap(dy.StandardMap(strength).step)(x)
