"""A PIG that adapts (issue 27): means drawn from the source, densification at a fixed count,
and the optax wrapper that densifies between steps. Truths: the sampling density in closed
form (a Kolmogorov-Smirnov test that uniform means fail), the densification rule computed a
second way, and the plain optimiser's iterates when no event falls."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
from helpers import raises

from jaxsci import pde, pinn
from jaxsci.pinn._pig_adapt import pig_from_source

FLOOR = 0.25


def _ramp_problem():
    """`-u'' = x^2` on [0, 1]: `|f| = x^2`, so the means' density is
    `q(z) = FLOOR + (1 - FLOOR) 3 z^2` (mean of z^2 is 1/3), CDF `FLOOR z + (1 - FLOOR) z^3`."""
    return pde.Problem(
        pde.Interval(0.0, 1.0),
        operator=-pde.LinearOperator.laplacian(1),
        source=lambda x, p: x[0] ** 2,
        conditions=[pde.Dirichlet(0.0)],
    )


def _ks(samples, cdf):
    s = np.sort(np.ravel(samples))
    n = s.size
    f = cdf(s)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


def test_from_source_means_follow_the_source():
    problem = _ramp_problem()
    pig = pinn.PIG.from_source(problem, 500, floor=FLOOR, key=jr.key(0))
    uniform = pinn.PIG(problem.domain, 500, key=jr.key(0))
    cdf = lambda z: FLOOR * z + (1 - FLOOR) * z**3  # noqa: E731
    n = pig.means.size
    critical = 1.63 / np.sqrt(n)  # Kolmogorov-Smirnov, 1% level
    assert _ks(pig.means, cdf) < critical
    assert _ks(uniform.means, cdf) > 3 * critical  # the uniform sampler fails the same test
    # sigma = scale q(m)^(-1/d), clipped to [scale / 8, max_scale)
    z = np.asarray(pig.means)[..., 0]
    q = FLOOR + (1 - FLOOR) * 3 * z**2
    expected = np.clip(0.05 / q, 0.05 / 8, pig.max_scale * (1 - 1e-3))
    np.testing.assert_allclose(np.asarray(pig.scales)[..., 0], expected, rtol=2e-2)


@pytest.mark.slow  # several compilations: ~1 min on a loaded 2-core machine
def test_from_source_zero_source_is_uniform_and_transforms():
    problem = pde.Problem(
        pde.Box([0.0, -1.0], [2.0, 1.0]),
        operator=-pde.LinearOperator.laplacian(2),
        source=lambda x, p: jnp.zeros((), x.dtype),
    )
    pig = pinn.PIG.from_source(problem, 64, scale=0.07, key=jr.key(1))
    np.testing.assert_allclose(pig.scales, 0.07, rtol=1e-4)
    made = eqx.filter_jit(lambda k: pinn.PIG.from_source(problem, 64, scale=0.07, key=k))
    jitted = made(jr.key(1))
    np.testing.assert_allclose(jitted.means, pig.means, rtol=1e-6)
    members = eqx.filter_vmap(lambda k: pig_from_source(problem, 64, key=k))(jr.split(jr.key(2)))
    assert members.means.shape == (2, 4, 64, 2)
    assert not np.allclose(members.means[0], members.means[1])
    x = jnp.asarray([[0.5, 0.2], [1.5, -0.3]])
    g = eqx.filter_grad(lambda f: jnp.sum(jax.vmap(f)(x) ** 2))(pig)
    assert np.all(np.isfinite(g.means)) and np.any(g.means != 0)


def _square_pig(key, n=64):
    pig = pinn.PIG(pde.Box([0.0, 0.0], [1.0, 1.0]), n, channels=2, scale=0.08, key=key)
    return eqx.tree_at(lambda p: p.weights, pig, jr.normal(jr.fold_in(key, 1), pig.weights.shape))


def _near(pig, centre, radius=0.3):
    return np.sum(np.linalg.norm(np.asarray(pig.physical_means()) - centre, axis=-1) < radius)


def test_densify_moves_gaussians_to_the_bad_region():
    pig = _square_pig(jr.key(3))
    centre = np.asarray([0.8, 0.75])
    axis = (jnp.arange(32) + 0.5) / 32
    points = jnp.stack(jnp.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    residuals = jnp.exp(-jnp.sum((points - centre) ** 2, -1) / (2 * 0.08**2))
    scores = pinn.residual_scores(pig, points, residuals)

    step = eqx.filter_jit(eqx.debug.assert_max_traces(pinn.densify, max_traces=1))
    new, moved = step(pig, scores, key=jr.key(4), fraction=0.1)
    again, _ = step(new, scores * 2.0, key=jr.key(5), fraction=0.1)  # no second trace
    assert again.means.shape == pig.means.shape and again.weights.shape == pig.weights.shape
    assert _near(new, centre) > _near(pig, centre)
    k = 6  # round(0.1 * 64) per channel
    for c in range(2):
        assert int(np.sum(moved[c])) == 2 * k
        pruned = np.argsort(np.abs(np.asarray(pig.weights[c])))[:k]
        others = np.setdiff1d(np.arange(64), pruned)
        split = others[np.argsort(-np.asarray(scores[c])[others])[:k]]
        assert set(np.flatnonzero(moved[c])) == set(pruned) | set(split)
        # the re-placed Gaussians carry the split sources' weights; the rest is untouched
        np.testing.assert_array_equal(
            np.sort(np.asarray(new.weights[c])[pruned]), np.sort(np.asarray(pig.weights[c])[split])
        )
        # the re-placed ones land around the sources, near the bad region
        before = np.linalg.norm(np.asarray(pig.physical_means()[c])[pruned] - centre, axis=-1)
        after = np.linalg.norm(np.asarray(new.physical_means()[c])[pruned] - centre, axis=-1)
        assert np.mean(after) < 0.5 * np.mean(before)
        keep = ~np.asarray(moved[c])
        np.testing.assert_array_equal(new.means[c][keep], pig.means[c][keep])
        # both halves of a split take the source's sigma / 1.6 (every sigma starts at 0.08)
        np.testing.assert_allclose(new.scales[c][~keep], 0.08 / 1.6, rtol=1e-4)


def _fit_loss(target):
    axis = (jnp.arange(16) + 0.5) / 16
    points = jnp.stack(jnp.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    values = jax.vmap(target)(points)

    def loss(pig):
        return jnp.mean((jax.vmap(pig)(points) - values) ** 2)

    return loss


def _train(pig, optimizer, loss, steps):
    params, static = eqx.partition(pig, eqx.is_inexact_array)
    # strongly typed, as `train.fit` holds them (a weak type would retrace after one update)
    params = jax.tree_util.tree_map(lambda x: jnp.array(x, dtype=x.dtype), params)
    state = optimizer.init(params)

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def step(params, state):
        grads = jax.grad(lambda p: loss(eqx.combine(p, static)))(params)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, grads

    grads_seen = []
    for _ in range(steps):
        params, state, grads = step(params, state)
        grads_seen.append(grads)
    return eqx.combine(params, static), state, grads_seen


@pytest.mark.x64  # the same arithmetic in two compiled programs: float64 keeps rounding off
def test_densify_wrapper_off_is_the_inner_optimiser_and_on_is_densify():
    pig = _square_pig(jr.key(6), n=32)
    loss = _fit_loss(lambda x: jnp.exp(-jnp.sum((x - 0.7) ** 2) / 0.02))
    adam = optax.adam(1e-2)
    plain, _, grads = _train(pig, adam, loss, 6)
    # no event within the steps: the inner optimiser's iterates (the same arithmetic in another
    # compiled program, which XLA may fuse differently: equal to float64 rounding)
    never, _, _ = _train(pig, pinn.Densify(every=7).wrap(adam, key=jr.key(0)), loss, 6)
    for a, b in zip(
        jax.tree_util.tree_leaves(plain), jax.tree_util.tree_leaves(never), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # an event after step 6: the plain iterate densified with the mean gradient norm of the
    # means over the 6 steps, by the same key (a second path to the same parameters)
    wrapped = pinn.Densify(every=6, fraction=0.25).wrap(adam, key=jr.key(0))
    dense, state, _ = _train(pig, wrapped, loss, 6)
    scores = sum(jnp.sqrt(jnp.sum(g.means**2, -1)) for g in grads) / 6
    key = jr.fold_in(jr.key(0), 6)
    expected, moved = pinn.densify(plain, scores, key=key, fraction=0.25)
    for a, b in zip(
        jax.tree_util.tree_leaves(expected), jax.tree_util.tree_leaves(dense), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    # Adam's moments restart for the moved entries only; the step count goes on
    adam_state = state.inner[0]
    assert int(adam_state.count) == 6 and int(state.count) == 6
    assert np.all(np.asarray(adam_state.mu.means)[np.asarray(moved)] == 0)
    assert np.all(np.asarray(adam_state.nu.weights)[np.asarray(moved)] == 0)
    assert np.all(np.asarray(adam_state.nu.weights)[~np.asarray(moved)] > 0)
    assert np.all(np.asarray(state.scores) == 0)


def test_densify_bad_input():
    pig = _square_pig(jr.key(7), n=8)
    with raises(ValueError, "fraction"):
        pinn.densify(pig, jnp.zeros((2, 8)), key=jr.key(0), fraction=0.75)
    with raises(ValueError, "scores"):
        pinn.densify(pig, jnp.zeros((8,)), key=jr.key(0))
    with raises(ValueError, "fraction"):
        pinn.Densify(fraction=0.0)
    with raises(ValueError, "every"):
        pinn.Densify(every=0)
    mlp = pinn.MLP(2, key=jr.key(0))
    opt = pinn.Densify().wrap(optax.adam(1e-3), key=jr.key(0))
    with raises(ValueError, "exactly one PIG"):
        opt.init(eqx.filter(mlp, eqx.is_inexact_array))
    with raises(TypeError, "key"):
        pinn.Densify().wrap(optax.adam(1e-3), key=0)
    with raises(TypeError, "inner"):
        pinn.Densify().wrap(pinn.Adam(), key=jr.key(0))
    with raises(ValueError, "floor"):
        pinn.PIG.from_source(_ramp_problem(), 8, floor=1.5, key=jr.key(0))
    with raises(ValueError, "init"):
        pinn.PIG.from_source(_ramp_problem(), 8, init="grid", key=jr.key(0))


@pytest.mark.slow
def test_densify_through_solve():
    problem = _ramp_problem()
    pig = pinn.PIG(problem.domain, 16, key=jr.key(0))
    opt = pinn.Densify(every=5, fraction=0.25).wrap(pinn.Adam().transformation(), key=jr.key(1))
    sol = pinn.solve(problem, pig, opt, key=jr.key(2), steps=20, lbfgs=pinn.LBFGSPhase(steps=5))
    assert sol.stats["steps"] == 25 and sol.result.name == "successful"
    assert sol.field.field.means.shape == pig.means.shape
