"""S5 scans (parallel = sequential = an explicit NumPy loop), initialisations against their
published formulas, and perturb-then-diagonalise (PTD)."""

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from helpers import raises

from jaxsci import ssm
from jaxsci.ssm._ptd import _condition_and_gradient


def _loop(abar, bu):
    x, out = np.zeros(bu.shape[1], complex), []
    for k in range(bu.shape[0]):
        x = (abar[k] if abar.ndim == 2 else abar) * x + bu[k]
        out.append(x.copy())
    return np.asarray(out)


def test_parallel_scan_equals_sequential_scan(getkey):
    lam, _ = ssm.s4d_init("inv", 16)
    abar = jnp.exp(0.05 * lam)
    bu = jr.normal(getkey(), (257, 8)) + 1j * jr.normal(getkey(), (257, 8))
    par = jax.jit(ssm.parallel_scan)(abar, bu)
    seq = jax.jit(ssm.sequential_scan)(abar, bu)
    truth = _loop(np.asarray(abar), np.asarray(bu))
    assert np.allclose(np.asarray(par), truth, atol=1e-4)
    assert np.allclose(np.asarray(seq), truth, atol=1e-4)
    # time-varying transition (one per step)
    a_t = jnp.exp(0.05 * lam[None] * jnp.linspace(0.5, 1.5, 257)[:, None])
    assert np.allclose(
        np.asarray(ssm.parallel_scan(a_t, bu)), _loop(np.asarray(a_t), np.asarray(bu)), atol=1e-4
    )


def test_s5_ssm_matches_explicit_recurrence_and_scans_agree(getkey):
    h, p, length = 3, 8, 64
    lam, v = ssm.s5_hippo_n(p, 2)
    b = v.conj().T @ jr.normal(getkey(), (p, h))
    c = jr.normal(getkey(), (h, p)) @ v
    d = jr.normal(getkey(), (h,))
    dt = jnp.linspace(0.01, 0.1, p // 2)
    u = jr.normal(getkey(), (length, h))
    y_par = ssm.s5_ssm(lam, b, c, d, dt, u)
    y_seq = ssm.s5_ssm(lam, b, c, d, dt, u, scan="sequential")
    abar, bbar = ssm.discretise_diagonal(lam, b, dt, "zoh")
    xs = _loop(np.asarray(abar), np.asarray(u) @ np.asarray(bbar).T)
    truth = 2 * np.real(xs @ np.asarray(c).T) + np.asarray(u) * np.asarray(d)
    assert np.allclose(np.asarray(y_par), truth, atol=1e-4)
    assert np.allclose(np.asarray(y_seq), np.asarray(y_par), atol=1e-5)
    # a batch by vmap, and gradients through the parallel scan equal those through the loop
    ys = jax.vmap(lambda u: ssm.s5_ssm(lam, b, c, d, dt, u))(jnp.stack([u, 2 * u]))
    assert np.allclose(np.asarray(ys[1] - ys[0]), np.asarray(y_par), atol=1e-4)

    def loss(dt, scan):
        return jnp.sum(ssm.s5_ssm(lam, b, c, d, dt, u, scan=scan) ** 2)

    g_par = jax.jit(jax.grad(loss), static_argnums=1)(dt, "parallel")
    g_seq = jax.jit(jax.grad(loss), static_argnums=1)(dt, "sequential")
    assert np.allclose(np.asarray(g_par), np.asarray(g_seq), rtol=1e-3, atol=1e-3)


def test_scan_no_retrace(getkey):
    @jax.jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(abar, bu):
        return ssm.parallel_scan(abar, bu)

    for _ in range(3):
        run(jr.uniform(getkey(), (4,)), jr.normal(getkey(), (10, 4)))


@pytest.mark.x64
def test_s4d_inits_follow_the_papers_formulas():
    n = 16
    k = np.arange(n // 2)
    lam, b = ssm.s4d_init("inv", n)
    assert np.allclose(np.asarray(lam), -0.5 + 1j * n / np.pi * (n / (2 * k + 1) - 1))
    lam, b = ssm.s4d_init("lin", n)
    assert np.allclose(np.asarray(lam), -0.5 + 1j * np.pi * k) and np.allclose(np.asarray(b), 1)
    lam, _ = ssm.s4d_init("real", n)
    assert np.allclose(np.asarray(lam), -(k + 1))
    # LegS: the normal part's spectrum, which is -1/2 + i omega with omega the eigenvalues of the
    # skew part; B = V^* B / 2
    lam, b = ssm.s4d_init("legs", n)
    a, b_legs = ssm.hippo("legs", n)
    p = ssm.hippo_low_rank("legs", n)
    skew = np.asarray(a + p @ p.T) + 0.5 * np.eye(n)
    omega = np.sort(np.linalg.eigvals(skew).imag)
    assert np.allclose(np.asarray(lam).real, -0.5)
    assert np.allclose(np.sort(np.concatenate([lam.imag, -lam.imag])), omega, atol=1e-10)
    v = ssm.dplr("legs", n).eigenvectors
    assert np.allclose(np.asarray(b), np.asarray(v.conj().T @ b_legs) / 2)


def test_log_uniform_timescales(getkey):
    dt = jax.jit(lambda k: ssm.log_uniform_timescales((20000,), key=k))(getkey())
    assert dt.dtype == jnp.float32
    assert float(dt.min()) >= 1e-3 and float(dt.max()) <= 1e-1
    logs = np.log10(np.asarray(dt))
    # uniform in log10 on [-3, -1]: mean -2, quartiles -2.5 and -1.5
    assert abs(logs.mean() + 2) < 0.02 and np.allclose(
        np.quantile(logs, [0.25, 0.75]), [-2.5, -1.5], atol=0.03
    )
    batch = jax.vmap(lambda k: ssm.log_uniform_timescales((3,), key=k, dt_min=0.5, dt_max=0.5))(
        jr.split(getkey(), 4)
    )
    assert np.allclose(np.asarray(batch), 0.5)


@pytest.mark.x64
def test_s5_hippo_n_is_block_diagonal_and_unitary():
    lam, v = ssm.s5_hippo_n(16, 4)
    assert lam.shape == (8,) and v.shape == (16, 8)
    vf = np.asarray(ssm.conjugate_extend(v, axis=1))
    assert np.allclose(vf.conj().T @ vf, np.eye(16), atol=1e-12)
    block_a, _ = ssm.hippo("legs", 4)
    block_p = ssm.hippo_low_rank("legs", 4)
    normal = np.kron(np.eye(4), np.asarray(block_a + block_p @ block_p.T))
    rebuilt = (vf * np.asarray(ssm.conjugate_extend(lam))) @ vf.conj().T
    assert np.allclose(rebuilt, normal, atol=1e-12)


@pytest.mark.x64
def test_condition_number_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    a = np.asarray(ssm.hippo("legs", 8)[0]) + 1e-2 * rng.standard_normal((8, 8))
    kappa, grad = _condition_and_gradient(a)
    direction = rng.standard_normal((8, 8))  # central differences: error O(h^2)
    h = 1e-7
    fd = (
        _condition_and_gradient(a + h * direction)[0]
        - _condition_and_gradient(a - h * direction)[0]
    ) / (2 * h)
    assert np.isclose(np.sum(grad * direction), fd, rtol=1e-6)
    v = np.linalg.eig(a)[1]
    v = v / np.linalg.norm(v, axis=0)
    assert np.isclose(kappa, np.linalg.norm(v) * np.linalg.norm(np.linalg.inv(v)))


def test_ptd_legs_is_well_conditioned_small_and_stable(getkey):
    n = 32
    a, b = ssm.hippo("legs", n, dtype=np.float32)
    a64 = np.asarray(a, np.float64)  # LegS is exact in float32 up to the square roots' rounding
    v_legs = np.linalg.eig(a64)[1]
    cond_legs = np.linalg.cond(v_legs / np.linalg.norm(v_legs, axis=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = ssm.perturb_then_diagonalise(a64, key=getkey(), steps=100)
    lam, v, w = (
        np.asarray(x, np.complex128)
        for x in (r.eigenvalues, r.eigenvectors, r.inverse_eigenvectors)
    )
    # the returned factors diagonalise A + E exactly (to the rounding of the complex64 output)
    e = np.asarray(r.perturbation, np.float64)
    assert np.allclose((v * lam) @ w, a64 + e, atol=1e-3)
    assert np.allclose(w @ v, np.eye(n), atol=1e-3)
    assert np.isclose(
        r.relative_perturbation, np.linalg.norm(e, 2) / np.linalg.norm(a64, 2), rtol=1e-4
    )
    assert r.relative_perturbation < 1e-3
    assert cond_legs > 1e8 and r.condition_number < 1e4
    assert np.all(lam.real < 0)
    # eigenvalues of a real matrix: conjugate pairs; the halved system has the same kernel
    lh, vh, wh = r.halved()
    c = np.random.default_rng(1).standard_normal(n)
    bt, ct = np.asarray(wh) @ np.asarray(b), c @ np.asarray(vh)
    k_half = ssm.s4d_kernel(lh, jnp.asarray(bt), jnp.asarray(ct), 0.01, 200)
    abar, bbar = ssm.discretise(jnp.asarray(a64 + e, jnp.float32), b, 0.01, "zoh")
    k_dense = ssm.naive_kernel(abar, bbar, jnp.asarray(c, jnp.float32), 200)
    assert np.allclose(
        np.asarray(k_half), np.asarray(k_dense), atol=2e-3 * float(jnp.abs(k_dense).max())
    )


def test_ptd_inits_and_warnings(getkey):
    lam, b = ssm.s4_ptd_init(16, key=getkey(), steps=20)
    assert lam.ndim == 1 and lam.shape == b.shape and lam.shape[0] >= 8
    assert bool(jnp.all(lam.real < 0))
    lam, v, w = ssm.s5_ptd_init(16, 2, key=getkey(), steps=20)
    assert v.shape == (16, lam.shape[0]) and w.shape == (lam.shape[0], 16)
    assert np.allclose(np.asarray(v)[8:, : lam.shape[0] // 2 - 1], 0)  # block structure
    a32 = ssm.hippo("legs", 8)[0]
    with pytest.warns(UserWarning, match="needs the matrix in float64"):
        ssm.perturb_then_diagonalise(a32, key=getkey(), steps=2)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: ssm.parallel_scan(jnp.ones(3), jnp.ones(3)), ValueError, "`bu` must have shape"),
        (
            lambda: ssm.sequential_scan(jnp.ones(2), jnp.ones((4, 3))),
            ValueError,
            "`abar` must have shape",
        ),
        (
            lambda: ssm.s5_ssm(
                jnp.ones(2),
                jnp.ones((2, 3)),
                jnp.ones((3, 2)),
                jnp.ones(3),
                0.1,
                jnp.ones((5, 3)),
                scan="fast",
            ),
            ValueError,
            "s5_ssm: unknown `scan` 'fast'",
        ),
        (
            lambda: ssm.s5_ssm(
                jnp.ones(2), jnp.ones((2, 3)), jnp.ones((3, 2)), jnp.ones(3), 0.1, jnp.ones((5, 4))
            ),
            ValueError,
            "`u` must have shape",
        ),
        (
            lambda: ssm.s5_ssm(
                jnp.ones(2), jnp.ones((2, 3)), jnp.ones((2, 2)), jnp.ones(3), 0.1, jnp.ones((5, 3))
            ),
            ValueError,
            "`c` must be",
        ),
        (lambda: ssm.s4d_init("hippo", 8), ValueError, "s4d_init: unknown `name` 'hippo'"),
        (lambda: ssm.s4d_init("lin", 7), ValueError, "s4d_init: `n` must be even"),
        (
            lambda: ssm.log_uniform_timescales((3,), key=jr.key(0), dt_min=0.1, dt_max=0.01),
            ValueError,
            "dt_min <= dt_max",
        ),
        (
            lambda: ssm.s5_hippo_n(12, 4),
            ValueError,
            r"s5_hippo_n: `state_size` \(12\) must be a multiple",
        ),
        (lambda: ssm.s5_hippo_n(12, 0), ValueError, "s5_hippo_n: `blocks` must be a positive int"),
        (
            lambda: ssm.s5_hippo_n(12.0),
            TypeError,
            "s5_hippo_n: `state_size` must be a positive int",
        ),
        (
            lambda: ssm.perturb_then_diagonalise(np.ones((3, 2)), key=jr.key(0)),
            ValueError,
            "real square matrix",
        ),
        (
            lambda: jax.jit(lambda a: ssm.perturb_then_diagonalise(a, key=jr.key(0)))(jnp.eye(2)),
            TypeError,
            "outside jit",
        ),
        (
            lambda: ssm.s5_ptd_init(10, 2, key=jr.key(0)),
            ValueError,
            r"s5_ptd_init: `state_size` \(10\) must be a multiple",
        ),
        (lambda: ssm.s4_ptd_init(9, key=jr.key(0)), ValueError, "s4_ptd_init: `n` must be even"),
    ],
)
def test_bad_input(call, exc, match):
    with raises(exc, match):
        call()
