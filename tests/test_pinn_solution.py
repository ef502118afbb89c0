"""The solution object of `pinn.solve` as users handle it: ensembles (per-member evaluation and
errors, member `i`), the equinox idiom for `jit`, learned parameters in the history, the plot
title, and a clear error for a key that is not a PRNG key."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import pde, pinn, train

SMALL = dict(
    steps=20,
    lbfgs=pinn.LBFGSPhase(steps=0),
    sampling=pinn.Sampling(n_interior=32, n_boundary=8),
    loop=train.Loop(chunk_size=10),
)


@pytest.fixture(scope="module")
def single():
    field = pinn.MLP(1, width=8, depth=2, key=jax.random.key(0))
    return pinn.solve(pde.poisson_1d(), field, key=jax.random.key(1), **SMALL)


@pytest.fixture(scope="module")
def ensemble():
    keys = jax.random.split(jax.random.key(0), 3)
    fields = eqx.filter_vmap(lambda k: pinn.MLP(1, width=8, depth=2, key=k))(keys)
    return pinn.solve(pde.infinite_well(), fields, key=keys, ensemble=True, **SMALL)


def test_ensemble_evaluates_and_errs_per_member(ensemble):
    assert ensemble.members == 3
    pts = ensemble.evaluation_points(11)
    u = ensemble(pts)
    assert u.shape == (3, 11)
    errors = ensemble.error(pts)
    assert isinstance(errors, np.ndarray) and errors.shape == (3,)
    for i in range(3):
        one = ensemble.member(i)
        assert one.members is None
        np.testing.assert_allclose(one(pts), u[i], rtol=1e-5, atol=1e-6)
        assert one.error(pts) == pytest.approx(errors[i], rel=1e-6)
        assert one.params["energy"].shape == ()
        assert one.problem.params["energy"] == one.params["energy"]
        assert one.history["loss"].shape == (SMALL["steps"],)
    assert not np.allclose(u[0], u[1])  # different members, not one copied
    assert ensemble.error().shape == (3,)  # default grid


def test_ensemble_member_bad_index(ensemble):
    with pytest.raises(ValueError, match="`i` must be an int in \\[0, 3\\)"):
        ensemble.member(3)


def test_member_of_single_solution_raises(single):
    sol = single
    with pytest.raises(ValueError, match="not an ensemble"):
        sol.member(0)
    assert isinstance(sol.error(), float)


def test_learned_parameter_trajectory_in_history(ensemble):
    sol = ensemble.member(0)
    energy = sol.history["energy"]
    assert energy.shape == (SMALL["steps"],)
    assert energy[0] == pytest.approx(0.8 * np.pi**2, rel=1e-6)  # the initial guess
    assert not np.allclose(energy, energy[0])  # it moves: the trajectory, not a constant
    assert ensemble.history["energy"].shape == (3, SMALL["steps"])


def test_inverse_problem_history_has_kappa():
    def residual(u, x, params):
        return pde.time_derivative(u, x) - params["kappa"] * pde.partial(u, x, 0, order=2)

    heat = pde.Problem(
        pde.SpaceTime(pde.Interval(0.0, 1.0), 0.0, 1.0),
        residual,
        conditions=pde.Dirichlet(0.0),
        params={"kappa": 0.3},
    )
    sol = pinn.solve(
        heat,
        pinn.MLP(2, width=8, depth=2, key=jax.random.key(0)),
        key=jax.random.key(1),
        learn=["kappa"],
        **SMALL,
    )
    assert sol.history["kappa"].shape == (SMALL["steps"],)
    assert sol.history["kappa"][0] == pytest.approx(0.3, rel=1e-6)


def test_jit_idiom_for_solutions_and_fields(single):
    sol = single
    pts = sol.evaluation_points(9)
    with pytest.raises(TypeError, match="unhashable"):
        jax.jit(sol)(pts)
    u = eqx.filter_jit(lambda s, x: s(x))(sol, pts)
    np.testing.assert_allclose(u, sol(pts), rtol=1e-5, atol=1e-6)
    v = eqx.filter_jit(lambda f, x: jax.vmap(f)(x))(sol.field, pts)
    np.testing.assert_allclose(v, u, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", [0, np.int64(3), jnp.asarray(0)])
def test_integer_key_is_refused_by_name(key):
    field = pinn.MLP(1, width=8, depth=2, key=jax.random.key(0))
    with pytest.raises(
        TypeError, match=r"`key` must be a PRNG key, e.g. `key=jax.random.key\(0\)`"
    ):
        pinn.solve(pde.poisson_1d(), field, key=key, **SMALL)


def test_ensemble_needs_a_batch_of_keys():
    keys = jax.random.split(jax.random.key(0), 2)
    fields = eqx.filter_vmap(lambda k: pinn.MLP(1, width=8, depth=2, key=k))(keys)
    with pytest.raises(ValueError, match="batch of keys"):
        pinn.solve(pde.poisson_1d(), fields, key=jax.random.key(0), ensemble=True, **SMALL)


def test_plot_title_is_the_problem_name(ensemble, tmp_path, monkeypatch):
    import matplotlib.figure

    assert pde.infinite_well().name == "infinite_well"
    assert pde.get_problem("infinite_well").name == "infinite_well"
    assert pde.infinite_well(2).name == "infinite_well_level2"
    titles = []
    save = matplotlib.figure.Figure.savefig

    def record(fig, *args, **kwargs):
        titles.extend(ax.get_title() for ax in fig.axes)
        return save(fig, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", record)
    pinn.plot_solution(ensemble.member(0), tmp_path / "solution.png", per_axis=21)
    assert "infinite_well" in titles
    assert not any("infinite_well_1" in t for t in titles)
