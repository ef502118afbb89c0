"""Koopman estimators against known spectra (float64), plus jit / vmap / bad-input checks."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

from jaxsci import dynamics as dy, koopman as kp

pytestmark = pytest.mark.x64


def _linear_data(key):
    a = jnp.array([[0.9, 0.2], [-0.1, 0.8]])
    x0 = jax.random.normal(key, (6, 2))
    tr = dy.trajectories(dy.LinearMap(a), x0, dt=1.0, n_steps=6)
    return a, x0, tr, *dy.snapshot_pairs(tr)


@pytest.mark.parametrize("exact", [True, False])
def test_dmd_linear_map_exact(getkey, exact):
    a, x0, tr, x, y = _linear_data(getkey())
    m = kp.fit(kp.DMD(exact=exact), x, y)
    assert np.allclose(np.sort_complex(m.eigenvalues), np.sort_complex(np.linalg.eigvals(a)), atol=1e-12)
    assert np.allclose(m.predict(x0[0], 6), tr[0], atol=1e-11)
    assert np.allclose(jax.vmap(lambda s: m.predict(s, 6))(x0), tr, atol=1e-11)


def test_edmd_quadratic_monomials_linear_map(getkey):
    # degree-2 monomials of a linear map are invariant: eigenvalues 1, eig(A), products eig_i eig_j
    a, x0, tr, x, y = _linear_data(getkey())
    m = kp.fit(kp.EDMD(kp.Monomials.of_degree(2, 2)), x, y)
    e = np.linalg.eigvals(a)
    truth = np.array([1, e[0], e[1], e[0] ** 2, e[0] * e[1], e[1] ** 2])
    assert np.allclose(np.sort_complex(m.eigenvalues), np.sort_complex(truth), atol=1e-11)


def test_slow_manifold_weighted_monomials(getkey):
    mu, lam, dt = -0.1, -1.0, 0.1
    x0 = jax.random.uniform(getkey(), (20, 2), minval=-1, maxval=1)
    tr = dy.trajectories(dy.SlowManifold(mu, lam), x0, dt=dt, n_steps=10, rtol=1e-12, atol=1e-14)
    x, y = dy.snapshot_pairs(tr)
    d = kp.Monomials.of_degree(2, 4, weights=(1, 2))
    m = kp.fit(kp.EDMD(d), x, y)
    ex = np.asarray(d.exponents)
    truth = np.sort(np.exp(dt * (ex[:, 0] * mu + ex[:, 1] * lam)))
    got = np.asarray(m.eigenvalues)
    assert np.max(np.abs(got.imag)) < 1e-10
    assert np.max(np.abs(np.sort(got.real) - truth)) < 1e-10


def test_circle_rotation_fourier_and_mpedmd(getkey):
    omega = 1.0
    x = jnp.linspace(0, 2 * np.pi, 64, endpoint=False)[:, None]  # exact quadrature: G = I
    y = dy.CircleRotation(omega).step(x)
    d = kp.Fourier(1, 3)
    k = d.wavenumbers()[:, 0]
    m = kp.fit(kp.EDMD(d), x, y)
    assert np.allclose(np.sort(np.angle(m.eigenvalues)), np.sort(k * omega), atol=1e-12)
    assert np.allclose(np.abs(m.eigenvalues), 1, atol=1e-12)
    # mpEDMD with Monte Carlo points: eigenvalues on the unit circle to rounding
    xr = jax.random.uniform(getkey(), (300, 1), minval=0, maxval=2 * np.pi)
    mp = kp.fit(kp.MPEDMD(d), xr, dy.CircleRotation(omega).step(xr))
    assert np.allclose(np.abs(mp.eigenvalues), 1, atol=1e-13)
    mpx = kp.fit(kp.MPEDMD(d), x, y)
    assert np.allclose(np.sort(np.angle(mpx.eigenvalues)), np.sort(k * omega), atol=1e-12)
    # spectral measure of g = e^{i theta}: a unit atom at e^{i omega}
    c = (k == 1).astype(complex)
    w = mpx.spectral_measure(c)
    assert np.isclose(float(w.sum()), 1.0, atol=1e-12)
    j = int(np.argmax(w))
    assert np.isclose(complex(mpx.eigenvalues[j]), np.exp(1j * omega), atol=1e-12) and w[j] > 1 - 1e-12


def _doubling_quadrature(n=40):
    # Gauss-Legendre on [0, 1/2] and [1/2, 1]: exact for psi_i(x) psi_j(2x mod 1) with polynomials
    g, w = np.polynomial.legendre.leggauss(n)
    xs = np.concatenate([(g + 1) / 4, (g + 1) / 4 + 0.5])
    x = jnp.asarray(xs)[:, None]
    return x, dy.DoublingMap().step(x), jnp.asarray(np.concatenate([w, w]) / 4)


def test_doubling_map_spurious_eigenvalues_and_residuals():
    x, y, w = _doubling_quadrature()
    d = kp.Legendre(jnp.zeros(1), jnp.ones(1), degree=8)
    m = kp.fit(kp.EDMD(d), x, y, weights=w)
    lam = np.asarray(m.eigenvalues)
    order = np.argsort(-np.abs(lam))
    assert np.allclose(lam[order], 2.0 ** -np.arange(9), atol=1e-10)
    res = np.asarray(kp.residuals(m, kp.residual_data(d, x, y, weights=w)))[order]
    # Koopman is an isometry on L^2(Lebesgue): res(lambda_k)^2 = 1 - |lambda_k|^2 = 1 - 4^-k
    assert np.allclose(res, np.sqrt(1 - 4.0 ** -np.arange(9)), atol=1e-8)
    assert res[0] < 1e-8 and np.all(res[1:] > 0.8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ornstein_uhlenbeck(seed):
    ou, dt, m_samples = dy.OrnsteinUhlenbeck(theta=1.0, sigma=1.0), 0.5, 40000
    k1, k2 = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(k1, (m_samples, 1)) * ou.stationary_std()
    y = ou.transition(x, dt, key=k2)
    m = kp.fit(kp.EDMD(kp.Monomials.of_degree(1, 3)), x, y)
    got = np.sort(np.asarray(m.eigenvalues).real)[::-1]
    err = np.abs(got - np.exp(-np.arange(4) * dt))
    assert err[0] < 1e-10  # constants are exact
    # Monte Carlo error ~ C_n / sqrt(M), C_n growing with the Hermite degree
    assert np.all(err[1:] < np.array([5, 15, 40]) / np.sqrt(m_samples))


def test_damped_duffing_dominant_eigenvalues(getkey):
    dt = 0.3
    x0 = jnp.array([1.0, 0.0]) + 0.05 * jax.random.normal(getkey(), (30, 2))
    x, y = dy.snapshot_pairs(dy.trajectories(dy.Duffing(), x0, dt=dt, n_steps=30))
    centred = kp.Monomials.of_degree(2, 3)
    d = kp.FunctionDictionary(lambda z: centred(z - jnp.array([1.0, 0.0])))
    m = kp.fit(kp.EDMD(d), x, y)
    target = np.exp(dt * (-0.15 + 1.406236j))
    for t in (target, np.conj(target)):
        assert np.min(np.abs(np.asarray(m.eigenvalues) - t)) < 1e-3


def test_pseudospectrum_identities(getkey):
    x, y, w = _doubling_quadrature()
    d = kp.Legendre(jnp.zeros(1), jnp.ones(1), degree=5)
    data = kp.residual_data(d, x, y, weights=w)
    m = kp.fit(kp.EDMD(d), x, y, weights=w)
    z = jnp.array([0.3 + 0.1j, -0.5, 0.9j, 0.25])
    tau = kp.pseudospectrum(data, z, chunk_size=2)
    # second path: tau(z)^2 = smallest eigenvalue of (L - z A^* - conj(z) A + |z|^2 G, G)
    g, a, ell = (np.asarray(t) for t in data.gram)
    for zz, tt in zip(np.asarray(z), np.asarray(tau)):
        h = ell - zz * a.conj().T - np.conj(zz) * a + abs(zz) ** 2 * g
        assert np.isclose(np.sqrt(max(scipy.linalg.eigh(h, g, eigvals_only=True)[0], 0)), tt, atol=1e-7)
    # tau is a minimum over g: tau(lambda_j) <= res_j
    res = kp.residuals(m, data)
    assert np.all(np.asarray(kp.pseudospectrum(data, m.eigenvalues)) <= np.asarray(res) + 1e-10)
    # isometry: tau(z) = 1 - |z| is impossible below; |z| < 1 gives tau <= 1 - ... check grid shape
    grid = jnp.linspace(-1, 1, 5)[:, None] + 1j * jnp.linspace(-1, 1, 4)[None, :]
    assert kp.pseudospectrum(data, grid).shape == (5, 4)


def test_spectrum_estimates_linear_map(getkey):
    a, x0, tr, x, y = _linear_data(getkey())
    xt, yt = x, y
    d = kp.Monomials.of_degree(2, 1)
    data = kp.residual_data(d, xt, yt)
    re, im = np.meshgrid(np.linspace(0.5, 1.1, 61), np.linspace(-0.3, 0.3, 61))
    z = jnp.asarray(re + 1j * im)
    tau = kp.pseudospectrum(data, z)
    pts, bounds = kp.spectrum_estimates(z, tau, epsilon=0.02)
    truth = np.append(np.linalg.eigvals(a), 1.0)
    for t in truth:  # every true eigenvalue is found within grid spacing, with a small bound
        assert np.min(np.abs(pts - t)) < 0.011
    assert np.all(bounds < 0.02)


def test_kernel_edmd_and_rrr_linear(getkey):
    a, x0, tr, x, y = _linear_data(getkey())
    # the degree-2 polynomial kernel spans the degree-2 polynomials (dimension 6, invariant)
    kern = kp.polynomial_kernel(2)
    e = np.linalg.eigvals(a)
    truth = np.sort_complex(np.array([1, e[0], e[1], e[0] ** 2, e[0] * e[1], e[1] ** 2]))
    m = kp.fit(kp.KernelEDMD(kern, rank=6), x, y)
    assert np.allclose(np.sort_complex(m.eigenvalues), truth, atol=1e-9)
    ny = kp.fit(kp.KernelEDMD(kern, rank=6, n_landmarks=20), x, y)
    assert np.allclose(np.sort_complex(ny.eigenvalues), truth, atol=1e-9)
    # Gaussian kernel: approximate, leading pair close
    g = kp.fit(kp.KernelEDMD(kp.gaussian_kernel(3.0), rank=8), x, y)
    assert min(np.min(np.abs(np.asarray(g.eigenvalues) - t)) for t in e) < 2e-2
    r = kp.fit(kp.ReducedRank(kp.Monomials.of_degree(2, 1), rank=3, regularisation=1e-12), x, y)
    assert np.allclose(np.sort_complex(r.eigenvalues), np.sort_complex(np.append(np.linalg.eigvals(a), 1)), atol=1e-8)


@pytest.mark.parametrize(
    "dictionary",
    [
        kp.Monomials.of_degree(2, 3),
        kp.Legendre(-jnp.ones(2), jnp.ones(2), degree=3),
        kp.Chebyshev(-jnp.ones(2), jnp.ones(2), degree=3),
        kp.Fourier(2, 1),
        kp.RadialBasis(jnp.zeros((4, 2)) + jnp.arange(4.0)[:, None], 1.0),
        kp.RandomFourierFeatures.sample(2, 8, 1.0, key=jax.random.key(0)),
        kp.Identity(constant=True),
    ],
)
def test_dictionary_jit_vmap(dictionary):
    pts = jax.random.uniform(jax.random.key(1), (5, 2), minval=-1, maxval=1)
    one = jnp.stack([dictionary(p) for p in pts])
    assert np.allclose(jax.vmap(eqx.filter_jit(dictionary))(pts), one, atol=1e-12)
    assert np.allclose(kp.features(dictionary, pts), one, atol=1e-12)


def test_orthogonal_polynomials_truth():
    x = jnp.array([0.3, -0.7])
    leg = kp.Legendre(-jnp.ones(2), jnp.ones(2), degree=3)
    che = kp.Chebyshev(-jnp.ones(2), jnp.ones(2), degree=3)
    exps = kp.monomial_exponents(2, 3)
    from numpy.polynomial import chebyshev as C, legendre as L

    want_l = [L.legval(0.3, np.eye(4)[a]) * L.legval(-0.7, np.eye(4)[b]) for a, b in exps]
    want_c = [C.chebval(0.3, np.eye(4)[a]) * C.chebval(-0.7, np.eye(4)[b]) for a, b in exps]
    assert np.allclose(leg(x), want_l) and np.allclose(che(x), want_c)


def test_kmeans_and_time_delays(getkey):
    pts = jnp.concatenate([jnp.zeros((10, 2)), jnp.ones((10, 2)) * 5])
    c = kp.kmeans_centres(pts, 2, key=getkey())
    assert np.allclose(np.sort(np.asarray(c[:, 0])), [0, 5])
    h = dy.hankel(jnp.arange(6.0), 3)
    td = kp.TimeDelays(3, constant=True)
    assert np.allclose(jax.vmap(td)(h)[1], [1, 1, 2, 3])


def test_fit_under_jit_and_no_retrace(getkey):
    a, x0, tr, x, y = _linear_data(getkey())

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(x, y):
        m = kp.fit(kp.EDMD(kp.Monomials.of_degree(2, 1)), x, y)
        return m.eigenvalues, kp.residuals(m, kp.residual_data(m.dictionary, x, y))

    lam1, _ = run(x, y)
    lam2, _ = run(x + 0.0, y + 0.0)
    assert np.allclose(np.sort_complex(lam1), np.sort_complex(np.append(np.linalg.eigvals(a), 1)), atol=1e-11)
    assert np.allclose(lam1, lam2)
    assert np.allclose(jax.vmap(kp.eig)(jnp.stack([a, a.T]))[0][1], np.linalg.eigvals(a.T))


def test_bad_input(getkey):
    a, x0, tr, x, y = _linear_data(getkey())
    est = kp.EDMD(kp.Monomials.of_degree(2, 2))
    with pytest.raises(ValueError, match="same shape"):
        kp.fit(est, x, y[:-1])
    with pytest.raises(ValueError, match="finite"):
        kp.fit(est, x.at[0, 0].set(jnp.nan), y)
    with pytest.raises(ValueError, match="weights"):
        kp.fit(est, x, y, weights=jnp.ones(3))
    with pytest.raises(TypeError, match="estimator"):
        kp.fit("edmd", x, y)
    with pytest.warns(UserWarning, match="residuals on the training data collapse"):
        kp.fit(kp.EDMD(kp.Monomials.of_degree(2, 4)), x[:5], y[:5])
    with pytest.raises(ValueError, match="held-out snapshots"):
        kp.residual_data(kp.Monomials.of_degree(2, 4), x[:5], y[:5])
    with pytest.raises(ValueError, match="one point"):
        kp.Monomials.of_degree(2, 2)(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="square"):
        kp.eig(jnp.ones((2, 3)))


def test_float32_warns():
    with jax.enable_x64(False):
        x = jnp.ones((10, 2), jnp.float32) + jnp.arange(10.0)[:, None]
        with pytest.warns(UserWarning, match="float64"):
            kp.fit(kp.DMD(), x, x * 0.5)


def test_edmd_gram_method_agrees(getkey):
    a, x0, tr, x, y = _linear_data(getkey())
    d = kp.Monomials.of_degree(2, 2)
    m1, m2 = kp.fit(kp.EDMD(d), x, y), kp.fit(kp.EDMD(d, method="gram"), x, y)
    assert np.allclose(np.sort_complex(m1.eigenvalues), np.sort_complex(m2.eigenvalues), atol=1e-8)
    assert np.allclose(m2.predict(x0[0], 6), tr[0], atol=1e-7)
    with pytest.raises(ValueError, match="method"):
        kp.EDMD(d, method="svd")
