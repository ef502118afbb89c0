"""Every public entry point that claims to be differentiable, against central finite differences
in float64: Koopman `eig` and the estimators built on it (`fit` with DMD, EDMD, ReducedRank,
ResDMD `residuals`), the SSM kernels and discretisations, the PDE operators, and PINN fields
through a physics-informed loss. Where a derivative is not defined (repeated eigenvalues,
`unitary_eig`), differentiating must raise, never return zeros.

The check is directional: `grad f(p) . d` against `(f(p + h d) - f(p - h d)) / 2h` for a few
random unit directions `d`, which costs two evaluations per direction whatever the size of `p`.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxsci import koopman as kp
from jaxsci import pde, pinn, ssm

pytestmark = pytest.mark.x64


def assert_grad_matches_fd(f, p, *, n_dirs=2, h=1e-6, rtol=1e-5, seed=0):
    """`jax.grad(f)` at `p` (a real array) against central differences along random directions."""
    p = jnp.asarray(p, jnp.float64)
    g = np.asarray(jax.grad(f)(p))
    assert np.isfinite(g).all()
    rng = np.random.default_rng(seed)
    scale = 0.0
    for _ in range(n_dirs):
        d = rng.normal(size=p.shape)
        d /= np.linalg.norm(d)
        fd = (float(f(p + h * d)) - float(f(p - h * d))) / (2 * h)
        an = float(np.sum(g * d))
        scale = max(scale, abs(fd))
        assert abs(an - fd) <= rtol * max(abs(fd), 1e-3) + 1e-7, (an, fd)
    assert scale > 1e-6, "degenerate check: the directional derivatives are all ~0"


def _linear_data(seed=0, m=30):
    a = np.array([[0.9, 0.2, 0.0], [-0.1, 0.7, 0.1], [0.05, 0.0, 0.5]])
    x = np.random.default_rng(seed).normal(size=(m, 3))
    return jnp.asarray(x), jnp.asarray(x @ a.T)


def test_dmd_spectrum_gradient_issue_example():
    # the issue's example: used to return all zeros (the host eigensolver cut the gradient)
    x, y = _linear_data()
    f = lambda x: jnp.sum(jnp.abs(kp.fit(kp.DMD(), x, y).eigenvalues))  # noqa: E731
    g = jax.grad(f)(x)
    assert float(jnp.max(jnp.abs(g))) > 1e-4
    assert_grad_matches_fd(f, x)
    assert_grad_matches_fd(lambda y: jnp.sum(jnp.abs(kp.fit(kp.DMD(), x, y).eigenvalues)), y)


def test_eig_eigenvalue_and_eigenvector_derivatives():
    a = jnp.asarray(np.random.default_rng(1).normal(size=(4, 4)))  # two complex pairs

    def f(a):
        lam, v = kp.eig(a)
        weights = jnp.arange(1.0, 5.0)
        return (
            jnp.sum(jnp.real(lam) * weights + jnp.imag(lam) ** 2)
            + jnp.sum(jnp.real(v) * weights[:, None])
            + jnp.sum(jnp.imag(v) * weights[None, :])
        )

    assert_grad_matches_fd(f, a)
    assert_grad_matches_fd(jax.jit(f), a)


def test_eig_complex_input_derivative():
    rng = np.random.default_rng(2)
    re, im = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))

    def f(p):
        lam, v = kp.eig(p + 1j * jnp.asarray(im))
        return jnp.sum(jnp.abs(lam) ** 2) + jnp.sum(jnp.imag(v) ** 3) + jnp.sum(jnp.real(v))

    assert_grad_matches_fd(f, re)


def test_eig_derivative_is_consistent_with_the_normalisation():
    a = jnp.asarray(np.random.default_rng(3).normal(size=(3, 3)))
    lam, v = kp.eig(a)
    np.testing.assert_allclose(np.linalg.norm(v, axis=0), 1, atol=1e-12)
    k = np.argmax(np.abs(v), axis=0)
    pivots = np.asarray(v)[k, np.arange(3)]
    np.testing.assert_allclose(pivots.imag, 0, atol=1e-12)
    assert (pivots.real > 0).all()
    np.testing.assert_allclose(a @ v, v * lam, atol=1e-12)


def test_eig_vmap_of_grad():
    mats = jnp.asarray(np.random.default_rng(4).normal(size=(3, 3, 3)))
    f = lambda a: jnp.sum(jnp.abs(kp.eig(a)[0]))  # noqa: E731
    batched = jax.vmap(jax.grad(f))(mats)
    for i in range(3):
        np.testing.assert_allclose(batched[i], jax.grad(f)(mats[i]), rtol=1e-10, atol=1e-12)


def test_repeated_eigenvalues_raise_instead_of_zeros():
    f = lambda a: jnp.sum(jnp.abs(kp.eig(a)[0]))  # noqa: E731
    with pytest.raises(Exception, match="repeated eigenvalues"):
        jax.grad(f)(jnp.eye(3))
    with pytest.raises(Exception, match="repeated eigenvalues"):
        jax.block_until_ready(jax.jit(jax.grad(f))(jnp.diag(jnp.array([1.0, 2.0, 2.0]))))


def test_unitary_eig_refuses_differentiation():
    f = lambda a: jnp.sum(jnp.real(kp.unitary_eig(a)[0]))  # noqa: E731
    with pytest.raises(TypeError, match="not differentiable"):
        jax.grad(f)(jnp.eye(2))


@pytest.mark.parametrize(
    "estimator",
    [
        kp.EDMD(kp.Monomials.of_degree(2, 2)),
        kp.EDMD(kp.Monomials.of_degree(2, 2), method="gram"),
        kp.ReducedRank(kp.Monomials.of_degree(2, 2), rank=4),
    ],
    ids=["edmd_qr", "edmd_gram", "reduced_rank"],
)
def test_estimator_spectrum_gradients(estimator):
    a = np.array([[0.9, 0.1], [0.0, 0.5]])  # EDMD eigenvalues 1, .9, .5, .81, .45, .25: distinct
    x = jnp.asarray(np.random.default_rng(5).uniform(-1, 1, size=(40, 2)))

    def f(a):
        y = x @ a.T
        model = kp.fit(estimator, x, y)
        return jnp.sum(jnp.real(model.eigenvalues) ** 2) + jnp.sum(jnp.abs(model.modes) ** 2)

    assert_grad_matches_fd(f, a)


def test_resdmd_residuals_gradient():
    x, y = _linear_data(6, m=40)
    xv, yv = _linear_data(7, m=40)
    dictionary = kp.Monomials.of_degree(3, 1)

    def f(y):
        model = kp.fit(kp.EDMD(dictionary), x, y)
        return jnp.sum(kp.residuals(model, kp.residual_data(dictionary, xv, yv + 0.01)))

    assert_grad_matches_fd(f, y)


def test_s4d_kernel_gradient():
    lam, b = ssm.s4d_init("legs", 8, dtype=jnp.float64)
    c = jnp.asarray(np.random.default_rng(8).normal(size=(2, 4)))

    def f(p):
        cc = p[0, :4] + 1j * p[1, :4]
        return jnp.sum(ssm.s4d_kernel(lam, b, cc, jnp.exp(p[0, 4]), 64) ** 2)

    assert_grad_matches_fd(f, jnp.concatenate([c, jnp.full((2, 1), -2.0)], axis=1))


def test_s4_kernel_gradient():
    d = ssm.dplr("legs", 8, dtype=jnp.float64)
    lam, p_low, b = d.eigenvalues, d.low_rank, d.b
    c = jnp.asarray(np.random.default_rng(9).normal(size=(2, lam.shape[0])))

    def f(p):
        ct = ssm.s4_c_tilde(lam, p_low, p[0] + 1j * p[1], 0.1, 32)
        return jnp.sum(ssm.s4_kernel(lam, p_low, b, ct, 0.1, 32) ** 2)

    assert_grad_matches_fd(f, c)


@pytest.mark.parametrize("method", ["zoh", "bilinear"])
def test_discretise_gradient(method):
    a, b = ssm.hippo("legs", 4, dtype=jnp.float64)

    def f(p):
        abar, bbar = ssm.discretise(a, b, jnp.exp(p[0]), method)
        return jnp.sum(abar**2) + jnp.sum(bbar * p[1])

    assert_grad_matches_fd(f, jnp.array([-2.0, 0.7]))


@pytest.mark.parametrize(
    "operator",
    [
        lambda u, x: pde.laplacian(u, x),
        lambda u, x: pde.partial(u, x, 0, order=2),
        lambda u, x: jnp.sum(pde.gradient(u, x) ** 2),
        lambda u, x: pde.time_derivative(u, x),
        lambda u, x: pde.derivative(u, x, (1, 2)),
    ],
    ids=["laplacian", "partial2", "gradient", "time_derivative", "mixed"],
)
def test_pde_operator_gradients(operator):
    x = jnp.array([0.3, -0.4])

    def f(p):
        u = lambda z: jnp.sin(p[0] * z[0]) * jnp.exp(p[1] * z[1]) + p[2] * z[0] ** 2 * z[1] ** 3  # noqa: E731
        return operator(u, x)

    assert_grad_matches_fd(f, jnp.array([1.3, 0.7, 0.5]))


@pytest.mark.parametrize(
    "make",
    [
        lambda k: pinn.MLP(1, width=8, depth=2, key=k),
        lambda k: pinn.MLP(1, width=8, depth=2, embedding=pinn.FourierFeatures(1, 4, key=k), key=k),
    ],
    ids=["mlp", "mlp_fourier"],
)
def test_field_physics_loss_gradient(make):
    problem = pde.poisson_1d()
    field = jax.tree_util.tree_map(
        lambda a: a.astype(jnp.float64) if eqx.is_inexact_array(a) else a,
        make(jax.random.key(0)),
    )
    spec = jax.tree_util.tree_map(eqx.is_inexact_array, field)
    if getattr(field, "embedding", None) is not None:  # fixed Fourier frequencies: not trained
        spec = eqx.tree_at(lambda f: f.embedding.frequencies, spec, replace=False)
    params, static = eqx.partition(field, spec)
    flat, unravel = ravel_pytree(params)
    points = jnp.linspace(-0.9, 0.9, 7)[:, None]

    def f(p):
        u = eqx.combine(unravel(p), static)
        return jnp.mean(problem.residuals(u, points) ** 2)

    assert_grad_matches_fd(f, flat, rtol=1e-4)


def test_host_eigh_values_and_derivatives():
    # the host Hermitian eigensolver behind the Gram fit: numpy's values, and the derivatives of
    # quantities that do not depend on the eigenvectors' signs or phases, against finite
    # differences and against jnp.linalg.eigh's own JVP
    from jaxsci.koopman._eig import eigh

    rng = np.random.default_rng(5)
    b = rng.normal(size=(4, 4))
    a = jnp.asarray(b + b.T + np.diag([0.0, 1.0, 2.0, 3.0]))
    lam, v = eigh(a)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(np.asarray(a)), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(a @ v, v * lam, atol=1e-12)
    np.testing.assert_allclose(v.T @ v, np.eye(4), atol=1e-12)
    weights = jnp.arange(1.0, 5.0)

    def f(a, solver=eigh):
        lam, v = solver(a)  # eigenvalues, and the squared moduli of the eigenvectors
        return jnp.sum(lam * weights) + jnp.sum(jnp.abs(v) ** 2 * weights[:, None] ** 2)

    assert_grad_matches_fd(f, a)
    assert_grad_matches_fd(jax.jit(f), a)
    t = jnp.asarray(rng.normal(size=(4, 4)))
    ours = jax.jvp(f, (a,), (t,))[1]
    theirs = jax.jvp(lambda a: f(a, jnp.linalg.eigh), (a,), (t,))[1]
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    # complex Hermitian input, and a batch under vmap
    c = jnp.asarray(rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3)))
    h = c + jnp.conj(c.T)
    lam_c, v_c = eigh(h)
    np.testing.assert_allclose(h @ v_c, v_c * lam_c, atol=1e-12)
    batch = jnp.stack([a, a + jnp.eye(4)])
    np.testing.assert_allclose(jax.vmap(eigh)(batch)[0][1], lam + 1, rtol=1e-12)
