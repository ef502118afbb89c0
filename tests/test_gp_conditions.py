"""GP collocation beyond Dirichlet boxes (issue 25): Neumann, Robin and mixed faces, variable
coefficients, the catalogue problems that exercise them, the errors for faces the collocation
cannot take, and `pde.Robin` as a PINN condition.

Tolerances are the measured errors (float64, this machine) times about 3, stated beside each.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import gp, pde
from jaxsci.gp._collocation import boundary_system, kernel_gram
from jaxsci.gp._grid import boundary_mask, grid_axes, mesh
from jaxsci.pde._gp_boundary_problems import GP_BOUNDARY_PROBLEMS
from jaxsci.pinn._loss import _Objective

# a smooth kernel suited to the few periods of these problems (the default kernel's envelope is
# made for the paper's high-frequency rows, `DefaultKernel.envelope`)
WIDE = gp.SpectralMixture(1.0, 0.0, 2.0)


def _condition_residuals(problem, cond, key):
    pts = cond.sample(key, problem.domain, 64)
    u = lambda x: problem.exact(x, problem.params)  # noqa: E731
    return jax.vmap(lambda x: cond.residual(u, x, problem.params))(pts)


@pytest.mark.x64
@pytest.mark.parametrize("name", sorted(GP_BOUNDARY_PROBLEMS))
def test_exact_solutions_satisfy_residual_and_conditions(name, getkey):
    problem = pde.get_problem(name)
    u = lambda x: problem.exact(x, problem.params)  # noqa: E731
    pts = problem.domain.sample(getkey(), 128)
    # the sources are the equation applied to `exact` by the same autodiff: zero to rounding
    r = problem.residuals(u, pts)
    scale = jnp.max(jnp.abs(jax.vmap(lambda x: problem.source(x, problem.params))(pts)))
    assert float(jnp.max(jnp.abs(r))) <= 1e-13 * float(scale)
    kinds = set()
    for cond in problem.conditions:
        kinds.add(type(cond).__name__)
        res = _condition_residuals(problem, cond, getkey())
        assert float(jnp.max(jnp.abs(res))) <= 1e-12, type(cond).__name__
    # and each problem has a face that is not Dirichlet
    assert kinds & {"Neumann", "Robin"}
    # a corner point (where the faces' data meet): every condition there to rounding too
    corner = jnp.asarray(problem.domain.lower)
    for cond in problem.conditions:
        assert abs(float(cond.residual(u, corner, problem.params))) <= 1e-12


@pytest.mark.x64
def test_boundary_rows_are_the_conditions_of_the_kernel_expansion(getkey):
    # the boundary rows (Kronecker products of derivative Grams) against a second path: each
    # face's condition residual of `u = sum_j alpha_j k(., x_j)` by autodiff, for random
    # `alpha`; Neumann and Robin rows carry one common scale, Dirichlet rows none
    problem = pde.get_problem("gp_mixed_2d")
    kernel = gp.Product([WIDE, WIDE])
    axes = grid_axes(problem, 12)
    pts = mesh(axes)
    bmask = np.asarray(boundary_mask(axes))
    kfull = kernel_gram(kernel, axes)
    rows, values, equation = boundary_system(problem, kernel, axes, pts, bmask, kfull)
    assert rows.shape == (int(bmask.sum()), pts.shape[0])
    # the equation is asked inside and on the Neumann and Robin faces, not on x = 0
    assert np.array_equal(equation, ~bmask | ((np.asarray(pts)[:, 0] > 0) & bmask))
    alpha = jax.random.normal(getkey(), (pts.shape[0],))
    u = lambda x: jax.vmap(lambda y: kernel(x, y))(pts) @ alpha  # noqa: E731
    dirichlet, neumann, robin = problem.conditions
    bpts = pts[bmask]
    # x = 0 is Dirichlet (its corners too), y = 0 Neumann (the corner (1, 0) too), the rest
    # Robin
    which = np.where(bpts[:, 0] == 0, 0, np.where(bpts[:, 1] == 0, 1, 2))
    expected = jnp.stack(
        [
            jax.vmap(lambda x, c=c: c.residual(u, x, problem.params))(bpts)
            for c in (dirichlet, neumann, robin)
        ]
    )[which, np.arange(len(which))]
    got = rows @ alpha - values
    np.testing.assert_allclose(got[which == 0], expected[which == 0], rtol=1e-12, atol=1e-12)
    ratio = got[which > 0] / expected[which > 0]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert 0 < float(ratio[0]) < 1


@pytest.mark.x64
@pytest.mark.parametrize(
    ("name", "grid", "tol"),
    [
        # measured: 2.14e-5, 5.59e-6 (default kernel)
        ("gp_neumann_1d", 100, 7e-5),
        ("gp_robin_1d", 100, 2e-5),
    ],
)
def test_neumann_and_robin_1d_default_solve(name, grid, tol):
    sol = gp.solve(pde.get_problem(name), grid=grid)
    assert sol.stats["method"] == "linear" and sol.result.ok
    assert float(sol.error()) < tol


@pytest.mark.x64
@pytest.mark.parametrize(
    ("name", "tol"),
    [
        # measured at 16 points per dimension with WIDE: see the comment on each
        ("zoo_mixed_2d", 5e-6),  # 1.56e-6 (all faces Dirichlet: 1.53e-6)
        ("gp_robin_2d", 7e-6),  # 2.38e-6
        ("gp_neumann_2d", 1e-4),  # 3.17e-5
        ("gp_mixed_2d", 7e-6),  # 2.13e-6
    ],
)
def test_neumann_robin_mixed_2d(name, tol):
    problem = pde.get_problem(name)
    sol = gp.solve(problem, WIDE, grid=16)
    assert sol.stats["method"] == "linear"
    assert float(sol.error()) < tol


@pytest.mark.x64
def test_neumann_faces_are_as_accurate_as_dirichlet_ones():
    # the same solution and kernel with Dirichlet data on every face instead: the Neumann faces
    # (with the equation asked on them too) cost no accuracy on zoo_mixed_2d
    problem = pde.get_problem("zoo_mixed_2d")
    dirichlet = pde.Problem(
        problem.domain,
        operator=problem.operator,
        source=problem.source,
        conditions=[pde.Dirichlet(problem.exact)],
        exact=problem.exact,
    )
    mixed = float(gp.solve(problem, WIDE, grid=16).error())
    plain = float(gp.solve(dirichlet, WIDE, grid=16).error())
    assert mixed < 1.5 * plain, (mixed, plain)


@pytest.mark.x64
def test_gauss_newton_equals_dense_on_a_linear_mixed_problem():
    problem = pde.get_problem("gp_robin_1d")
    dense = gp.solve(problem, grid=100)
    gn = gp.solve(problem, grid=100, solver=gp.GaussNewton())
    # an overdetermined system (the equation on the Robin points too) stops when a step
    # lowers the residual by less than 10%; measured 2.7e-6 error after 3 steps
    assert gn.result.ok and gn.stats["converged"] and gn.stats["steps"] <= 5
    assert float(gn.error()) < 1e-5
    assert float(jnp.max(jnp.abs(gn(gn.points) - dense(dense.points)))) < 1e-4


@pytest.mark.x64
@pytest.mark.parametrize(
    ("name", "tol"),
    [
        # measured: 8.03e-6 (3 Gauss-Newton steps), 6.08e-7 (6 steps)
        ("gp_variable_1d", 2.5e-5),
        ("gp_variable_advection_1d", 2e-6),
    ],
)
def test_variable_coefficients_1d(name, tol):
    # x-dependent coefficients are a residual written with autodiff: `gp.solve` takes it to
    # Gauss-Newton (a `LinearOperator` has constant coefficients)
    sol = gp.solve(pde.get_problem(name), grid=100)
    assert sol.stats["method"] == "gauss_newton" and sol.stats["converged"]
    assert float(sol.error()) < tol


@pytest.mark.x64
def test_variable_coefficient_2d():
    sol = gp.solve(pde.get_problem("gp_variable_2d"), WIDE, grid=16)
    assert sol.stats["method"] == "gauss_newton" and sol.stats["converged"]
    assert float(sol.error()) < 2e-5  # measured 6.19e-6 (2 Gauss-Newton steps)


@pytest.mark.x64
def test_faces_the_collocation_cannot_take():
    dom = pde.SpaceTime(pde.Interval(0.0, 1.0), 0.0, 1.0)
    exact = lambda x, p: jnp.sin(x[0] - x[1])  # noqa: E731
    op = pde.LinearOperator([(0, 1), (1, 0)], jnp.asarray([1.0, 1.0]))
    periodic = pde.Problem(
        dom,
        operator=op,
        source=lambda x, p: 0.0 * x[0],
        conditions=[pde.Periodic(axis=0, domain=dom), pde.InitialValue(exact)],
        exact=exact,
        name="periodic",
    )
    with pytest.raises(ValueError, match=r"face \(0, 0\) \(x_0 = 0\).*Periodic condition"):
        gp.solve(periodic, grid=10)
    # no condition on a face and no exact solution to take Dirichlet data from
    no_data = pde.Problem(
        pde.Box([0.0, 0.0], [1.0, 1.0]),
        operator=pde.LinearOperator.laplacian(2),
        source=lambda x, p: 1.0 + 0.0 * x[0],
        conditions=[pde.Dirichlet(0.0, faces=[(0, 0), (0, 1), (1, 0)])],
        name="three_faces",
    )
    with pytest.raises(ValueError, match=r"face \(1, 1\) \(x_1 = 1\).*no Dirichlet, Neumann"):
        gp.solve(no_data, grid=10)
    # two kinds of condition on one face
    mixed = pde.get_problem("zoo_mixed_2d")
    both = pde.Problem(
        mixed.domain,
        operator=mixed.operator,
        source=mixed.source,
        conditions=[*mixed.conditions, pde.Dirichlet(mixed.exact, faces=[(1, 0)])],
        exact=mixed.exact,
        name="both",
    )
    with pytest.raises(ValueError, match=r"face \(1, 0\).*Dirichlet and Neumann"):
        gp.solve(both, grid=10)


@pytest.mark.x64
def test_neumann_faces_refused_by_newton_krylov_and_training():
    # the Kronecker path takes them (tests/test_gp_kronecker.py); a pure Neumann problem
    # without a reaction term (defined up to a constant) it refuses, naming why
    problem = pde.get_problem("zoo_mixed_2d")
    floating = pde.Problem(
        problem.domain,
        operator=problem.operator,
        source=problem.source,
        conditions=[pde.Neumann(0.0, domain=problem.domain)],
        name="pure_neumann",
    )
    with pytest.raises(ValueError, match=r"'pure_neumann' has Neumann faces on every face"):
        gp.solve(floating, WIDE, grid=10, solver=gp.Kronecker())
    with pytest.raises(ValueError, match="NewtonKrylov takes Dirichlet faces only"):
        gp.solve(pde.get_problem("gp_variable_2d"), grid=10, solver=gp.NewtonKrylov())
    with pytest.raises(ValueError, match=r"`train` fits Dirichlet data only.*Neumann"):
        gp.solve(problem, grid=10, train=gp.TrainKernel())
    # the posterior variance conditions on values at every boundary point: refused, not wrong
    sol = gp.solve(pde.get_problem("gp_robin_1d"), grid=20)
    with pytest.raises(ValueError, match=r"variance: face .* has a Robin condition"):
        sol.variance(sol.points[:2])


def test_robin_condition_and_bad_input():
    dom = pde.Box([0.0, 0.0], [1.0, 2.0])
    u = lambda x: x[0] ** 2 + jnp.cos(jnp.pi * x[1])  # noqa: E731
    # u + 2 u_n: at x = 1, u_n = u_x = 2; at x = 0, u_n = 0; at y = 0, 2: u_n = 0
    cond = pde.Robin(lambda x, p: u(x) + 2 * jnp.where(x[0] >= 1.0, 2.0, 0.0), b=2.0, domain=dom)
    pts = cond.sample(jax.random.key(0), dom, 200)
    assert float(cond.loss(u, pts, {})) < 1e-10
    wrong = pde.Robin(lambda x, p: u(x), b=2.0, domain=dom)  # drops the derivative term
    assert float(wrong.loss(u, pts, {})) > 0.1
    with pytest.raises(ValueError, match="Robin: pass `domain=`"):
        pde.Robin(1.0)
    with pytest.raises(ValueError, match="Robin: `a` and `b` are both zero"):
        pde.Robin(1.0, a=0.0, b=0.0, domain=dom)
    with pytest.raises(ValueError, match="Robin: `b` must be a finite number, got nan"):
        pde.Robin(1.0, b=math.nan, domain=dom)
    with pytest.raises(ValueError, match=r"Robin: `faces` must be \(axis, side\) pairs"):
        pde.Robin(1.0, domain=dom, faces=[(2, 0)])


@pytest.mark.x64
def test_robin_on_a_pinn_loss(getkey):
    problem = pde.get_problem("gp_robin_2d")
    objective = _Objective(problem, (), None)
    extra = {
        "interior": problem.domain.sample(getkey(), 64),
        "conditions": [c.sample(getkey(), problem.domain, 64) for c in problem.conditions],
    }
    exact = lambda x: problem.exact(x, problem.params)  # noqa: E731
    terms = objective.terms((exact, {}), extra)
    assert objective.names == ["residual", "robin0"]
    assert float(terms[1]) < 1e-24 and float(terms[0]) < 1e-20
    shifted = lambda x: exact(x) + 0.1  # noqa: E731  (a + 0.1 off on the faces: a = 1)
    assert abs(float(objective.terms((shifted, {}), extra)[1]) - 0.01) < 1e-12
