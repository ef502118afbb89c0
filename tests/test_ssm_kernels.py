"""Discretisation, kernels, FFT convolution and transfer functions: every fast path against the
definition (matrix exponentials from scipy, the naive kernel C Abar^l Bbar, direct convolution),
in float64 and float32 with dtype-dependent tolerances."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from helpers import raises, tol

from jaxsci import ssm


def _random_c(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n) + 1j * rng.standard_normal(n)


def _stable(d):
    # FouT's empty slot is an exact zero eigenvalue: shift the system a little into the left
    # half-plane (S4's code clips real parts to -1e-4) so that I - Abar^L is invertible.
    return d._replace(eigenvalues=d.eigenvalues - 0.05)


@pytest.mark.x64
@pytest.mark.parametrize("method", ssm.METHODS)
def test_dense_discretisation_matches_formulas(method):
    a, b = ssm.hippo("legt", 6)
    dt = 0.03
    abar, bbar = ssm.discretise(a, b, dt, method)
    a_, b_ = np.asarray(a), np.asarray(b)
    if method == "zoh":
        truth_a = scipy.linalg.expm(dt * a_)
        truth_b = np.linalg.solve(a_, (truth_a - np.eye(6)) @ b_)
    else:
        m = np.eye(6) - dt / 2 * a_
        truth_a, truth_b = np.linalg.solve(m, np.eye(6) + dt / 2 * a_), np.linalg.solve(m, dt * b_)
    assert np.allclose(np.asarray(abar), truth_a, atol=1e-12)
    assert np.allclose(np.asarray(bbar), truth_b, atol=1e-12)


@pytest.mark.x64
@pytest.mark.parametrize("method", ssm.METHODS)
def test_diagonal_and_dplr_discretisation_match_dense(method):
    lam, b = ssm.s4d_init("inv", 8)
    dt = jnp.asarray(0.2)
    abar, bbar = ssm.discretise_diagonal(lam, b, dt, method)
    dense_a, dense_b = ssm.discretise(jnp.diag(lam), b, dt, method)
    assert np.allclose(np.asarray(abar), np.diag(np.asarray(dense_a)), atol=1e-13)
    assert np.allclose(np.asarray(bbar), np.asarray(dense_b), atol=1e-13)
    # MIMO input matrix and per-mode steps (S5)
    bm = jnp.ones((4, 3), lam.dtype)
    _, bbar_m = ssm.discretise_diagonal(lam, bm, jnp.linspace(0.1, 0.4, 4), method)
    assert bbar_m.shape == (4, 3)
    # DPLR: the full complex system is the real HiPPO system in the eigenbasis
    d = ssm.dplr("legs", 8)
    abar_f, bbar_f = ssm.discretise_dplr(d.eigenvalues, d.low_rank, d.b, dt, method)
    a, b_real = ssm.hippo("legs", 8)
    abar_r, bbar_r = ssm.discretise(a, b_real, dt, method)
    vf = ssm.conjugate_extend(d.eigenvectors, axis=1)
    assert np.allclose(np.asarray(vf @ abar_f @ vf.conj().T), np.asarray(abar_r), atol=1e-12)
    assert np.allclose(np.asarray(vf @ bbar_f), np.asarray(bbar_r), atol=1e-12)


@pytest.mark.x64
@pytest.mark.parametrize("method", ssm.METHODS)
def test_discretisation_vmap_and_grad(method):
    a, b = ssm.hippo("legs", 5)
    dts = jnp.asarray([0.01, 0.1, 0.5])
    abars, bbars = jax.vmap(lambda dt: ssm.discretise(a, b, dt, method))(dts)
    one = ssm.discretise(a, b, dts[1], method)
    assert np.allclose(np.asarray(abars[1]), np.asarray(one[0]), atol=1e-14)
    # d/dt of ZOH's Abar is A exp(dt A); for bilinear use central differences
    g = jax.jacfwd(lambda dt: ssm.discretise(a, b, dt, method)[0])(0.1)
    h = 1e-6
    fd = (ssm.discretise(a, b, 0.1 + h, method)[0] - ssm.discretise(a, b, 0.1 - h, method)[0]) / (
        2 * h
    )
    assert np.allclose(np.asarray(g), np.asarray(fd), atol=1e-6)
    lam, bd = ssm.s4d_init("lin", 6)
    gd = jax.grad(
        lambda dt: jnp.sum(jnp.abs(ssm.discretise_diagonal(lam, bd, dt, method)[1]) ** 2)
    )(0.1)
    assert np.isfinite(float(gd)) and float(gd) > 0


@pytest.mark.parametrize("measure", ssm.MEASURES)
@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_s4_kernel_equals_naive_kernel(measure, precision):
    with jax.enable_x64(precision == "float64"):
        n, length, dt = 16, 256, 0.03
        d = ssm.dplr(measure, n)
        if measure == "fout":
            d = _stable(d)
        c = jnp.asarray(_random_c(n // 2), d.b.dtype)
        abar, bbar = ssm.discretise_dplr(d.eigenvalues, d.low_rank, d.b, dt, "bilinear")
        naive = ssm.naive_kernel(abar, bbar, ssm.conjugate_extend(c), length)
        c_tilde = ssm.s4_c_tilde(d.eigenvalues, d.low_rank, c, dt, length)
        fast = jax.jit(ssm.s4_kernel, static_argnums=5)(
            d.eigenvalues, d.low_rank, d.b, c_tilde, dt, length
        )
        assert fast.dtype == (jnp.float64 if precision == "float64" else jnp.float32)
        err = float(jnp.max(jnp.abs(fast - naive)) / jnp.max(jnp.abs(naive)))
        assert err < tol(fast.dtype, f32=1e-5, f64=1e-10), err
        # odd length: no Nyquist frequency, same identity
        c_odd = ssm.s4_c_tilde(d.eigenvalues, d.low_rank, c, dt, 101)
        fast_odd = ssm.s4_kernel(d.eigenvalues, d.low_rank, d.b, c_odd, dt, 101)
        assert float(jnp.max(jnp.abs(fast_odd - naive[:101])) / jnp.max(jnp.abs(naive))) < tol(
            fast.dtype, f32=1e-5, f64=1e-10
        )


@pytest.mark.x64
def test_s4_kernel_rank_two_legt_against_real_system():
    # the DPLR kernel is the kernel of the real HiPPO system with C = Re(C_full V_full^*)
    n, length, dt = 10, 64, 0.05
    d = ssm.dplr("legt", n)
    assert d.low_rank.shape == (n // 2, 2)
    c = jnp.asarray(_random_c(n // 2, 3))
    vf = ssm.conjugate_extend(d.eigenvectors, axis=1)
    c_real = (ssm.conjugate_extend(c) @ vf.conj().T).real
    a, b = ssm.hippo("legt", n)
    abar, bbar = ssm.discretise(a, b, dt, "bilinear")
    truth = ssm.naive_kernel(abar, bbar, c_real, length)
    got = ssm.s4_kernel(
        d.eigenvalues,
        d.low_rank,
        d.b,
        ssm.s4_c_tilde(d.eigenvalues, d.low_rank, c, dt, length),
        dt,
        length,
    )
    assert np.allclose(np.asarray(got), np.asarray(truth), atol=1e-11 * float(jnp.abs(truth).max()))
    back = ssm.s4_c_from_tilde(
        d.eigenvalues,
        d.low_rank,
        ssm.s4_c_tilde(d.eigenvalues, d.low_rank, c, dt, length),
        dt,
        length,
    )
    assert np.allclose(np.asarray(back), np.asarray(c), atol=1e-12)


@pytest.mark.parametrize("init", ssm.S4D_INITS)
@pytest.mark.parametrize("method", ssm.METHODS)
def test_s4d_kernel_equals_recurrence(init, method):
    lam, b = ssm.s4d_init(init, 16)
    c = jnp.asarray(_random_c(8, 1), lam.dtype)
    dt, length = 0.02, 300
    fast = jax.jit(ssm.s4d_kernel, static_argnums=(4, 5))(lam, b, c, dt, length, method)
    abar, bbar = ssm.discretise_diagonal(lam, b, dt, method)
    naive = 2 * ssm.naive_kernel(abar, bbar, c, length)  # 2 Re: the conjugate modes
    scale = float(jnp.abs(naive).max())
    assert float(jnp.max(jnp.abs(fast - naive))) < 1e-5 * scale


def test_fft_conv_equals_direct_convolution(getkey):
    u = jax.random.normal(getkey(), (37,))
    k = jax.random.normal(getkey(), (37,))
    y = jax.jit(ssm.fft_conv)(u, k)
    assert np.allclose(np.asarray(y), np.convolve(np.asarray(u), np.asarray(k))[:37], atol=1e-4)
    # a shorter kernel, and vmap over channels
    ks = jax.random.normal(getkey(), (3, 5))
    us = jax.random.normal(getkey(), (3, 20))
    ys = jax.vmap(ssm.fft_conv)(us, ks)
    for i in range(3):
        assert np.allclose(
            np.asarray(ys[i]), np.convolve(np.asarray(us[i]), np.asarray(ks[i]))[:20], atol=1e-5
        )


def test_kernels_vmap_over_channels_and_grad():
    d = ssm.dplr("legs", 8)
    h, length = 3, 64
    dts = jnp.asarray([1e-3, 1e-2, 1e-1])
    cs = jnp.asarray(np.stack([_random_c(4, s) for s in range(h)]), jnp.complex64)
    k = jax.vmap(ssm.s4_kernel, in_axes=(None, None, None, 0, 0, None))(
        d.eigenvalues, d.low_rank, d.b, cs, dts, length
    )
    assert k.shape == (h, length)
    one = ssm.s4_kernel(d.eigenvalues, d.low_rank, d.b, cs[1], dts[1], length)
    assert np.allclose(np.asarray(k[1]), np.asarray(one), atol=1e-6)

    def loss(dt, c):
        return jnp.sum(ssm.s4_kernel(d.eigenvalues, d.low_rank, d.b, c, dt, length) ** 2)

    g_dt, g_c = jax.jit(jax.grad(loss, argnums=(0, 1)))(dts[1], cs[1])
    eps = 1e-3
    fd = (loss(dts[1] * (1 + eps), cs[1]) - loss(dts[1] * (1 - eps), cs[1])) / (2 * eps * dts[1])
    assert np.isclose(float(g_dt), float(fd), rtol=2e-2)
    assert g_c.shape == (4,) and bool(jnp.all(jnp.isfinite(g_c)))
    lam, b = ssm.s4d_init("lin", 8)
    g = jax.grad(lambda dt: ssm.s4d_kernel(lam, b, b, dt, 32).sum())(0.1)
    fd = (
        ssm.s4d_kernel(lam, b, b, 0.1001, 32).sum() - ssm.s4d_kernel(lam, b, b, 0.0999, 32).sum()
    ) / 2e-4
    assert np.isclose(float(g), float(fd), rtol=2e-2)


def test_no_recompilation_across_parameter_values():
    d = ssm.dplr("legs", 8)

    @jax.jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def kernel(c, dt):
        return ssm.s4_kernel(d.eigenvalues, d.low_rank, d.b, c, dt, 32)

    for s in range(3):
        kernel(
            jnp.asarray(_random_c(4, s), jnp.complex64), jnp.asarray(0.01 * (s + 1), jnp.float32)
        )


@pytest.mark.x64
@pytest.mark.parametrize("measure", ssm.MEASURES)
def test_transfer_functions_agree(measure):
    n = 12
    a, b = ssm.hippo(measure, n)
    d = ssm.dplr(measure, n)
    c = jnp.asarray(_random_c(n // 2, 5))
    vf = ssm.conjugate_extend(d.eigenvectors, axis=1)
    c_real = (ssm.conjugate_extend(c) @ vf.conj().T).real
    s = jnp.asarray([0.3 + 0.0j, 1.0 + 2.0j, 0.1 + 40.0j])
    dense = jax.vmap(lambda z: ssm.transfer_function(a, b, c_real, z))(s)
    fast = jax.vmap(lambda z: ssm.transfer_function_dplr(d.eigenvalues, d.low_rank, d.b, c, z))(s)
    assert np.allclose(np.asarray(fast), np.asarray(dense), rtol=1e-10)
    # with the low-rank term dropped, the DPLR formula is the diagonal one
    diag = ssm.transfer_function_diagonal(d.eigenvalues, d.b, c, s[1])
    zero = ssm.transfer_function_dplr(d.eigenvalues, 0 * d.low_rank, d.b, c, s[1])
    assert np.isclose(complex(diag), complex(zero), rtol=1e-12)


@pytest.mark.x64
def test_s4d_legs_transfer_function_approaches_s4_legs():
    # S4D paper, Thm 3: diag(normal part) with B/2 converges to LegS, pointwise in s, at rate 1/N.
    # Compare transfer functions (not kernels, which do not converge pointwise) on a band of
    # low frequencies, for a readout C that has a limit as N grows (the first coefficient).
    freqs = jnp.asarray([0.0, 0.5, 1.0, 2.0, 5.0])
    errs = []
    for n in (16, 32, 64):
        a, b = ssm.hippo("legs", n)
        c = jnp.zeros(n).at[0].set(1.0)
        lam, bd = ssm.s4d_init("legs", n)
        v = ssm.dplr("legs", n).eigenvectors
        cd = c @ v  # C V: the readout in the (halved) eigenbasis
        s4 = jax.vmap(functools.partial(ssm.transfer_function, a, b, c))(1j * freqs + 0.1)
        s4d = jax.vmap(functools.partial(ssm.transfer_function_diagonal, lam, bd, cd))(
            1j * freqs + 0.1
        )
        errs.append(float(jnp.max(jnp.abs(s4d - s4) / jnp.abs(s4))))
    ratios = np.asarray(errs[:-1]) / np.asarray(errs[1:])
    assert np.all(ratios > 1.8), (errs, ratios)  # halves as N doubles
    assert errs[-1] < 0.06  # within 6% at N = 64 (2% at N = 128)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: ssm.discretise(jnp.ones((3, 2)), jnp.ones(3), 0.1),
            ValueError,
            "`a` must be square",
        ),
        (lambda: ssm.discretise(jnp.eye(3), jnp.ones(4), 0.1), ValueError, "`b` must have shape"),
        (
            lambda: ssm.discretise(jnp.eye(3), jnp.ones(3), 0.1, "euler"),
            ValueError,
            "discretise: unknown `method` 'euler'",
        ),
        (
            lambda: ssm.discretise_diagonal(jnp.ones(3), jnp.ones(3), jnp.ones(2)),
            ValueError,
            "`dt` must be a scalar",
        ),
        (
            lambda: ssm.discretise_dplr(jnp.ones(3), jnp.ones((2, 1)), jnp.ones(3), 0.1),
            ValueError,
            "must agree",
        ),
        (
            lambda: ssm.naive_kernel(jnp.eye(3), jnp.ones(3), jnp.ones(2), 5),
            ValueError,
            "`abar` must be",
        ),
        (
            lambda: ssm.naive_kernel(jnp.eye(3), jnp.ones(3), jnp.ones(3), 0),
            ValueError,
            "naive_kernel: `length` must be a positive int, got 0",
        ),
        (
            lambda: ssm.s4d_kernel(jnp.ones(3), jnp.ones(2), jnp.ones(3), 0.1, 8),
            ValueError,
            "must all have shape",
        ),
        (
            lambda: ssm.s4d_kernel(jnp.ones(3), jnp.ones(3), jnp.ones(3), 0.1, 8, "exact"),
            ValueError,
            "s4d_kernel: unknown `method` 'exact'",
        ),
        (
            lambda: ssm.s4_kernel(jnp.ones(3), jnp.ones(3), jnp.ones(3), jnp.ones(3), 0.1, 8),
            ValueError,
            "must agree",
        ),
        (
            lambda: ssm.s4_kernel(
                jnp.ones(3), jnp.ones((3, 1)), jnp.ones(3), jnp.ones(3), 0.1, 8.0
            ),
            TypeError,
            "s4_kernel: `length` must be a positive int, got float 8.0",
        ),
        (lambda: ssm.fft_conv(jnp.ones((3, 2)), jnp.ones(3)), ValueError, "must be 1-d"),
        (lambda: ssm.dplr_dense(jnp.ones(3), jnp.ones(3)), ValueError, "must agree"),
        (
            lambda: ssm.s4_c_tilde(jnp.ones(3), jnp.ones((3, 1)), jnp.ones(2), 0.1, 8),
            ValueError,
            "`c` must",
        ),
        (
            lambda: ssm.s4_c_from_tilde(jnp.ones(3), jnp.ones((3, 1)), jnp.ones(4), 0.1, 8),
            ValueError,
            "`c` must",
        ),
        (
            lambda: ssm.transfer_function(jnp.eye(2), jnp.ones(2), jnp.ones(2), jnp.ones(2)),
            ValueError,
            "`s` must be a scalar",
        ),
        (
            lambda: ssm.transfer_function_diagonal(jnp.ones(2), jnp.ones(3), jnp.ones(2), 1.0),
            ValueError,
            "must all be",
        ),
        (
            lambda: ssm.transfer_function_dplr(
                jnp.ones(2), jnp.ones(2), jnp.ones(2), jnp.ones(2), 1.0
            ),
            ValueError,
            "must agree",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with raises(exc, match):
        call()
