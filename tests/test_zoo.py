"""The zoo of user problems (issue 27): each exact solution solves its problem (residual and
every condition vanish at random points, in float64), a perturbed one does not, and the
catalogue lists every zoo problem."""

import math

import jax
import jax.numpy as jnp
import pytest

from jaxsci import pde
from jaxsci.pde._conditions import AbstractPointCondition
from jaxsci.pde._zoo import ZOO_TRUE_PARAMS

NAMES = sorted(pde.ZOO)


def _truth_problem(name):
    problem = pde.get_problem(name)
    true = ZOO_TRUE_PARAMS.get(name)
    return problem if true is None else problem.replace_params(**true)


def _defects(problem, u, key, n=200):
    """The largest |residual| in the interior and on every condition's points, each relative to
    the size of what the residual compares (so a 1e-3-width layer is judged fairly)."""
    k1, k2 = jax.random.split(key)
    x = problem.domain.sample(k1, n, method="uniform")
    out = {"interior": jnp.max(jnp.abs(problem.residuals(u, x)))}
    for i, c in enumerate(problem.conditions):
        pts = c.sample(jax.random.fold_in(k2, i), problem.domain, n)
        if isinstance(c, AbstractPointCondition) and not isinstance(c, pde.Observations):
            r = jax.vmap(lambda y, c=c: c.residual(u, y, problem.params))(pts)
            out[f"{i}:{c.name}"] = jnp.max(jnp.abs(r))
        else:
            out[f"{i}:{c.name}"] = jnp.sqrt(c.loss(u, pts, problem.params))
    return {k: float(v) for k, v in out.items()}


def test_zoo_is_in_the_catalogue():
    assert len(NAMES) >= 14
    for name in NAMES:
        assert name in pde.PROBLEMS
        problem = pde.get_problem(name)
        assert problem.name == name
        assert problem.exact is not None


@pytest.mark.x64
@pytest.mark.parametrize("name", NAMES)
def test_exact_solution_solves_zoo_problem(name, getkey):
    problem = _truth_problem(name)
    u = lambda x: problem.exact(x, problem.params)  # noqa: E731
    defects = _defects(problem, u, getkey())
    # the sources are the operator applied to the exact solution (or closed forms): rounding
    # of derivatives up to second order of solutions whose second derivatives reach 1e4
    scale = 1.0 + float(
        jnp.max(
            jnp.abs(problem.residuals(lambda y: 0.0 * u(y), problem.domain.sample(getkey(), 200)))
        )
    )
    for where, d in defects.items():
        assert d <= 1e-9 * scale, (name, where, d, scale)


@pytest.mark.x64
@pytest.mark.parametrize("name", NAMES)
def test_perturbed_solution_fails_zoo_problem(name, getkey):
    """Negative control: the checks above can fail (a bump of 1e-2 is seen)."""
    problem = _truth_problem(name)
    bump = lambda x: 1e-2 * jnp.exp(jnp.sum(x))  # noqa: E731
    if problem.n_outputs:
        u = lambda x: problem.exact(x, problem.params) + bump(x) * jnp.ones(problem.n_outputs)  # noqa: E731
    else:
        u = lambda x: problem.exact(x, problem.params) + bump(x)  # noqa: E731
    defects = _defects(problem, u, getkey())
    assert max(defects.values()) > 1e-3, (name, defects)


@pytest.mark.x64
def test_zoo_closed_forms(getkey):
    """Closed forms checked by a second path: the boundary layer's value at the middle, the
    inverse problem's observations, the heat series at t = 0."""
    layer = pde.zoo_boundary_layer()
    x = jnp.asarray([0.5])
    eps = 1e-2
    # the textbook form x - (e^(x/eps) - 1) / (e^(1/eps) - 1), fine in float64 at eps = 1e-2
    assert float(layer.exact(x, {})) == pytest.approx(
        0.5 - math.expm1(0.5 / eps) / math.expm1(1 / eps), rel=1e-12
    )
    inverse = pde.zoo_inverse_heat()
    data = [c for c in inverse.conditions if isinstance(c, pde.Observations)][0]
    assert data.points.shape == (64, 2)
    assert float(inverse.params["diffusivity"]) == 0.05  # the guess, not the truth
    heat = pde.zoo_heat()
    xs = jnp.linspace(0.0, 1.0, 7)
    u0 = jax.vmap(lambda s: heat.exact(jnp.stack([s, 0.0]), heat.params))(xs)
    series = sum(jnp.sin(n * jnp.pi * xs) / n for n in range(1, 6))
    assert jnp.allclose(u0, series, atol=1e-12)


def test_zoo_bad_arguments():
    with pytest.raises(ValueError, match="takes no argument"):
        pde.get_problem("zoo_heat", kappa=1.0)
