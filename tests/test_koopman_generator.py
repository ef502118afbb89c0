"""Continuous-time generator estimation: gEDMD (derivative data) and the matrix logarithm."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from helpers import raises, spectral_distance

from jaxsci import dynamics as dy
from jaxsci import koopman as kp

pytestmark = pytest.mark.x64


A = np.array([[-0.1, 1.0], [-1.0, -0.1]])  # eigenvalues -0.1 +- i


def _linear_trajectories(key, dt, steps, n=20):
    # closed form exp(t A) x0 (diffrax trajectories are tested in test_dynamics.py)
    x0 = np.asarray(jax.random.uniform(key, (n, 2), minval=-1, maxval=1))
    return jnp.asarray(
        np.stack([x0 @ scipy.linalg.expm(A * dt * k).T for k in range(steps + 1)], 1)
    )


def _slow_manifold_trajectories(key, mu, lam, dt, steps, n=20):
    # closed form: x = x0 e^{mu t}, y = c x^2 + (y0 - c x0^2) e^{lam t}, c = lam / (lam - 2 mu)
    x0 = np.asarray(jax.random.uniform(key, (n, 2), minval=-1, maxval=1))
    t = dt * np.arange(steps + 1)[None, :]
    c = lam / (lam - 2 * mu)
    xs = x0[:, :1] * np.exp(mu * t)
    ys = c * xs**2 + (x0[:, 1:] - c * x0[:, :1] ** 2) * np.exp(lam * t)
    return jnp.asarray(np.stack([xs, ys], -1))


def _drift(system, x):
    return jax.vmap(lambda s: system.vector_field(0.0, s))(x)


def test_linear_flow_gedmd_exact(getkey):
    flow = dy.LinearFlow(jnp.asarray(A))
    x = jax.random.normal(getkey(), (50, 2))
    e = np.linalg.eigvals(A)
    m = kp.fit(kp.GeneratorEDMD(kp.Identity()), x, _drift(flow, x))
    assert isinstance(m, kp.GeneratorModel)
    assert spectral_distance(m.eigenvalues, e) < 1e-12
    # degree-2 monomials are invariant: rates 0, l1, l2, 2 l1, l1 + l2, 2 l2
    m2 = kp.fit(kp.GeneratorEDMD(kp.Monomials.of_degree(2, 2)), x, _drift(flow, x))
    truth = np.array([0, e[0], e[1], 2 * e[0], e[0] + e[1], 2 * e[1]])
    assert spectral_distance(m2.eigenvalues, truth) < 1e-11
    # forecasts from a new state: exp(t A) x0
    x0, times = jnp.array([0.7, -0.2]), jnp.array([0.0, 0.5, 3.0])
    want = np.stack([scipy.linalg.expm(A * t) @ np.asarray(x0) for t in np.asarray(times)])
    assert np.allclose(m.predict(x0, times), want, atol=1e-12)


def test_linear_flow_matrix_log(getkey):
    dt = 0.5
    tr = _linear_trajectories(getkey(), dt, 6)
    x, y = dy.snapshot_pairs(tr)
    g = kp.generator_from_koopman(kp.fit(kp.EDMD(kp.Identity()), x, y), dt)
    assert spectral_distance(g.eigenvalues, np.linalg.eigvals(A)) < 1e-9
    # L = A^T in the row convention: exp(dt L) reproduces the EDMD matrix
    assert np.allclose(g.matrix, A.T, atol=1e-9)


def test_slow_manifold_generator_both_routes(getkey):
    mu, lam, dt = -0.1, -1.0, 0.1
    system = dy.SlowManifold(mu, lam)
    d = kp.Monomials.of_degree(2, 4, weights=(1, 2))
    ex = np.asarray(d.exponents)
    truth = np.sort(ex[:, 0] * mu + ex[:, 1] * lam)
    tr = _slow_manifold_trajectories(getkey(), mu, lam, dt, 10)
    x, y = dy.snapshot_pairs(tr)
    gm = kp.fit(kp.GeneratorEDMD(d), x, _drift(system, x))
    got = np.asarray(gm.eigenvalues)
    assert np.max(np.abs(got.imag)) < 1e-10 and np.max(np.abs(np.sort(got.real) - truth)) < 1e-10
    # via log of the EDMD matrix: eigenvalue errors ~1e-10 are divided by dt
    lg = np.asarray(kp.generator_from_koopman(kp.fit(kp.EDMD(d), x, y), dt).eigenvalues)
    assert np.max(np.abs(lg.imag)) < 1e-9 and np.max(np.abs(np.sort(lg.real) - truth)) < 1e-9


def test_finite_difference_drift_second_order(getkey):
    key = getkey()
    errs = []
    for dt in (0.2, 0.1, 0.05):
        x, dx = dy.derivative_pairs(_linear_trajectories(key, dt, int(round(1.0 / dt))), dt)
        m = kp.fit(kp.GeneratorEDMD(kp.Identity()), x, dx)
        errs.append(spectral_distance(m.eigenvalues, np.linalg.eigvals(A)))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 3.5) & (ratios < 4.5)), (
        errs,
        ratios,
    )  # O(dt^2): halving dt quarters it


def test_ornstein_uhlenbeck_generator_with_diffusion(getkey):
    # L x^n = -n theta x^n + sigma^2 n (n - 1) / 2 x^{n-2}: monomials are invariant, rates -n theta
    theta, sigma = 0.7, 0.5
    x = jax.random.normal(getkey(), (200, 1))
    est = kp.GeneratorEDMD(kp.Monomials.of_degree(1, 4), diffusion=lambda s: jnp.array([[sigma]]))
    m = kp.fit(est, x, -theta * x)
    got = np.sort(np.asarray(m.eigenvalues).real)[::-1]
    assert np.allclose(got, -theta * np.arange(5), atol=1e-10)
    # without the diffusion term the drift alone also has rates -n theta (triangular), but the
    # eigenfunctions differ: the Hermite eigenfunction He_2 is an eigenfunction only with diffusion
    he2 = lambda s: s[0] ** 2 - sigma**2 / (2 * theta)  # noqa: E731
    j = int(np.argmin(np.abs(np.asarray(m.eigenvalues) + 2 * theta)))
    pts = jnp.linspace(-2, 2, 5)[:, None]
    phi = np.asarray(jax.vmap(m.eigenfunctions)(pts))[:, j]
    want = np.asarray(jax.vmap(he2)(pts))
    assert np.allclose(phi / phi[0], want / want[0], atol=1e-9)


def test_generator_jit_vmap_and_bad_input(getkey):
    flow = dy.LinearFlow(jnp.asarray(A))
    xs = jax.random.normal(getkey(), (3, 30, 2))
    run = eqx.filter_jit(
        lambda x: kp.fit(kp.GeneratorEDMD(kp.Identity()), x, _drift(flow, x)).eigenvalues
    )
    lam = jax.vmap(run)(xs)
    for row in np.asarray(lam):
        assert spectral_distance(row, np.linalg.eigvals(A)) < 1e-12
    x = xs[0]
    with raises(ValueError, match="same shape"):
        kp.fit(kp.GeneratorEDMD(kp.Identity()), x, x[:-1])
    truncated = kp.fit(kp.EDMD(kp.Monomials.of_degree(2, 2), rank=3), x, x @ A.T)
    with raises(ValueError, match="full eigenbasis"):
        kp.generator_from_koopman(truncated, 0.1)
    with raises(ValueError, match="time >= 3"):
        dy.derivative_pairs(jnp.ones((2, 2, 2)), 0.1)
