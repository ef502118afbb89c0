"""Pseudospectra: the fast Cholesky + block-Krylov path against the exact SVD path."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from helpers import raises

from jaxsci import dynamics as dy
from jaxsci import koopman as kp

pytestmark = pytest.mark.x64


@pytest.fixture(scope="module")
def duffing():
    with jax.enable_x64(True):
        # same shapes as test_koopman.py's Duffing data: one diffrax compilation serves both
        x0 = jax.random.uniform(jax.random.key(0), (30, 2), jnp.float64, -1.5, 1.5)
        x, y = dy.snapshot_pairs(dy.trajectories(dy.Duffing(), x0, dt=0.3, n_steps=30))
        d = kp.Legendre(-2 * jnp.ones(2), 2 * jnp.ones(2), degree=10)  # N = 66
        data = kp.residual_data(d, x[::2], y[::2])  # held out from the fit
        model = kp.fit(kp.EDMD(d), x[1::2], y[1::2])
        return data, model


def _doubling(degree):
    g, w = np.polynomial.legendre.leggauss(40)
    x = jnp.asarray(np.concatenate([(g + 1) / 4, (g + 1) / 4 + 0.5]))[:, None]
    w = jnp.asarray(np.concatenate([w, w]) / 4)
    d = kp.Legendre(jnp.zeros(1), jnp.ones(1), degree=degree)
    y = dy.DoublingMap().step(x)
    return kp.residual_data(d, x, y, weights=w), kp.fit(kp.EDMD(d), x, y, weights=w)


@pytest.mark.parametrize("block_size,n_blocks", [(4, 6), (2, 20)])
def test_krylov_matches_svd_including_near_eigenvalues(duffing, block_size, n_blocks):
    data, model = duffing
    re, im = np.meshgrid(np.linspace(-1.2, 1.2, 9), np.linspace(-1.2, 1.2, 9))
    lam = np.asarray(model.eigenvalues)
    z = jnp.asarray(np.concatenate([(re + 1j * im).ravel(), lam, lam + 1e-8]))
    exact = np.asarray(kp.pseudospectrum(data, z, method="svd"))
    # the Krylov basis (<= 4 * 7 = 28 or 2 * 21 = 42 vectors) is smaller than N = 66
    fast = np.asarray(kp.pseudospectrum(data, z, block_size=block_size, n_blocks=n_blocks))
    assert exact.min() < 1e-12  # tau -> 0 at the constant eigenfunction: the hard case is present
    far = exact > 1e-6
    assert np.max(np.abs(fast - exact)[far] / exact[far]) < 1e-10
    # near tau = 0 the reference itself is only exact to ~eps ||M(z)||
    r11, r12, r22 = (np.asarray(t) for t in (data.r11, data.r12, data.r22))
    norm_m = np.linalg.norm(np.vstack([r12, r22]) @ np.linalg.inv(r11), 2) + np.abs(z).max()
    rounding = 10 * np.finfo(np.float64).eps * norm_m
    assert np.max(np.abs(fast - exact)[~far]) < rounding
    # the fast value is the residual of an explicit vector: an upper bound, to rounding
    assert np.all(fast >= exact - rounding)


def test_small_dictionary_dense_path_and_gram_identity():
    data, model = _doubling(5)
    z = jnp.concatenate([jnp.array([0.3 + 0.1j, -0.5, 0.9j, 0.25, 1.0]), model.eigenvalues])
    fast, exact = kp.pseudospectrum(data, z), kp.pseudospectrum(data, z, method="svd", chunk_size=2)
    assert np.allclose(fast, exact, rtol=1e-12, atol=1e-14)
    # a third path: tau(z)^2 = smallest eigenvalue of the pencil
    # (L - z A^* - conj(z) A + |z|^2 G, G),
    # which squares the condition number (hence the looser tolerance)
    g, a, ell = (np.asarray(t) for t in data.gram)
    for zz, tt in zip(np.asarray(z)[:5], np.asarray(exact)[:5], strict=True):
        h = ell - zz * a.conj().T - np.conj(zz) * a + abs(zz) ** 2 * g
        assert np.isclose(
            np.sqrt(max(scipy.linalg.eigh(h, g, eigvals_only=True)[0], 0)), tt, atol=1e-7
        )
    # tau is a minimum over functions: tau(lambda_j) <= res_j for every EDMD eigenpair
    res = np.asarray(kp.residuals(model, data))
    assert np.all(np.asarray(fast)[5:] <= res + 1e-12)


def test_lipschitz_and_isometry(duffing):
    # sigma_min(M(z)) is 1-Lipschitz in z; and for the doubling map (an isometry) tau(z) >= |z| - 1
    data, _ = duffing
    h = 0.05
    zs = jnp.linspace(-1.5, 1.5, 61) + 0.3j
    tau = np.asarray(kp.pseudospectrum(data, zs))
    assert np.all(np.abs(np.diff(tau)) <= h + 1e-12)
    ddata, _ = _doubling(8)
    z = jnp.array([1.5, -2.0j, 1.2 + 1.2j])
    assert np.all(np.asarray(kp.pseudospectrum(ddata, z)) >= np.abs(np.asarray(z)) - 1 - 1e-12)


def test_jit_vmap_grid_shape_and_bad_input(duffing):
    data, _ = duffing
    grid = jnp.linspace(-1, 1, 4)[:, None] + 1j * jnp.linspace(-1, 1, 3)[None, :]

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(d, z):
        return kp.pseudospectrum(d, z, block_size=2, n_blocks=4)

    tau = run(data, grid)
    assert tau.shape == (4, 3)
    assert np.allclose(run(data, grid + 0.0), tau)
    batched = jax.vmap(lambda row: kp.pseudospectrum(data, row, block_size=2, n_blocks=4))(grid)
    assert np.allclose(batched, tau, rtol=1e-12)
    with raises(ValueError, match="pseudospectrum: unknown `method` 'qr'"):
        kp.pseudospectrum(data, grid, method="qr")
    with raises(ValueError, match="pseudospectrum: `chunk_size` must be a positive int, got 0"):
        kp.pseudospectrum(data, grid, chunk_size=0)
    with raises(TypeError, match="pseudospectrum: `n_blocks` must be a positive int, got float"):
        kp.pseudospectrum(data, grid, n_blocks=4.0)
    with raises(TypeError, match="pseudospectrum: `block_size` must be a positive int, got bool"):
        kp.pseudospectrum(data, grid, block_size=True)
