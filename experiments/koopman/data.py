"""Shared data for the Koopman benchmarks and cross-checks (a module, not a script): the Chirikov
standard map on the torus with N real Fourier features (orthogonal under uniform sampling, so
every method solves the same well-conditioned least-squares problem and eigenvalues can be
compared across libraries), and the eigenvalue mismatch by optimal matching.

    from experiments.koopman.data import fourier_dictionary, standard_map_pairs
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

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
    """N real features: a constant, cos(k . x) and sin(k . x) for the shortest half-plane k
    (ordered by k_1, then k_2)."""
    if n_features % 2 == 0:
        raise ValueError("use an odd n_features (constant + cos/sin pairs)")
    k = half_plane_wavenumbers((n_features - 1) // 2)
    k_max = int(np.abs(k).max())
    # for each k_1 the k_2 taken form one contiguous range (a chord of the disk |k| <= R)
    ranges = []
    for k1 in sorted(set(k[:, 0].tolist())):
        k2 = np.sort(k[k[:, 0] == k1, 1])
        assert np.all(np.diff(k2) == 1), "k_2 per k_1 must be contiguous"
        ranges.append((k1, int(k2[0]) + k_max, int(k2[-1]) + k_max + 1))

    def psi(x):
        # e^{i k.x} = e^{i k_1 x_1} e^{i k_2 x_2}: 2 (2 k_max + 1) exponentials per point and
        # a product per feature, instead of a cos and a sin per feature (the streamed EDMD run
        # was bound by them); static slices, no gather
        r = jnp.arange(-k_max, k_max + 1, dtype=x.dtype)
        e1, e2 = jnp.exp(1j * x[0] * r), jnp.exp(1j * x[1] * r)
        mode = jnp.concatenate([e1[k1 + k_max] * e2[lo:hi] for k1, lo, hi in ranges])
        return jnp.concatenate([jnp.ones((1,), x.dtype), mode.real, mode.imag])

    return kp.FunctionDictionary(psi)


def standard_map_pairs(m: int, *, key, strength: float = 1.0):
    """m snapshot pairs (x uniform on the torus, y = standard map of x)."""
    x = jax.random.uniform(key, (m, 2), jnp.float64, 0.0, 2 * np.pi)
    return x, jax.vmap(dy.StandardMap(strength).step)(x)


def mismatch(a, b) -> float:
    """Largest distance between two sets of eigenvalues matched one to one (optimal assignment);
    NaN when their counts differ."""
    a, b = np.ravel(np.asarray(a)), np.ravel(np.asarray(b))
    if a.shape != b.shape:
        return float("nan")
    cost = np.abs(a[:, None] - b[None, :])
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    return float(cost[rows, cols].max())
