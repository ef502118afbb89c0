"""HiPPO matrices against identities proved in the papers, their NPLR/DPLR forms, and the online
memory (projection of the history onto the measure's basis)."""

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.special
from helpers import raises

from jaxsci import ssm

MEASURES = ssm.MEASURES
memory = jax.jit(ssm.hippo_memory, static_argnums=(0, 1), static_argnames="dt")


@pytest.mark.x64
@pytest.mark.parametrize("n", [1, 5, 32, 64])
def test_legs_eigenvalues_are_minus_one_to_minus_n(n):
    a, b = ssm.hippo("legs", n)
    assert a.dtype == jnp.float64 and b.shape == (n,)
    # lower triangular with diagonal -(k+1): the spectrum is exactly -1..-n
    assert np.array_equal(np.asarray(a), np.tril(np.asarray(a)))
    assert np.array_equal(np.sort(np.diag(np.asarray(a))), -np.arange(n, 0, -1.0))
    # and a general eigensolver agrees (the eigenvectors are terribly conditioned, the
    # eigenvalues of a triangular matrix are not)
    ev = np.sort(scipy.linalg.eigvals(np.asarray(a)).real)
    assert np.allclose(ev, -np.arange(n, 0, -1.0), atol=1e-8 * n)


@pytest.mark.x64
@pytest.mark.parametrize("t", [0.05, 0.4, 1.0, 2.5, 6.0])
def test_legs_impulse_response_is_scaled_legendre(t):
    n = 24
    a, b = ssm.hippo("legs", n)
    k = np.arange(n)
    truth = np.sqrt(2 * k + 1) * scipy.special.eval_legendre(k, 2 * np.exp(-t) - 1) * np.exp(-t)
    got = scipy.linalg.expm(t * np.asarray(a)) @ np.asarray(b)
    assert np.allclose(got, truth, atol=1e-12, rtol=1e-10)
    # the same from the S4 machinery: the ZOH-discretised system's state after one step of t
    abar, bbar = ssm.discretise(a, jnp.zeros(n), t, "zoh")
    assert np.allclose(np.asarray(abar) @ np.asarray(b), truth, atol=1e-11)


@pytest.mark.x64
@pytest.mark.parametrize("measure", MEASURES)
def test_nplr_reconstructs_hippo(measure):
    n = 16
    a, b = ssm.hippo(measure, n)
    f = ssm.nplr(measure, n)
    v = np.asarray(f.eigenvectors)
    assert np.allclose(v.conj().T @ v, np.eye(n), atol=1e-13)  # unitary
    rebuilt = (v * np.asarray(f.eigenvalues)) @ v.conj().T - np.asarray(f.low_rank @ f.low_rank.T)
    assert np.allclose(rebuilt, np.asarray(a), atol=1e-12 * n)
    assert np.array_equal(np.asarray(f.b), np.asarray(b))
    # the normal part A + P P^T really is normal
    s = np.asarray(a + f.low_rank @ f.low_rank.T)
    assert np.allclose(s @ s.T, s.T @ s, atol=1e-10)
    # conjugate pairs: second half of the spectrum is the conjugate of the first
    w = np.asarray(f.eigenvalues)
    assert np.allclose(w[n // 2 :], w[: n // 2].conj(), atol=0)


@pytest.mark.x64
@pytest.mark.parametrize("measure", MEASURES)
def test_dplr_is_hippo_in_the_eigenbasis(measure):
    n = 12
    a, b = ssm.hippo(measure, n)
    d = ssm.dplr(measure, n)
    assert d.eigenvalues.shape == (n // 2,) and d.low_rank.shape[0] == n // 2
    vf = ssm.conjugate_extend(d.eigenvectors, axis=1)
    full = np.asarray(vf @ ssm.dplr_dense(d.eigenvalues, d.low_rank) @ vf.conj().T)
    assert np.abs(full.imag).max() < 1e-12
    assert np.allclose(full.real, np.asarray(a), atol=1e-11)
    assert np.allclose(np.asarray(vf @ ssm.conjugate_extend(d.b)).real, np.asarray(b), atol=1e-12)


def test_float32_construction_is_rounded_float64():
    a32, b32 = ssm.hippo("legs", 64)
    assert a32.dtype == jnp.float32
    # built in float64 and rounded once: exact integers on the diagonal
    assert np.array_equal(np.diag(np.asarray(a32)), -np.arange(1, 65, dtype=np.float32))
    d = ssm.dplr("legs", 64)
    assert d.eigenvalues.dtype == jnp.complex64
    assert np.allclose(np.asarray(d.eigenvalues).real, -0.5, atol=1e-6)


@pytest.mark.x64
def test_legs_memory_error_falls_with_n():
    # online projection of a smooth signal onto scaled Legendre polynomials (HiPPO-LegS)
    length = 2000
    f = lambda s: np.sin(4 * s) + 0.5 * s * np.cos(9 * s)
    u = jnp.asarray(f(np.arange(1, length + 1) / length))
    xs = np.linspace(0.01, 1.0, 200)
    errors = []
    for n in (4, 8, 16):
        state = memory("legs", n, u)[-1]
        basis = jax.vmap(functools.partial(ssm.hippo_basis, "legs", n))(jnp.asarray(xs))
        errors.append(float(np.max(np.abs(np.asarray(basis @ state) - f(xs)))))
    assert errors[1] < errors[0] / 5 and errors[2] < errors[1] / 5  # spectral decay in n
    assert errors[2] < 1e-4
    # mid-stream: the state after half the samples reconstructs the first half of the signal
    state = memory("legs", 16, u)[length // 2 - 1]
    basis = jax.vmap(lambda x: ssm.hippo_basis("legs", 16, x))(jnp.asarray(xs))
    assert np.max(np.abs(np.asarray(basis @ state) - f(xs / 2))) < 1e-4


@pytest.mark.x64
@pytest.mark.parametrize(
    "measure,tol8,tol32", [("legt", 2e-4, 1e-5), ("fout", 0.15, 0.04), ("lagt", 0.1, 1e-3)]
)
def test_translated_memories_reconstruct_their_window(measure, tol8, tol32):
    dt = 1e-3
    g = lambda t: (
        np.sin(0.7 * t) + 0.3 * np.cos(1.3 * t)
        if measure == "lagt"
        else np.sin(2 * t) + 0.3 * np.cos(5 * t)
    )
    steps = 20000 if measure == "lagt" else 3000
    u = jnp.asarray(g((np.arange(steps) + 0.5) * dt))  # midpoint samples for the ZOH recurrence
    end = steps * dt
    if measure == "lagt":  # the basis is in the age t - s
        xs = np.linspace(0, 2, 101)
        truth = g(end - xs)
    else:  # unit window [t - 1, t]; the Fourier series is only good away from the jump
        xs = np.linspace(0.1, 0.9, 101)
        truth = g(end - 1 + xs)
    errs = []
    for n in (8, 32):
        state = memory(measure, n, u, dt=dt)[-1]
        basis = jax.vmap(functools.partial(ssm.hippo_basis, measure, n))(jnp.asarray(xs))
        errs.append(float(np.max(np.abs(np.asarray(basis @ state) - truth))))
    assert errs[0] < tol8 and errs[1] < tol32 and errs[1] < errs[0]


def test_hippo_basis_vmap_jit_and_dtype():
    xs = jnp.linspace(0, 1, 7)
    f = jax.jit(jax.vmap(lambda x: ssm.hippo_basis("legs", 5, x)))
    out = f(xs)
    assert out.shape == (7, 5) and out.dtype == jnp.float32
    k = np.arange(5)
    truth = np.sqrt(2 * k + 1) * scipy.special.eval_legendre(
        k[None], 2 * np.asarray(xs)[:, None] - 1
    )
    assert np.allclose(np.asarray(out), truth, atol=1e-5)
    lag = jax.vmap(lambda x: ssm.hippo_basis("lagt", 6, x))(xs)
    assert np.allclose(
        np.asarray(lag),
        scipy.special.eval_laguerre(np.arange(6)[None], np.asarray(xs)[:, None]),
        atol=1e-5,
    )


def test_hippo_in_jit_and_memory_grad_and_vmap():
    a, b = jax.jit(lambda: ssm.hippo("legt", 6))()
    assert a.shape == (6, 6)
    u = jnp.sin(jnp.linspace(0, 3, 50))
    g = jax.jit(jax.grad(lambda u: ssm.hippo_memory("legs", 4, u)[-1, 0]))(u)
    # c_0 of LegS is the running mean: its gradient is positive and sums to 1
    assert np.isclose(float(g.sum()), 1.0, atol=1e-5) and bool(jnp.all(g > 0))
    batch = jax.jit(jax.vmap(lambda u: ssm.hippo_memory("fout", 4, u, dt=0.01)))(jnp.stack([u, -u]))
    assert np.allclose(np.asarray(batch[0]), -np.asarray(batch[1]))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: ssm.hippo("legx", 4),
            ValueError,
            r"hippo: unknown `measure` 'legx'; expected one of",
        ),
        (lambda: ssm.hippo("legs", 0), ValueError, "hippo: `n` must be a positive int, got 0"),
        (lambda: ssm.hippo("legs", True), TypeError, "hippo: `n` must be a positive int, got bool"),
        (
            lambda: ssm.hippo("legs", 4.0),
            TypeError,
            "hippo: `n` must be a positive int, got float 4.0",
        ),
        (
            lambda: ssm.hippo("legs", 4, dtype=jnp.int32),
            TypeError,
            "`dtype` must be a real floating",
        ),
        (lambda: ssm.nplr("legs", 5), ValueError, "nplr: `n` must be even"),
        (lambda: ssm.nplr("legs", "6"), TypeError, "nplr: `n` must be a positive int, got str"),
        (lambda: ssm.dplr("fout", 7), ValueError, "dplr: `n` must be even"),
        (
            lambda: ssm.hippo_low_rank("nope", 4),
            ValueError,
            "hippo_low_rank: unknown `measure` 'nope'",
        ),
        (lambda: ssm.hippo_basis("legs", 4, jnp.ones(3)), ValueError, "`x` must be a scalar"),
        (
            lambda: ssm.hippo_memory("legs", 4, jnp.ones((3, 2))),
            ValueError,
            "`u` must be one sequence",
        ),
        (lambda: ssm.hippo_memory("legt", 4, jnp.ones(3)), ValueError, "`dt` is required"),
    ],
)
def test_bad_input(call, exc, match):
    with raises(exc, match):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
