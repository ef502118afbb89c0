"""Entry points trace their matrix products at full precision unless the caller chose one
(`jaxsci/_precision.py`): on a GPU JAX's float32 default is TF32, and a float32 solve must not
lose digits there. The conftest sets "highest" for the whole suite; these tests undo it."""

import equinox as eqx
import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxsci import koopman as kp
from jaxsci import pde, pinn, train

CHOICES = [(None, "highest"), ("tensorfloat32", "tensorfloat32"), ("default", "default")]


def _seen_by(run):
    """The matmul precision setting in force while `run` traces the user's function."""
    seen = []

    def record():
        seen.append(jax.config.jax_default_matmul_precision)

    run(record)
    assert seen, "the user's function was never traced"
    assert len(set(seen)) == 1, seen
    return seen[0]


def _dot_precisions(jaxpr):
    """The precision of every dot_general in a closed jaxpr, sub-jaxprs included."""
    out = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            out.append(eqn.params["precision"])
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            out += _dot_precisions(sub)
    return out


@pytest.mark.parametrize("chosen, expected", CHOICES)
def test_train_fit_and_pinn_solve_trace_at_full_precision_unless_the_caller_chose(
    chosen, expected, getkey
):
    def fit(record):
        def loss(p, extra, key):
            record()
            return jnp.sum((p["w"] - 1.0) ** 2), {}

        train.fit(loss, {"w": jnp.zeros(3)}, optax.adam(1e-2), steps=2, key=getkey())

    base = pde.poisson_1d()

    def solve(record):
        def residual(u, x, params):
            record()
            return base.residual(u, x, params)

        problem = eqx.tree_at(lambda p: p.residual, base, residual)
        field = pinn.MLP(1, width=8, depth=2, key=getkey())
        pinn.solve(problem, field, key=getkey(), steps=2, lbfgs=pinn.LBFGSPhase(steps=0))

    with jax.default_matmul_precision(chosen):
        assert _seen_by(fit) == expected
        assert _seen_by(solve) == expected


@pytest.mark.parametrize("chosen, expected", CHOICES)
def test_koopman_fit_products_are_full_precision_unless_the_caller_chose(chosen, expected):
    x = jax.random.normal(jax.random.key(0), (64, 3))
    y = 0.9 * x
    est = kp.EDMD(kp.Identity(), method="gram")
    with jax.default_matmul_precision(chosen):
        jaxpr = jax.make_jaxpr(lambda x, y: kp.fit(est, x, y).matrix)(x, y)
    precisions = set(_dot_precisions(jaxpr.jaxpr))
    highest = (jax.lax.Precision.HIGHEST,) * 2
    if chosen is None:  # every product at full precision
        assert precisions == {highest}
    else:  # the products that name no precision of their own follow the caller's choice
        want = jax.lax.Precision(chosen)  # "tensorfloat32" is Precision.HIGH
        assert (want, want) in precisions and precisions <= {(want, want), highest}


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="a statement about CPUs")
def test_full_precision_changes_no_result_on_a_cpu(getkey):
    """float32 products are float32 on a CPU whatever the setting: a solve is bit for bit the
    same with JAX's default and with the entry point's full precision."""
    problem = pde.poisson_1d()
    field = pinn.MLP(1, width=16, depth=3, key=getkey())
    key = getkey()

    def run():
        sol = pinn.solve(problem, field, key=key, steps=60, lbfgs=pinn.LBFGSPhase(steps=15))
        return jax.tree.leaves(eqx.filter(sol.field, eqx.is_array))

    with jax.default_matmul_precision(None):
        full = run()
    with jax.default_matmul_precision("default"):
        default = run()
    for a, b in zip(full, default, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
