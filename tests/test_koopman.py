"""Koopman estimators against known spectra (float64), plus jit / vmap / bad-input checks."""

import inspect
from functools import partial

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


def _linear_data(key):
    a = jnp.array([[0.9, 0.2], [-0.1, 0.8]])
    x0 = jax.random.normal(key, (6, 2))
    tr = dy.trajectories(dy.LinearMap(a), x0, dt=1.0, n_steps=6)
    return a, x0, tr, *dy.snapshot_pairs(tr)


@pytest.mark.parametrize("exact", [True, False])
def test_dmd_linear_map_exact(getkey, exact):
    a, x0, tr, x, y = _linear_data(getkey())
    m = kp.fit(kp.DMD(exact=exact), x, y)
    assert np.allclose(
        np.sort_complex(m.eigenvalues), np.sort_complex(np.linalg.eigvals(a)), atol=1e-12
    )
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
    assert (
        np.isclose(complex(mpx.eigenvalues[j]), np.exp(1j * omega), atol=1e-12) and w[j] > 1 - 1e-12
    )


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
    # filtering by residual keeps only the true eigenvalue 1 (all others are spurious)
    lam_v, vec_v, res_v = kp.verified_eigenpairs(
        m, kp.residual_data(d, x, y, weights=w), epsilon=0.5
    )
    assert np.allclose(lam_v, [1.0], atol=1e-10) and vec_v.shape == (9, 1) and res_v[0] < 1e-8
    with raises(ValueError, match="epsilon"):
        kp.verified_eigenpairs(m, kp.residual_data(d, x, y, weights=w), epsilon=0.0)


def test_ornstein_uhlenbeck_error_scales_like_inverse_sqrt_m():
    # EDMD on monomials of degree <= 3 from M exact transitions: eigenvalues exp(-n theta dt)
    # (Hermite eigenfunctions) up to Monte Carlo error ~ C_n / sqrt(M). Over 128 seeds (fit
    # vmapped), the RMS error at M and 16 M must differ by the factor 4 = sqrt(16).
    ou, dt = dy.OrnsteinUhlenbeck(theta=1.0, sigma=1.0), 0.5
    truth = np.exp(-np.arange(4) * dt)

    def sorted_eigenvalues(key, m):
        k1, k2 = jax.random.split(key)
        x = jax.random.normal(k1, (m, 1)) * ou.stationary_std()
        y = ou.transition(x, dt, key=k2)
        lam = kp.fit(kp.EDMD(kp.Monomials.of_degree(1, 3)), x, y).eigenvalues
        return jnp.sort(jnp.real(lam))[::-1]

    keys = jax.random.split(jax.random.key(0), 128)
    rms = {}
    for m in (4000, 64000):
        err = np.asarray(jax.jit(jax.vmap(partial(sorted_eigenvalues, m=m)))(keys)) - truth
        assert np.max(np.abs(err[:, 0])) < 1e-12  # the constant function is exact
        rms[m] = np.sqrt(np.mean(err[:, 1:] ** 2, 0))
    ratio = rms[4000] / rms[64000]
    assert np.all((ratio > 3.0) & (ratio < 5.5)), ratio
    assert np.all(rms[64000] < np.array([5, 15, 40]) / np.sqrt(64000))


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
    ny_gram = kp.fit(kp.KernelEDMD(kern, rank=6, n_landmarks=20, method="gram"), x, y)
    assert spectral_distance(ny_gram.eigenvalues, truth) < 1e-8
    assert np.allclose(ny_gram.predict(x0[0], 6), tr[0], atol=1e-7)
    # Gaussian kernel: approximate, leading pair close
    g = kp.fit(kp.KernelEDMD(kp.gaussian_kernel(3.0), rank=8), x, y)
    assert min(np.min(np.abs(np.asarray(g.eigenvalues) - t)) for t in e) < 2e-2
    # kernel RRR, Nystroem option: the degree-2 polynomial kernel on 20 landmarks spans the
    # invariant degree-2 polynomials, so rank-6 RRR returns their eigenvalues
    feats = kp.nystroem_features(kern, x, n_landmarks=20, rank=6)
    rr = kp.fit(kp.ReducedRank(feats, rank=6, regularisation=1e-12), x, y)
    assert spectral_distance(rr.eigenvalues, truth) < 1e-6
    r = kp.fit(kp.ReducedRank(kp.Monomials.of_degree(2, 1), rank=3, regularisation=1e-12), x, y)
    assert np.allclose(
        np.sort_complex(r.eigenvalues),
        np.sort_complex(np.append(np.linalg.eigvals(a), 1)),
        atol=1e-8,
    )


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
    from numpy.polynomial import chebyshev as C
    from numpy.polynomial import legendre as L

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
    assert np.allclose(
        np.sort_complex(lam1), np.sort_complex(np.append(np.linalg.eigvals(a), 1)), atol=1e-11
    )
    assert np.allclose(lam1, lam2)
    assert np.allclose(jax.vmap(kp.eig)(jnp.stack([a, a.T]))[0][1], np.linalg.eigvals(a.T))
    # inside a compiled loop the host call runs on a runtime thread (x64 context not active there)
    lam_loop = jax.jit(lambda s: jax.lax.map(kp.eig, s))(jnp.stack([a, a.T]))[0]
    assert lam_loop.dtype == jnp.complex128
    assert spectral_distance(lam_loop[1], np.linalg.eigvals(a)) < 1e-14
    w, z = kp.unitary_eig(jnp.asarray(scipy.linalg.expm(1j * np.array([[0.0, 1.0], [1.0, 0.0]]))))
    assert np.allclose(np.abs(w), 1) and np.allclose(
        np.asarray(z).conj().T @ np.asarray(z), np.eye(2)
    )


def test_bad_input(getkey):
    a, x0, tr, x, y = _linear_data(getkey())
    est = kp.EDMD(kp.Monomials.of_degree(2, 2))
    with raises(ValueError, match="same shape"):
        kp.fit(est, x, y[:-1])
    with raises(ValueError, match="finite"):
        kp.fit(est, x.at[0, 0].set(jnp.nan), y)
    with raises(ValueError, match="weights"):
        kp.fit(est, x, y, weights=jnp.ones(3))
    with raises(TypeError, match="estimator"):
        kp.fit("edmd", x, y)
    with pytest.warns(UserWarning, match="residuals on the training data collapse"):
        kp.fit(kp.EDMD(kp.Monomials.of_degree(2, 4)), x[:5], y[:5])
    with raises(ValueError, match="residuals collapse to zero"):
        kp.residual_data(kp.Monomials.of_degree(2, 4), x[:5], y[:5])
    with raises(ValueError, match="same dictionary"):
        kp.residuals(kp.fit(est, x, y), kp.residual_data(kp.Monomials.of_degree(2, 1), x, y))
    with raises(ValueError, match="EDMD: `rank` must be a positive int, got 0"):
        kp.EDMD(kp.Monomials.of_degree(2, 2), rank=0)
    with raises(TypeError, match="EDMD: `rank` must be a positive int, got float"):
        kp.EDMD(kp.Monomials.of_degree(2, 2), rank=2.0)
    with raises(ValueError, match="DMD: `rank` must be a positive int, got 0"):
        kp.DMD(rank=0)
    with raises(TypeError, match="DMD: `exact` must be True or False"):
        kp.DMD(exact=1)
    with raises(ValueError, match="ReducedRank: `rank` must be a positive int, got -2"):
        kp.ReducedRank(kp.Monomials.of_degree(2, 2), rank=-2)
    with raises(ValueError, match="KernelEDMD: `rank` must be a positive int, got 0"):
        kp.KernelEDMD(kp.GaussianKernel(1.0), rank=0)
    with raises(TypeError, match="KernelEDMD: `n_landmarks` must be a positive int, got float"):
        kp.KernelEDMD(kp.GaussianKernel(1.0), rank=2, n_landmarks=10.0)
    with raises(ValueError, match="KernelEDMD: unknown `method` 'svd'"):
        kp.KernelEDMD(kp.GaussianKernel(1.0), rank=2, method="svd")
    with raises(TypeError, match="monomial_exponents: `weights` must be a positive int, got float"):
        kp.Monomials.of_degree(2, 4, weights=(1, 1.5))  # used to be truncated to 1
    with raises(ValueError, match="monomial_exponents: `degree` must be a non-negative int"):
        kp.Monomials.of_degree(2, -1)
    with raises(TypeError, match="kernel"):
        kp.KernelEDMD(lambda a, b: a @ b, rank=2)
    # non-finite data inside jit: a runtime error naming the arguments
    with pytest.raises(Exception, match="must be finite"):
        eqx.filter_jit(lambda a, b: kp.fit(est, a, b).eigenvalues)(x.at[0, 0].set(jnp.inf), y)
    with raises(ValueError, match="one point"):
        kp.Monomials.of_degree(2, 2)(jnp.ones((3, 2)))
    with raises(ValueError, match="square"):
        kp.eig(jnp.ones((2, 3)))


@pytest.mark.x64
def test_gram_products_carry_the_finiteness_check(getkey):
    # EDMD(Identity, "gram") checks finiteness on G and A instead of a pass over the data: every
    # NaN or inf, wherever it sits (also against zeros of the other factor), must still be
    # caught, eagerly (ValueError) and under jit (runtime error)
    x = jax.random.normal(getkey(), (40, 3)).at[:, 2].set(0.0)
    y = 0.5 * x
    est = kp.EDMD(kp.Identity(), method="gram")
    assert est.checks_finite_products
    assert not kp.EDMD(kp.Identity()).checks_finite_products  # QR: checked on the data
    assert not kp.EDMD(kp.Fourier(3, 1), method="gram").checks_finite_products
    fitted = eqx.filter_jit(lambda a, b: kp.fit(est, a, b).eigenvalues)
    for bad in (jnp.nan, jnp.inf, -jnp.inf):
        for which in ("x", "y"):
            for i, j in ((0, 0), (39, 2), (7, 1)):
                a, b = (x.at[i, j].set(bad), y) if which == "x" else (x, y.at[i, j].set(bad))
                with raises(ValueError, match="must be finite"):
                    kp.fit(est, a, b)
                with pytest.raises(Exception, match="must be finite"):
                    jax.block_until_ready(fitted(a, b))
    # a dictionary that maps inf to finite features keeps the check on the data
    rbf = kp.EDMD(kp.RadialBasis(jnp.zeros((2, 3)), 1.0), method="gram")
    with raises(ValueError, match="must be finite"):
        kp.fit(rbf, x, y.at[3, 1].set(jnp.inf))


def test_float32_warns():
    with jax.enable_x64(False):
        x = jnp.ones((10, 2), jnp.float32) + jnp.arange(10.0)[:, None]
        with pytest.warns(UserWarning, match="float64"):
            kp.fit(kp.DMD(), x, x * 0.5)


def test_projected_edmd_rank(getkey):
    # on an invariant subspace, rank truncation to the full rank changes nothing; with the
    # leading r right singular vectors the r eigenpairs are those of V_r^* K V_r (both methods)
    a, x0, tr, x, y = _linear_data(getkey())
    d = kp.Monomials.of_degree(2, 2)
    full = kp.fit(kp.EDMD(d), x, y)
    for method in ("qr", "gram"):
        same = kp.fit(kp.EDMD(d, rank=6, method=method), x, y)
        assert spectral_distance(same.eigenvalues, full.eigenvalues) < 1e-8
        assert np.allclose(same.predict(x0[0], 6), tr[0], atol=1e-7)
        cut = kp.fit(kp.EDMD(d, rank=3, method=method), x, y)
        assert cut.eigenvalues.shape == (3,) and cut.eigenvectors.shape == (6, 3)
        # eigenpairs of the N x N (rank-3) matrix
        kv = np.asarray(cut.matrix) @ np.asarray(cut.eigenvectors)
        assert np.allclose(
            kv, np.asarray(cut.eigenvectors) * np.asarray(cut.eigenvalues)[None], atol=1e-9
        )


def test_mpedmd_repeated_eigenvalues_orthonormal():
    # rotation by pi: e^{i k pi} = +-1, heavily repeated; the unitary factor's eigenvectors must
    # still be orthonormal for the spectral measure to sum to ||g||^2
    x = jnp.linspace(0, 2 * np.pi, 64, endpoint=False)[:, None]
    d = kp.Fourier(1, 3)
    mp = kp.fit(kp.MPEDMD(d), x, dy.CircleRotation(np.pi).step(x))
    w = np.asarray(mp.unitary_eigenvectors)
    assert np.allclose(w.conj().T @ w, np.eye(7), atol=1e-12)
    c = np.random.default_rng(0).standard_normal(7) + 0j
    assert np.isclose(float(mp.spectral_measure(c).sum()), float(np.real(c.conj() @ c)), atol=1e-12)
    assert np.allclose(
        np.sort(np.asarray(mp.eigenvalues).real),
        np.sort((-1.0) ** np.abs(np.arange(-3, 4))),
        atol=1e-12,
    )


def test_edmd_gram_method_agrees(getkey):
    a, x0, tr, x, y = _linear_data(getkey())
    d = kp.Monomials.of_degree(2, 2)
    m1, m2 = kp.fit(kp.EDMD(d), x, y), kp.fit(kp.EDMD(d, method="gram"), x, y)
    assert np.allclose(np.sort_complex(m1.eigenvalues), np.sort_complex(m2.eigenvalues), atol=1e-8)
    assert np.allclose(m2.predict(x0[0], 6), tr[0], atol=1e-7)
    with raises(ValueError, match="EDMD: unknown `method` 'svd'"):
        kp.EDMD(d, method="svd")


@pytest.mark.parametrize(
    "estimator",
    [
        kp.DMD(rank=2),
        kp.EDMD(kp.Monomials.of_degree(2, 2)),
        kp.EDMD(kp.Monomials.of_degree(2, 2), rank=4, method="gram"),
        kp.KernelEDMD(kp.polynomial_kernel(2), rank=6),
        kp.KernelEDMD(kp.gaussian_kernel(2.0), rank=5, n_landmarks=10),
        kp.ReducedRank(kp.Monomials.of_degree(2, 1), rank=3),
        kp.MPEDMD(kp.Monomials.of_degree(2, 1)),
        kp.GeneratorEDMD(kp.Monomials.of_degree(2, 2)),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_estimator_jit_vmap(getkey, estimator):
    # one compiled fit, vmapped over two data sets, equals the unbatched compiled fits
    a, x0, tr, x, y = _linear_data(getkey())
    xs, ys = jnp.stack([x, 2 * x]), jnp.stack([y, 2 * y])

    @eqx.filter_jit
    def run(u, v):
        return jnp.sort(jnp.abs(kp.fit(estimator, u, v).eigenvalues))

    batched = jax.vmap(run)(xs, ys)
    for i in range(2):
        assert np.allclose(batched[i], run(xs[i], ys[i]), atol=1e-8)


def test_public_api():
    names = """AbstractDictionary Chebyshev Fourier FunctionDictionary Identity Legendre Monomials
    RadialBasis RandomFourierFeatures TimeDelays features kmeans_centres monomial_exponents eig
    unitary_eig DMD EDMD AbstractEstimator ReducedRank fit GeneratorEDMD generator_from_koopman
    AbstractKernel GaussianKernel PolynomialKernel KernelEDMD KernelFeatures gaussian_kernel
    nystroem_features
    polynomial_kernel AbstractKoopmanModel KoopmanModel GeneratorModel MPEDMD MPEDMDModel
    ResidualData residual_data residuals pseudospectrum spectrum_estimates verified_eigenpairs
    DeepKoopman InformationKoopmanLoss fit_deep_koopman info_nce von_neumann_entropy
    GramMatrices gram_matrices fit_gram blocks_of gram_products""".split()
    assert [n for n in names if not hasattr(kp, n)] == []
    public = {n for n in dir(kp) if not n.startswith("_") and not inspect.ismodule(getattr(kp, n))}
    assert public <= set(names), public - set(names)
