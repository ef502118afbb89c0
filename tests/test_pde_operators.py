import equinox as eqx
import jax
import jax.numpy as jnp
import pytest
from helpers import raises

from jaxsci import pde


def u2(x):
    return jnp.sin(2.0 * x[0]) * jnp.exp(0.5 * x[1])


X = jnp.array([0.3, -0.7])


@pytest.mark.x64
def test_derivatives_match_closed_forms():
    x = jnp.array([0.3, -0.7])
    s, c, e = jnp.sin(0.6), jnp.cos(0.6), jnp.exp(-0.35)
    assert jnp.allclose(pde.partial(u2, x, 0), 2 * c * e, rtol=1e-12)
    assert jnp.allclose(pde.partial(u2, x, 0, 3), -8 * c * e, rtol=1e-12)
    assert jnp.allclose(pde.derivative(u2, x, (2, 1)), -4 * s * 0.5 * e, rtol=1e-12)
    assert jnp.allclose(pde.derivative(u2, x, (0, 0)), s * e, rtol=1e-12)
    assert jnp.allclose(pde.time_derivative(u2, x, 2), 0.25 * s * e, rtol=1e-12)
    assert jnp.allclose(pde.gradient(u2, x), jnp.array([2 * c * e, 0.5 * s * e]), rtol=1e-12)
    assert jnp.allclose(pde.laplacian(u2, x), (-4 + 0.25) * s * e, rtol=1e-12)
    assert jnp.allclose(pde.laplacian(u2, x, axes=(0,)), -4 * s * e, rtol=1e-12)
    v = jnp.array([1.5, -3.0])
    expected = 1.5 * 2 * c * e - 3.0 * 0.5 * s * e
    assert jnp.allclose(pde.directional_derivative(u2, x, v), expected, rtol=1e-12)


@pytest.mark.x64
def test_laplacian_equals_hessian_trace():
    u = lambda x: jnp.tanh(x @ jnp.array([1.0, -2.0, 0.5])) * jnp.cos(x[2])
    x = jnp.array([0.1, 0.2, -0.4])
    assert jnp.allclose(pde.laplacian(u, x), jnp.trace(jax.hessian(u)(x)), rtol=1e-12)


def test_operators_jit_vmap_grad():
    pts = jnp.stack([X, X + 0.1, X - 0.2])
    lap = jax.jit(jax.vmap(lambda x: pde.laplacian(u2, x)))(pts)
    assert lap.shape == (3,)
    ref = jnp.stack([pde.laplacian(u2, x) for x in pts])
    assert jnp.allclose(lap, ref, rtol=1e-6)

    # grad of a residual loss with respect to a parameter of the field
    def loss(a):
        return jnp.sum(jax.vmap(lambda x: pde.laplacian(lambda y: a * u2(y), x))(pts) ** 2)

    g = jax.grad(loss)(2.0)
    assert jnp.allclose(g, 2 * 2.0 * jnp.sum(ref**2), rtol=1e-5)


@pytest.mark.x64
def test_linear_operator_is_inspectable_and_callable():
    helm = pde.LinearOperator.laplacian(2) + pde.LinearOperator.identity(2, 3.0)
    assert helm.orders == ((2, 0), (0, 2), (0, 0))
    assert jnp.allclose(helm.coefficients, jnp.array([1.0, 1.0, 3.0]))
    x = jnp.array([0.3, -0.7])
    assert jnp.allclose(helm(u2, x), pde.laplacian(u2, x) + 3 * u2(x), rtol=1e-12)
    adv = 2.0 * pde.LinearOperator.partial(2, 1) - pde.LinearOperator.partial(2, 0, 2)
    assert jnp.allclose(
        adv(u2, x), 2 * pde.partial(u2, x, 1) - pde.partial(u2, x, 0, 2), rtol=1e-12
    )
    # jit and grad through the coefficients
    f = eqx.filter_jit(lambda op: op(u2, x))
    assert jnp.allclose(f(helm), helm(u2, x))
    g = jax.grad(lambda c: pde.LinearOperator([(0, 0)], c)(u2, x))(jnp.array([1.0]))
    assert jnp.allclose(g, u2(x))


def test_bad_input():
    with raises(ValueError, "one point"):
        pde.laplacian(u2, jnp.zeros((4, 2)))
    with raises(ValueError, "axes"):
        pde.laplacian(u2, X, axes=(2,))  # out of range (an array index would clamp silently)
    with raises(ValueError, "axes"):
        pde.laplacian(u2, X, axes=())
    with raises(ValueError, "orders"):
        pde.derivative(u2, X, (1,))
    with raises(ValueError, "axis"):
        pde.partial(u2, X, 5)
    with raises(ValueError, "direction"):
        pde.directional_derivative(u2, X, jnp.ones(3))
    with raises(ValueError, "coefficients"):
        pde.LinearOperator([(2, 0)], jnp.ones(2))
    with raises(ValueError, "dim 2"):
        pde.LinearOperator.laplacian(2)(u2, jnp.zeros(3))
