"""`pinn.diagnose` against closed forms: the empirical NTK of a field linear in its parameters,
the gradient of each loss term against `jax.grad` of the term's own loss, and the trace
identity `tr(J J^T) = sum_i |grad r_i|^2` for an MLP."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import pde, pinn


class Affine(pinn.AbstractField):
    """`u(x) = a + b x`: parameters `(a, b)`, `u'' = 0`."""

    a: jax.Array
    b: jax.Array

    def __call__(self, x):
        return self.a + self.b * x[0]


def _solution(field, problem, history=None):
    pts = problem.domain.sample(jax.random.key(0), 16, method="hammersley")
    return pinn.PINNSolution(field, problem.params, problem, pts, history or {}, {})


def test_ntk_of_a_linear_field_is_its_closed_form(tmp_path):
    problem = pde.get_problem("poisson_1d")
    field = Affine(jnp.asarray(0.3), jnp.asarray(-0.7))
    hist = {"loss": np.geomspace(1, 1e-3, 50), "residual": np.geomspace(1, 1e-3, 50)}
    hist["dirichlet0"] = np.geomspace(1e-1, 1e-4, 50)
    path = str(tmp_path / "d.png")
    d = pinn.diagnose(_solution(field, problem, hist), n_interior=32, n_condition=8, path=path)
    # -u'' - f does not depend on (a, b): the residual's NTK vanishes, gradient descent cannot
    # move that term at all
    np.testing.assert_array_equal(d.eigenvalues["residual"], np.zeros(32))
    assert d.trace["residual"] == 0 and d.ntk_weights["residual"] == float("inf")
    assert d.grad_norm["residual"] == 0
    # the Dirichlet term: r_i = a + b x_i, J_i = (1, x_i), K_ij = 1 + x_i x_j
    cond = problem.conditions[0]
    x = np.asarray(cond.sample(jax.random.key(0), problem.domain, 8, method="hammersley"))[:, 0]
    ntk = 1 + np.outer(x, x)
    np.testing.assert_allclose(
        d.eigenvalues["dirichlet0"], np.linalg.eigvalsh(ntk)[::-1], atol=1e-12
    )
    assert d.trace["dirichlet0"] == pytest.approx(np.sum(1 + x**2))
    assert d.trace_ratio["dirichlet0"] == 1.0
    r = 0.3 - 0.7 * x
    assert d.loss["dirichlet0"] == pytest.approx(np.mean(r**2))
    grad = 2 / len(x) * np.array([np.sum(r), np.sum(r * x)])
    assert d.grad_norm["dirichlet0"] == pytest.approx(np.linalg.norm(grad))
    # u'' = 0: the residual is -f, largest where |sin(2 pi x)| = 1
    assert d.residual_max == pytest.approx(4 * np.pi**2, rel=1e-4)
    assert min(abs(d.residual_argmax[0] - 0.25), abs(d.residual_argmax[0] - 0.75)) < 1e-3
    assert d.figure == path and (tmp_path / "d.png").stat().st_size > 10_000
    assert len(d.lines()) == 3


def test_mlp_gradients_and_trace_against_autodiff():
    problem = pde.get_problem("poisson_1d")
    field = pinn.MLP(1, width=8, depth=2, key=jax.random.key(1))
    d = pinn.diagnose(_solution(field, problem), n_interior=40, n_condition=24)
    params = problem.params
    key = jax.random.key(0)
    interior = problem.domain.sample(key, 40, method="hammersley")
    bpts = problem.conditions[0].sample(key, problem.domain, 24, method="hammersley")

    def loss_of(f, which):
        if which == "residual":
            return jnp.mean(jax.vmap(lambda x: problem.residual(f, x, params))(interior) ** 2)
        return problem.conditions[0].loss(f, bpts, params)

    for which in ("residual", "dirichlet0"):
        grads = eqx.filter_jit(jax.grad(loss_of))(field, which)
        norm = np.sqrt(sum(np.sum(np.asarray(g) ** 2) for g in jax.tree.leaves(grads)))
        assert d.grad_norm[which] == pytest.approx(norm, rel=1e-4)
        loss = eqx.filter_jit(loss_of)(field, which)
        assert d.loss[which] == pytest.approx(float(loss), rel=1e-5)
    # tr(J J^T) = sum over points of |grad r_i|^2, each gradient taken on its own
    grad_r = jax.vmap(lambda f, x: jax.grad(lambda g: problem.residual(g, x, params))(f), (None, 0))
    per_point = eqx.filter_jit(grad_r)(field, interior)
    trace = sum(np.sum(np.asarray(g) ** 2) for g in jax.tree.leaves(per_point))
    assert d.trace["residual"] == pytest.approx(trace, rel=1e-4)
    ev = d.eigenvalues["residual"]
    assert np.all(np.diff(ev) <= 0) and ev.sum() == pytest.approx(d.trace["residual"], rel=1e-4)
    assert sum(d.trace_ratio.values()) == pytest.approx(1.0)
    assert d.figure is None


def test_bad_input():
    problem = pde.get_problem("poisson_1d")
    sol = _solution(Affine(jnp.asarray(0.0), jnp.asarray(0.0)), problem)
    with pytest.raises(ValueError, match="n_interior"):
        pinn.diagnose(sol, n_interior=0)
