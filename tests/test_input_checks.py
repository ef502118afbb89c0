"""Bad input that used to be accepted or to crash deep inside JAX now fails early, naming the
argument and what was expected (issue 14)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import koopman as kp
from jaxsci import pde, ssm

DOMAIN = pde.Interval(0.0, 1.0)


def _residual(u, x, params):
    return pde.laplacian(u, x) + 1.0


def test_residual_not_callable():
    with pytest.raises(
        TypeError, match=r"`residual` must be a function `residual\(u, x, params\)`"
    ):
        pde.Problem(DOMAIN, 3.0)


def test_residual_wrong_signature_named_at_construction():
    with pytest.raises(
        TypeError, match=r"`residual` must take three arguments.*residual\(u, x, params\)"
    ):
        pde.Problem(DOMAIN, lambda u, x: pde.laplacian(u, x))


def test_residual_flexible_signatures_accepted():
    pde.Problem(DOMAIN, _residual)
    pde.Problem(DOMAIN, lambda *args: 0.0)
    pde.Problem(DOMAIN, lambda u, x, params=None, scale=1.0: 0.0)


def test_single_condition_is_wrapped():
    p = pde.Problem(DOMAIN, _residual, conditions=pde.Dirichlet(0.0))
    assert isinstance(p.conditions, tuple) and len(p.conditions) == 1
    assert isinstance(p.conditions[0], pde.Dirichlet)


def test_conditions_not_a_sequence():
    with pytest.raises(TypeError, match="`conditions` must be a condition or a sequence"):
        pde.Problem(DOMAIN, _residual, conditions=3.0)


@pytest.mark.parametrize("cls", [kp.Legendre, kp.Chebyshev])
def test_polynomial_dictionary_bounds(cls):
    with pytest.raises(ValueError, match="`lower` < `upper`"):
        cls(jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0]), degree=2)
    with pytest.raises(ValueError, match="`lower` < `upper`"):
        cls(jnp.array([0.0]), jnp.array([0.0]), degree=2)
    cls(jnp.array([0.0, -1.0]), jnp.array([1.0, 1.0]), degree=2)  # fine


def test_hippo_size_zero_is_a_value_error():
    with pytest.raises(ValueError, match="`n` must be a positive int"):
        ssm.hippo("legs", 0)
    with pytest.raises(TypeError, match="`n` must be a positive int"):
        ssm.hippo("legs", 2.5)


@pytest.mark.parametrize(
    ("dtype", "expected"), [("complex128", "complex128"), ("complex64", "complex64")]
)
def test_s4d_init_accepts_complex_dtype(dtype, expected, x64):
    lam, b = ssm.s4d_init("legs", 8, dtype=jnp.dtype(dtype))
    assert lam.dtype == jnp.dtype(expected) and b.dtype == jnp.dtype(expected)
    ref, _ = ssm.s4d_init("legs", 8, dtype=jnp.float64 if expected == "complex128" else jnp.float32)
    np.testing.assert_array_equal(lam, ref)


def test_nan_inside_jit_fit_names_the_problem(x64):
    x = jnp.asarray(np.random.default_rng(0).normal(size=(20, 3))).at[3, 1].set(jnp.nan)
    with pytest.raises(Exception) as info:
        jax.block_until_ready(jax.jit(kp.fit)(kp.DMD(), x, 0.9 * x))
    text = str(info.value)
    assert "must be finite (found NaN or inf)" in text
    assert "LinAlgError" not in text


def test_nan_reaching_eig_inside_jit_names_the_problem(x64):
    a = jnp.eye(3).at[0, 1].set(jnp.nan)
    with pytest.raises(Exception) as info:
        jax.block_until_ready(jax.jit(kp.eig)(a))
    text = str(info.value)
    assert "`matrix` has NaN or inf entries" in text
    assert "LinAlgError" not in text
