"""Every catalogue problem: its exact solution satisfies its residual and its conditions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import raises

from jaxsci import pde

CLOSED_FORM = [
    pde.poisson_1d,
    pde.poisson_2d,
    pde.multiscale_poisson_1d,
    pde.helmholtz_2d,
    pde.klein_gordon_1d,
    pde.klein_gordon_2d,
    lambda: pde.klein_gordon_2d(box=(-1.0, 1.0), t_end=10.0),  # the PIG paper's row
    pde.convection,
    pde.heat_1d,
    pde.wave_1d,
]


@pytest.mark.x64
@pytest.mark.parametrize(
    "make",
    CLOSED_FORM,
    ids=lambda f: "klein_gordon_2d_pig" if f.__name__ == "<lambda>" else f.__name__,
)
def test_exact_solution_solves_problem(make, getkey):
    p = make()
    u = lambda x: p.exact(x, p.params)
    pts = p.domain.sample(getkey(), 256)
    r = p.residuals(u, pts)
    # residual relative to the size of the terms it balances (sources reach ~1e3 for Helmholtz)
    scale = 1.0 + jnp.max(
        jnp.abs(jax.vmap(lambda x: p.residual(lambda y: 0.0 * u(y), x, p.params))(pts))
    )
    assert jnp.max(jnp.abs(r)) < 1e-10 * scale
    for c in p.conditions:
        assert c.loss(u, c.sample(getkey(), p.domain, 64), p.params) < 1e-20


def test_klein_gordon_2d_domain_and_bad_input():
    p = pde.klein_gordon_2d(box=(-1.0, 1.0), t_end=10.0)
    assert p.domain.lower == (-1.0, -1.0, 0.0) and p.domain.upper == (1.0, 1.0, 10.0)
    for box in [(1.0, -1.0), 1.0, (0.0, 1.0, 2.0)]:
        with raises(ValueError, "box"):
            pde.klein_gordon_2d(box=box)
    with raises(ValueError, "t_end"):
        pde.klein_gordon_2d(t_end=0.0)


@pytest.mark.x64
def test_perturbed_solution_does_not_solve_problem(getkey):
    """The check above can fail: a slightly wrong field leaves a residual."""
    p = pde.helmholtz_2d()
    u = lambda x: p.exact(x, p.params) * 1.001
    assert jnp.max(jnp.abs(p.residuals(u, p.domain.sample(getkey(), 64)))) > 1e-3


def test_problem_parameters_vmap(getkey):
    p = pde.convection()
    pts = p.domain.sample(getkey(), 32)
    betas = jnp.array([1.0, 5.0, 30.0])

    def exact_at(beta):
        return p.replace_params(beta=beta).exact_values(pts)

    vals = jax.vmap(exact_at)(betas)
    assert vals.shape == (3, 32)
    assert np.allclose(vals[2], np.sin(pts[:, 0] - 30.0 * pts[:, 1]), atol=1e-5)


def test_system_of_equations(getkey):
    """A vector field u = (v, w) for v' = w, w' = -v fits the same Problem."""
    dom = pde.Interval(0.0, 3.0)
    p = pde.Problem(
        dom,
        residual=lambda u, x, prm: jnp.stack(
            [
                pde.partial(pde.component(u, 0), x, 0) - u(x)[1],
                pde.partial(pde.component(u, 1), x, 0) + u(x)[0],
            ]
        ),
        conditions=[
            pde.Dirichlet(0.0, faces=[(0, 0)], component=0),
            pde.Dirichlet(1.0, faces=[(0, 0)], component=1),
        ],
        exact=lambda x, prm: jnp.stack([jnp.sin(x[0]), jnp.cos(x[0])]),
        n_outputs=2,
    )
    u = lambda x: p.exact(x, p.params)
    pts = dom.sample(getkey(), 64)
    assert p.residuals(u, pts).shape == (64, 2)
    assert jnp.max(jnp.abs(p.residuals(u, pts))) < 1e-5
    for c in p.conditions:
        assert c.loss(u, c.sample(getkey(), dom, 8), p.params) < 1e-10


def test_neumann_and_periodic_conditions(getkey):
    dom = pde.Box([0.0, 0.0], [1.0, 2.0])
    u = lambda x: x[0] ** 2 + jnp.cos(jnp.pi * x[1])
    # outward normal derivative: -u_x = 0 at x=0, u_x = 2 at x=1, -u_y = 0 at y=0, u_y = 0 at y=2
    g = lambda x, p: jnp.where(x[0] > 1 - 1e-6, 2.0, 0.0)
    n = pde.Neumann(g, domain=dom)
    assert n.loss(u, n.sample(getkey(), dom, 200), {}) < 1e-8
    per = pde.Periodic(axis=1, derivatives=1, domain=dom)
    assert per.loss(u, per.sample(getkey(), dom, 50), {}) < 1e-8
    per_x = pde.Periodic(axis=0, domain=dom)
    assert per_x.loss(u, per_x.sample(getkey(), dom, 50), {}) > 0.1


def test_bad_input():
    dom = pde.Interval(0.0, 1.0)
    with raises(ValueError, "residual"):
        pde.Problem(dom)
    with raises(TypeError, "domain"):
        pde.Problem("unit interval", residual=lambda u, x, p: u(x))
    with raises(ValueError, "dim"):
        pde.Problem(dom, operator=pde.LinearOperator.laplacian(2))
    with raises(TypeError, r"conditions\[0\]"):
        pde.Problem(dom, residual=lambda u, x, p: u(x), conditions=[0.0])
    with raises(ValueError, "NaN"):
        pde.Observations(jnp.zeros((3, 1)), jnp.array([1.0, jnp.nan, 2.0]))
    with raises(ValueError, "leading dimension"):
        pde.Observations(jnp.zeros((3, 1)), jnp.zeros(4))
    with raises(ValueError, "unknown parameter"):
        pde.convection().replace_params(speed=1.0)
    with raises(ValueError, "shape"):
        pde.poisson_2d().exact_values(jnp.zeros((4, 3)))
    with raises(ValueError, "Problem: `n_outputs` must be a non-negative int, got -1"):
        pde.Problem(dom, residual=lambda u, x, p: u(x), n_outputs=-1)
    with raises(TypeError, "Problem: `n_outputs` must be a non-negative int, got float"):
        pde.Problem(dom, residual=lambda u, x, p: u(x), n_outputs=2.0)
    with raises(ValueError, "infinite_well: `level` must be a positive int, got 0"):
        pde.infinite_well(level=0)
    with raises(TypeError, "barrier_well: `level` must be a positive int, got float"):
        pde.barrier_well(level=1.0)
    # depth 50, half-width 0.5: ceil(sqrt(50) / pi) = 3 bound states
    with raises(ValueError, r"finite_well: `level` must be an int in \[1, 3\], got 4"):
        pde.finite_well(level=4)


@pytest.mark.x64
def test_reference_problems_truth_matches_their_conditions():
    b = pde.burgers()
    x = jnp.linspace(-1, 1, 41)
    init = b.exact_values(jnp.stack([x, jnp.zeros_like(x)], -1))
    assert np.allclose(init, -np.sin(np.pi * x), atol=1e-12)
    edge = b.exact_values(jnp.array([[-1.0, 0.5], [1.0, 0.5], [1.0, 1.0]]))
    assert np.allclose(edge, 0.0, atol=1e-10)
    ac = pde.allen_cahn()
    xg = -1 + 2 * jnp.arange(0, 512, 16) / 512  # nodes of the solver's 512-point grid
    init = ac.exact_values(jnp.stack([xg, jnp.zeros(32)], -1))
    assert np.allclose(init, xg**2 * np.cos(np.pi * xg), atol=1e-10)


@pytest.mark.x64
def test_finite_well_reference_is_a_normalised_eigenstate():
    p = pde.finite_well()
    e = p.exact_eigenvalue
    x = np.linspace(-2.5, 2.5, 200001)
    psi = np.asarray(p.exact_values(jnp.asarray(x[:, None])))
    h = x[1] - x[0]
    assert abs(np.sum(psi**2) * h - 1) < 1e-6
    assert abs(psi[0]) < 1e-5 and abs(psi[-1]) < 1e-5
    # -psi'' + V psi = E psi away from the jumps of V at |x| = a (second differences, O(h^2))
    d2 = (psi[2:] - 2 * psi[1:-1] + psi[:-2]) / h**2
    v = np.where(np.abs(x[1:-1]) < 0.5, 0.0, 50.0)
    away = np.abs(np.abs(x[1:-1]) - 0.5) > 1e-3
    assert np.max(np.abs(-d2 + (v - e) * psi[1:-1])[away]) < 1e-4
    assert p.exact_eigenvalue < pde.infinite_well(1).exact_eigenvalue * (1 / (2 * 0.5)) ** 2
