"""Bad input that used to be accepted or to crash deep inside JAX now fails early, naming the
argument and what was expected (issue 14)."""

import re

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from jaxsci import dynamics as dy
from jaxsci import koopman as kp
from jaxsci import pde, pinn, ssm

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


def _field(x):
    return -0.5 * x[0] ** 2 + 3.0 * x[0]  # u'' = -1, so `_residual` vanishes on it


@pytest.mark.parametrize(
    ("residual", "expected"),
    [
        (_residual, lambda u, x: 0.0 * x[:, 0]),
        # `*args` and extra defaulted parameters are fine as long as (u, x, params) binds; the
        # solver passes exactly those three, in that order, and leaves the defaults alone
        (lambda *args: args[2]["a"] * args[0](args[1]), lambda u, x: 2.0 * jax.vmap(u)(x)),
        (
            lambda u, x, params=None, scale=1.0: scale * u(x) + params["a"],
            lambda u, x: jax.vmap(u)(x) + 2.0,
        ),
    ],
)
def test_residual_flexible_signatures_accepted(residual, expected):
    """A residual whose signature binds `(u, x, params)` is accepted, kept as given, and called
    by the problem with the field, one point and the problem's params."""
    problem = pde.Problem(DOMAIN, residual, params={"a": 2.0})
    assert problem.residual is residual
    x = jnp.linspace(0.0, 1.0, 5)[:, None]
    np.testing.assert_allclose(problem.residuals(_field, x), expected(_field, x), atol=1e-12)


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
    with pytest.raises(ValueError, match=f"{cls.__name__}: `degree` must be a non-negative int"):
        cls(jnp.array([0.0]), jnp.array([1.0]), degree=-1)
    with pytest.raises(TypeError, match=f"{cls.__name__}: `degree` must be a non-negative int"):
        cls(jnp.array([0.0]), jnp.array([1.0]), degree=2.0)


def test_hippo_size_zero_is_a_value_error():
    with pytest.raises(ValueError, match="hippo: `n` must be a positive int, got 0"):
        ssm.hippo("legs", 0)
    with pytest.raises(TypeError, match="hippo: `n` must be a positive int, got float 2.5"):
        ssm.hippo("legs", 2.5)


_KEY = jr.key(0)
_DATA = jnp.ones((2, 3))
# (function named in the message, argument, call with that argument set to `v`): one positive
# count per family and kind of object (function, constructor, `__check_init__`)
_POSITIVE_COUNTS = [
    ("hippo", "n", lambda v: ssm.hippo("legs", v)),
    ("S4D", "hidden", lambda v: ssm.S4D(v, 8, key=_KEY)),
    ("naive_kernel", "length", lambda v: ssm.naive_kernel(jnp.eye(2), jnp.ones(2), jnp.ones(2), v)),
    ("copying_batch", "gap", lambda v: ssm.copying_batch(_KEY, 2, v)),
    ("sample", "n", lambda v: DOMAIN.sample(_KEY, v)),
    ("grid", "shape", lambda v: DOMAIN.grid((v,))),
    ("infinite_well", "level", lambda v: pde.infinite_well(level=v)),
    ("infinite_well_levels", "n", lambda v: pde.infinite_well_levels(v)),
    ("EDMD", "rank", lambda v: kp.EDMD(kp.Identity(), rank=v)),
    ("DeepKoopman", "latent_dim", lambda v: kp.DeepKoopman(2, v, key=_KEY)),
    ("gram_matrices", "n_blocks", lambda v: kp.gram_matrices(kp.Identity(), id, n_blocks=v)),
    ("trajectories", "n_steps", lambda v: dy.trajectories(dy.Lorenz63(), _DATA, dt=0.1, n_steps=v)),
    ("MLP", "width", lambda v: pinn.MLP(1, width=v, key=_KEY)),
    ("FourierFeatures", "n_features", lambda v: pinn.FourierFeatures(1, v, key=_KEY)),
    ("PIG", "n_gaussians", lambda v: pinn.PIG(DOMAIN, v, key=_KEY)),
    ("AdaptiveResampling", "every", lambda v: pinn.AdaptiveResampling(every=v)),
    ("CausalWeighting", "n_chunks", lambda v: pinn.CausalWeighting(n_chunks=v)),
]


@pytest.mark.parametrize(("where", "name", "call"), _POSITIVE_COUNTS)
def test_a_count_reads_the_same_everywhere(where, name, call):
    """The positive-count fault reads the same in every family: a bad value is a ValueError and
    a wrong type a TypeError (a float is not truncated, `True` is not 1), each naming the
    function, the argument and what was expected."""
    expected = re.escape(f"{where}: `{name}` must be ") + ".*, got "
    end = r"(\n|$)"  # a jitted function's message gains JAX's traceback note on a new line
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"^{expected}{bad}{end}"):
            call(bad)
    for bad, shown in ((2.5, "float 2.5"), (True, "bool True"), ("4", "str '4'")):
        with pytest.raises(TypeError, match=f"^{expected}{re.escape(shown)}{end}"):
            call(bad)


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
