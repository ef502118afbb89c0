"""`pinn.continuation`: a curriculum in one parameter is `solve` chained stage by stage, each
from the last field; its effect on the zoo's convection rows is measured by
`experiments/pinn/field_levers.py` (BENCHMARKS.md, "Curriculum in the parameter")."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from jaxsci import SolveFailed, pde, pinn, train

_SMALL = dict(
    steps=20,
    lbfgs=pinn.LBFGSPhase(steps=5),
    sampling=pinn.Sampling(n_interior=32, n_boundary=16, method="hammersley"),
)


def _reaction(k=4.0):
    """`-u'' + k u = f` on [0, 1], `u = sin(pi x)` (zero Dirichlet data), `k` in `params`."""
    exact = lambda x, p: jnp.sin(jnp.pi * x[0])  # noqa: E731
    return pde.Problem(
        pde.Interval(0.0, 1.0),
        residual=lambda u, x, p: (
            -pde.laplacian(u, x) + p["k"] * u(x) - (jnp.pi**2 + p["k"]) * exact(x, p)
        ),
        conditions=[pde.Dirichlet(0.0)],
        exact=exact,
        params={"k": jnp.asarray(k)},
        name="reaction_1d",
    )


def _field():
    return pinn.MLP(1, width=8, depth=2, key=jr.key(1))


def _at(problem, name, value):
    return eqx.tree_at(
        lambda p: p.params[name], problem, jnp.full_like(problem.params[name], value)
    )


def _leaves(field):
    return jax.tree_util.tree_leaves(eqx.filter(field, eqx.is_array))


def test_continuation_is_solve_chained_from_each_stage_bare_field():
    """Each stage is `solve` from the last stage's field; a field `solve` constrained (the
    zero Dirichlet data) is passed on bare, so the result is constrained once and the last
    stage trains the same terms as a plain solve."""
    problem = _reaction()
    key = jr.key(0)
    sol = pinn.continuation(problem, _field(), key=key, param="k", path=(1.0,), **_SMALL)

    first = pinn.solve(_at(problem, "k", 1.0), _field(), key=jr.fold_in(key, 0), **_SMALL)
    assert isinstance(first.field, pinn.Constrained)
    last = pinn.solve(problem, first.field.field, key=key, **_SMALL)

    for a, b in zip(_leaves(sol.field), _leaves(last.field), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert isinstance(sol.field, pinn.Constrained)
    assert not isinstance(sol.field.field, pinn.Constrained)
    assert set(sol.history) == set(last.history)
    assert float(sol.problem.params["k"]) == 4.0
    assert [s["value"] for s in sol.stats["stages"]] == [1.0, 4.0]
    assert sol.stats["steps"] == 2 * 25
    assert sol.stats["wall_s"] == pytest.approx(sum(s["wall_s"] for s in sol.stats["stages"]))


def test_continuation_stops_at_a_failed_stage_and_names_it():
    args = dict(key=jr.key(0), param="k", path=(1e38, 2.0), **_SMALL)
    sol = pinn.continuation(_reaction(), _field(), throw=False, **args)
    assert sol.result.name == "nonfinite"
    assert [s["value"] for s in sol.stats["stages"]] == [pytest.approx(1e38)]
    assert float(sol.problem.params["k"]) == pytest.approx(1e38)
    with pytest.raises(SolveFailed, match="stage 0 \\(k = 1e\\+38\\)"):
        pinn.continuation(_reaction(), _field(), **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(param="speed", path=(1.0,)), "`param` must name an entry.*\\['k'\\]"),
        (dict(param="k", path=()), "`path` must be a non-empty sequence"),
        (dict(param="k", path=5.0), "`path` must be a non-empty sequence"),
        (dict(param="k", path=(1.0, float("nan"))), "finite number, got nan"),
        (dict(param="k", path=(1.0,), learn=("k",)), "cannot also be learned"),
    ],
)
def test_continuation_refuses_bad_arguments_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pinn.continuation(_reaction(), _field(), key=jr.key(0), **kwargs)


def test_continuation_refuses_an_array_parameter():
    problem = eqx.tree_at(lambda p: p.params["k"], _reaction(), jnp.ones(3))
    with pytest.raises(ValueError, match="scalar parameter; 'k' has shape \\(3,\\)"):
        pinn.continuation(problem, _field(), key=jr.key(0), param="k", path=(1.0,))


def test_continuation_checkpoints_each_stage_and_resumes_to_the_same_field(tmp_path):
    problem = _reaction()
    path = tmp_path / "ckpt.eqx"
    args = dict(key=jr.key(0), param="k", path=(1.0,), **_SMALL)
    first = pinn.continuation(problem, _field(), loop=train.Loop(checkpoint=path), **args)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["ckpt.eqx", "ckpt_lbfgs.eqx", "ckpt_stage0.eqx", "ckpt_stage0_lbfgs.eqx"]
    again = pinn.continuation(
        problem, _field(), loop=train.Loop(checkpoint=path, resume=True), **args
    )
    for a, b in zip(_leaves(first.field), _leaves(again.field), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_continuation_refuses_a_key_that_is_not_a_prng_key_by_name():
    with pytest.raises(TypeError, match="`key` must be a PRNG key"):
        pinn.continuation(_reaction(), _field(), key=0, param="k", path=(1.0,))


def test_continuation_ensemble_follows_each_members_own_path():
    """With `ensemble=True` every member walks the path as it would alone: stage keys folded
    member by member, each member's constrained field passed on bare. In float64, as
    `solve`'s own ensemble test: in float32 L-BFGS amplifies the batched round-off."""
    with jax.enable_x64(True):
        problem = _reaction()
        keys = jr.split(jr.key(5), 2)
        make = lambda k: pinn.MLP(1, width=8, depth=1, key=k)  # noqa: E731
        args = dict(param="k", path=(1.0,), **_SMALL)
        batched = pinn.continuation(
            problem, eqx.filter_vmap(make)(keys), key=keys, ensemble=True, **args
        )
        assert [s["value"] for s in batched.stats["stages"]] == [1.0, 4.0]
        assert batched.members == 2
        for i in range(2):
            alone = pinn.continuation(problem, make(keys[i]), key=keys[i], **args)
            for lb, ls in zip(_leaves(batched.field), _leaves(alone.field), strict=True):
                assert lb.dtype == jnp.float64
                np.testing.assert_allclose(lb[i], ls, rtol=1e-8, atol=1e-9)
