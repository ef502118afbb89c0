"""Streamed EDMD: Gram matrices accumulated block by block equal the in-memory Gram fit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import spectral_distance

from jaxsci import dynamics as dy
from jaxsci import koopman as kp


def _pairs(m, key):
    x = jax.random.uniform(key, (m, 2), jnp.float64, 0.0, 2 * np.pi)
    return x, jax.vmap(dy.StandardMap(strength=0.8).step)(x)


@pytest.mark.x64
def test_streamed_gram_equals_in_memory_fit():
    x, y = _pairs(5000, jax.random.key(0))
    d = kp.Fourier(2, 3)
    ref = kp.fit(kp.EDMD(d, method="gram"), x, y)
    # 7 blocks of 800: the last one is padded with zero-weight rows
    grams = kp.gram_matrices(d, kp.blocks_of(x, y, 800))
    assert float(grams.total) == 5000
    model = kp.fit_gram(d, grams)
    assert np.allclose(model.matrix, ref.matrix, atol=1e-12)
    assert spectral_distance(model.eigenvalues, ref.eigenvalues) < 1e-10
    # a generator of blocks (trajectories made on demand) gives the same sums
    xs, ys = np.asarray(x), np.asarray(y)
    again = kp.gram_matrices(
        d, lambda i: (xs[1000 * i : 1000 * (i + 1)], ys[1000 * i : 1000 * (i + 1)]), n_blocks=5
    )
    assert np.allclose(again.g, grams.g, atol=1e-13) and np.allclose(again.a, grams.a, atol=1e-13)
    # rank-truncated, like EDMD(rank=...)
    r = kp.fit_gram(d, grams, rank=10)
    r_ref = kp.fit(kp.EDMD(d, method="gram", rank=10), x, y)
    assert spectral_distance(r.eigenvalues, r_ref.eigenvalues) < 1e-9


@pytest.mark.x64
def test_streamed_gram_bad_input():
    d = kp.Fourier(2, 1)
    with pytest.raises(ValueError, match="n_blocks"):
        kp.gram_matrices(d, lambda i: None)
    with pytest.raises(ValueError, match="gave no block"):
        kp.gram_matrices(d, [])
    with pytest.raises(ValueError, match="non-finite"):
        kp.gram_matrices(d, [(jnp.full((4, 2), jnp.nan), jnp.ones((4, 2)))])
    with pytest.raises(ValueError, match="one shape"):
        kp.gram_matrices(d, [(jnp.ones((4, 2)), jnp.ones((3, 2)))])
