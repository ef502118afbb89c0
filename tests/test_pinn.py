import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

from jaxsci import pde, pinn, train
from jaxsci.pde._eigenproblems import infinite_well


def test_poisson_1d_below_1e3(getkey):
    p = pde.poisson_1d()
    f = pinn.MLP(1, width=32, depth=3, key=getkey())
    sol = pinn.solve(p, f, key=getkey(), steps=3000, sampling=pinn.Sampling(n_interior=256))
    assert sol.stats["failed_step"] is None
    assert sol.error() < 1e-3
    # Adam, then the default L-BFGS phase: 5 * steps // 8
    assert sol.history["loss"].shape == (3000 + 1875,)
    assert [s["steps"] for s in sol.stats["phases"].values()] == [3000, 1875]


def test_solution_is_not_trivially_accurate(getkey):
    """The error check can fail: an untrained field is far from the solution."""
    p = pde.poisson_1d()
    sol = pinn.solve(p, pinn.MLP(1, width=32, depth=3, key=getkey()), key=getkey(), steps=0)
    assert sol.error() > 0.5


# 50 s on 2 cores: 4500 steps to the config's accuracy. By default the eigenvalue path is
# covered by the quickstart notebook's infinite well and by test_rayleigh_quotient_of_exact_state
@pytest.mark.slow
def test_infinite_well_eigenpair(getkey):
    p = infinite_well()
    f = pinn.Constrained(
        pinn.MLP(1, width=32, depth=3, key=getkey()), pinn.dirichlet_transform(p.domain)
    )
    common = dict(sampling=pinn.Sampling(n_interior=512, n_boundary=1000, method="grid"))
    # the budget of experiments/configs/infinite_well.toml
    sol = pinn.solve(p, f, key=getkey(), steps=4000, **common, lbfgs=pinn.LBFGSPhase(steps=500))
    assert abs(float(sol.params["energy"]) - math.pi**2) < 1e-4
    assert abs(sol.rayleigh_quotient() - math.pi**2) < 1e-4
    assert sol.error() < 1e-3


@pytest.mark.slow
def test_finite_well_ground_state(getkey):
    p = pde.finite_well()
    f = pinn.Constrained(
        pinn.MLP(1, width=32, depth=3, key=getkey()), pinn.dirichlet_transform(p.domain)
    )
    common = dict(sampling=pinn.Sampling(n_interior=1000, n_boundary=2000, method="grid"))
    sol = pinn.solve(p, f, key=getkey(), steps=6000, **common, lbfgs=pinn.LBFGSPhase(steps=1000))
    e = p.exact_eigenvalue
    assert abs(float(sol.params["energy"]) - e) < 1e-3 * e
    assert sol.error() < 1e-2


def test_inverse_problem_learns_coefficient(getkey):
    """Heat equation with unknown diffusivity 0.1, started from 0.3, learned from data."""
    truth = pde.heat_1d(0.1)
    obs_x = truth.domain.sample(getkey(), 200)
    data = truth.exact_values(obs_x)
    p = pde.Problem(
        truth.domain,
        truth.residual,
        conditions=truth.conditions + (pde.Observations(obs_x, data, weight=10.0),),
        exact=truth.exact,
        params={"diffusivity": jnp.asarray(0.3)},
        name="heat_inverse",
    )
    f = pinn.MLP(2, width=32, depth=3, key=getkey())
    sol = pinn.solve(
        p,
        f,
        optax.adam(3e-3),
        key=getkey(),
        steps=3000,
        learn=["diffusivity"],
        sampling=pinn.Sampling(n_interior=512),
    )
    assert abs(float(sol.params["diffusivity"]) - 0.1) < 0.01
    assert sol.error() < 0.05


def test_ensemble_equals_separate_runs(getkey):
    p = pde.poisson_1d()
    keys = jr.split(getkey(), 8)
    make = lambda k: pinn.MLP(1, width=16, depth=2, key=k)
    common = dict(steps=200, lbfgs=pinn.LBFGSPhase(steps=0), sampling=pinn.Sampling(n_interior=64))
    batched = pinn.solve(p, eqx.filter_vmap(make)(keys), key=keys, ensemble=True, **common)
    assert batched.history["loss"].shape == (8, 200)
    for i in range(8):
        single = pinn.solve(p, make(keys[i]), key=keys[i], **common)
        leaves_b = jax.tree_util.tree_leaves(eqx.filter(batched.field, eqx.is_array))
        leaves_s = jax.tree_util.tree_leaves(eqx.filter(single.field, eqx.is_array))
        for lb, ls in zip(leaves_b, leaves_s, strict=True):
            assert np.allclose(lb[i], ls, rtol=1e-4, atol=1e-5)


def test_ensemble_lbfgs_phase_equals_separate_runs():
    """The default L-BFGS phase under vmap (its line search a batched while loop) follows each
    member's own run. In float64: in float32 L-BFGS amplifies the round-off of the batched
    matmuls to ~1e-2 in the weights within 50 steps (same losses)."""
    with jax.enable_x64(True):
        p = pde.poisson_1d()
        keys = jr.split(jr.key(3), 2)
        make = lambda k: pinn.MLP(1, width=8, depth=1, key=k)
        common = dict(
            steps=20,
            lbfgs=pinn.LBFGSPhase(steps=10),
            sampling=pinn.Sampling(n_interior=32),
            loop=train.Loop(chunk_size=30),
        )
        batched = pinn.solve(p, eqx.filter_vmap(make)(keys), key=keys, ensemble=True, **common)
        assert batched.history["loss"].shape == (2, 30)
        for i in range(2):
            single = pinn.solve(p, make(keys[i]), key=keys[i], **common)
            leaves_b = jax.tree_util.tree_leaves(eqx.filter(batched.field, eqx.is_array))
            leaves_s = jax.tree_util.tree_leaves(eqx.filter(single.field, eqx.is_array))
            for lb, ls in zip(leaves_b, leaves_s, strict=True):
                assert lb.dtype == jnp.float64
                np.testing.assert_allclose(lb[i], ls, rtol=1e-8, atol=1e-9)


def test_solve_defaults_hard_dirichlet_and_lbfgs(getkey):
    """A bare call imposes the zero Dirichlet condition exactly and finishes with L-BFGS."""
    p = pde.poisson_2d()
    f = pinn.MLP(2, width=16, depth=2, key=getkey())
    sol = pinn.solve(
        p,
        f,
        key=getkey(),
        steps=40,
        sampling=pinn.Sampling(n_interior=64),
        loop=train.Loop(chunk_size=20),
    )
    assert isinstance(sol.field, pinn.Constrained)
    assert sol.problem is p  # the solution answers for the problem given
    assert "dirichlet0" not in sol.history  # no loss term for what holds exactly
    assert list(sol.stats["phases"]) == ["first", "lbfgs"]
    assert sol.stats["steps"] == 40 + 25  # the L-BFGS phase: 5 * steps // 8 by default
    # each step's line-search evaluations: none in the Adam phase, at least one in L-BFGS's
    searched = sol.history["linesearch_steps"]
    assert searched.shape == sol.history["loss"].shape == (65,)
    assert np.all(searched[:40] == 0) and np.all(searched[40:] >= 1)
    edge = p.domain.sample_boundary(getkey(), 32)
    assert np.max(np.abs(np.asarray(sol(edge)))) < 1e-6
    soft = pinn.solve(
        p,
        f,
        key=getkey(),
        steps=40,
        hard_dirichlet=False,
        lbfgs=pinn.LBFGSPhase(steps=0),
        sampling=pinn.Sampling(n_interior=64),
    )
    assert isinstance(soft.field, pinn.MLP) and "dirichlet0" in soft.history
    # a non-zero Dirichlet value has no exact transform: the default keeps it a loss term
    kg = pde.klein_gordon_1d()
    g = pinn.MLP(2, width=8, depth=1, key=getkey())
    kept = pinn.solve(
        kg,
        g,
        key=getkey(),
        steps=10,
        lbfgs=pinn.LBFGSPhase(steps=0),
        sampling=pinn.Sampling(n_interior=32),
    )
    assert isinstance(kept.field, pinn.MLP)
    with pytest.raises(ValueError, match="hard_dirichlet=True"):
        pinn.solve(
            kg,
            g,
            key=getkey(),
            steps=10,
            hard_dirichlet=True,
            sampling=pinn.Sampling(n_interior=32),
        )
    with pytest.raises(ValueError, match="LBFGSPhase.*`steps`"):
        pinn.LBFGSPhase(steps=-1)


@pytest.mark.x64
def _float32_floor(params, extra, key):
    """A narrow well on a near-flat floor: late searches fail at float32 precision and run to
    their cap, as late in a PINN's L-BFGS phase."""
    x = params["x"]
    return -jnp.sum(jnp.exp(-1e4 * (x - 0.1) ** 2)) + 1e-3 * jnp.sum(x**2), {}


def test_lbfgs_phase_caps_its_line_search(getkey):
    """`LBFGSPhase(max_linesearch=n)`: no iteration searches more than `n` steps; the default
    is optax's L-BFGS with its zoom search capped at 10, iterate for iterate, and
    `max_linesearch=20` is optax's own `optax.lbfgs`."""

    x0, key = {"x": jnp.array([0.105, 0.099])}, getkey()
    run = lambda opt: train.fit(_float32_floor, x0, opt, steps=30, key=key)  # noqa: E731
    search = optax.scale_by_zoom_linesearch(10, initial_guess_strategy="one")
    default = run(pinn.LBFGSPhase().transformation())
    by_hand = run(optax.lbfgs(memory_size=100, linesearch=search))
    np.testing.assert_array_equal(default.history["loss"], by_hand.history["loss"])
    twenty = run(pinn.LBFGSPhase(max_linesearch=20).transformation())
    optax_own = run(optax.lbfgs(memory_size=100))
    np.testing.assert_array_equal(twenty.history["loss"], optax_own.history["loss"])
    # the searches fail here, so each cap is reached: the default stops at 10, optax's at 20
    assert default.history["linesearch_steps"].max() == 10
    assert twenty.history["linesearch_steps"].max() == 20
    capped = run(pinn.LBFGSPhase(max_linesearch=2).transformation())
    assert capped.history["linesearch_steps"].max() == 2
    with pytest.raises(ValueError, match="LBFGSPhase.*`max_linesearch`"):
        pinn.LBFGSPhase(max_linesearch=0)


def test_hard_constraints_and_embeddings(getkey):
    box = pde.Box([0.0, -1.0], [2.0, 1.0])
    f = pinn.Constrained(pinn.MLP(2, key=getkey()), pinn.dirichlet_transform(box))
    b = box.sample_boundary(getkey(), 64)
    assert np.allclose(jax.vmap(f)(b), 0.0, atol=1e-6)
    emb = pinn.PeriodicEmbedding(2, axes=[0], periods=[2 * math.pi], harmonics=3)
    g = pinn.MLP(2, embedding=emb, key=getkey())
    x = jr.uniform(getkey(), (16, 2))
    shift = jnp.array([2 * math.pi, 0.0])
    assert np.allclose(jax.vmap(g)(x), jax.vmap(g)(x + shift), atol=1e-5)
    ff = pinn.MLP(
        1,
        embedding=pinn.FourierFeatures(1, 32, scale=10.0, key=getkey()),
        factorisation=(1.0, 0.1),
        key=getkey(),
    )
    y = jax.jit(jax.vmap(ff))(jnp.linspace(0, 1, 5)[:, None])
    assert y.shape == (5,)
    # gradients flow to every trainable leaf, and not to the fixed Fourier frequencies
    grads = eqx.filter_grad(lambda m: jnp.sum(jax.vmap(m)(x[:, :1]) ** 2))(ff)
    assert np.all(grads.embedding.frequencies == 0.0)
    assert np.any(grads.layers[0].log_scale != 0.0)


def test_fourier_features_with_the_input_are_the_point_then_the_features(getkey):
    ff = pinn.FourierFeatures(3, 8, scale=2.0, key=getkey())
    both = pinn.FourierFeatures(3, 8, scale=2.0, include_input=True, key=getkey())
    both = eqx.tree_at(lambda e: e.frequencies, both, ff.frequencies)
    x = jnp.array([0.1, -0.4, 0.7])
    z = 2 * jnp.pi * ff.frequencies @ x
    np.testing.assert_allclose(ff(x), jnp.concatenate([jnp.cos(z), jnp.sin(z)]), rtol=1e-6)
    np.testing.assert_allclose(both(x), jnp.concatenate([x, ff(x)]), rtol=1e-6)
    assert (ff.out_size, both.out_size) == (16, 19)
    assert pinn.MLP(3, embedding=both, key=getkey())(x).shape == ()


def test_fourier_features_default_scale_is_one_cycle_per_unit_in_any_dimension():
    # B ~ N(0, scale^2) per entry: E |B_i|^2 = scale^2 dim, so the default 1 / sqrt(dim) puts
    # each feature at one cycle per unit along its direction on average, in 1D, 2D and 3D
    key = jr.key(3)
    for dim in (1, 2, 3):
        default = pinn.FourierFeatures(dim, 20_000, key=key)
        explicit = pinn.FourierFeatures(dim, 20_000, scale=dim**-0.5, key=key)
        np.testing.assert_array_equal(default.frequencies, explicit.frequencies)
        mean_sq = float(jnp.mean(jnp.sum(default.frequencies**2, axis=1)))
        assert abs(mean_sq - 1.0) < 0.05, (dim, mean_sq)
    with pytest.raises(ValueError, match="`scale` must be a positive float"):
        pinn.FourierFeatures(2, 8, scale=0.0, key=key)
    with pytest.raises(TypeError, match="`scale` must be a positive float"):
        pinn.FourierFeatures(2, 8, scale="1", key=key)


def test_fourier_features_per_side_see_the_domain_as_a_unit_box():
    # with `lengths` L the features at x are the plain features at x / L: cycles per side
    key, lengths = jr.key(4), (2 * math.pi, 1.0)
    per_side = pinn.FourierFeatures(2, 16, lengths=lengths, key=key)
    per_unit = pinn.FourierFeatures(2, 16, key=key)
    x = jnp.array([4.0, 0.3])
    # float32 phases up to ~30 rad, rounded in a different order: 1e-4 (a wrong scale is O(1))
    np.testing.assert_allclose(per_side(x), per_unit(x / jnp.array(lengths)), atol=1e-4)
    for bad in ((1.0,), (1.0, 0.0), (1.0, float("inf")), "ab", ((1.0, 2.0),)):
        with pytest.raises(ValueError, match="`lengths` must be 2 positive numbers"):
            pinn.FourierFeatures(2, 8, lengths=bad, key=key)


def test_mlp_given_the_domain_sees_it_as_a_unit_box():
    # MLP(domain) is MLP(dim) on features per domain side; so the field on a box of sides L at
    # x is the field on the unit box at x / L, whatever the units of the problem
    key = jr.key(5)
    wide, unit = pde.Box((0.0, 0.0), (2 * math.pi, 1.0)), pde.Box((0.0, 0.0), (1.0, 1.0))
    field = pinn.MLP(wide, width=16, depth=2, key=key)
    explicit = pinn.MLP(
        2,
        width=16,
        depth=2,
        embedding=pinn.FourierFeatures(2, lengths=(2 * math.pi, 1.0), key=jr.fold_in(key, 7)),
        key=key,
    )
    for a, b in zip(jax.tree.leaves(field), jax.tree.leaves(explicit), strict=True):
        np.testing.assert_array_equal(a, b)
    assert field.in_size == 2 and field.embedding.out_size == 128
    on_unit = pinn.MLP(unit, width=16, depth=2, key=key)
    x = jr.uniform(jr.key(6), (32, 2)) * jnp.array([2 * math.pi, 1.0])
    np.testing.assert_allclose(
        jax.vmap(field)(x), jax.vmap(on_unit)(x / jnp.array([2 * math.pi, 1.0])), atol=1e-4
    )
    km = pinn.MLP(pde.Interval(0.0, 1000.0), key=key)  # a problem in metres, not in km
    np.testing.assert_allclose(
        km(jnp.array([250.0])),
        pinn.MLP(pde.Interval(0.0, 1.0), key=key)(jnp.array([0.25])),
        atol=1e-4,
    )
    # an explicit embedding wins; a batch of fields is one vmapped construction (the zoo's)
    assert (
        pinn.MLP(
            wide, embedding=pinn.PeriodicEmbedding(2, [0], [2 * math.pi]), key=key
        ).embedding.out_size
        == 3
    )
    batch = eqx.filter_vmap(lambda k: pinn.MLP(wide, width=8, depth=1, key=k))(jr.split(key, 3))
    assert batch.embedding.frequencies.shape == (3, 64, 2)
    for bad in ("2", 2.0, None, True):
        with pytest.raises(TypeError, match="`in_size` must be a positive int .* or a domain"):
            pinn.MLP(bad, key=key)


def test_initial_transform_holds_the_initial_value_exactly(getkey):
    ac = pde.allen_cahn()  # u(x, 0) = x^2 cos(pi x) on [-1, 1] x [0, 1]
    f = pinn.Constrained(pinn.PIG(ac.domain, 32, key=getkey()), pinn.initial_transform(ac))
    x0 = ac.domain.sample_initial(getkey(), 64)
    u0 = x0[:, 0] ** 2 * jnp.cos(jnp.pi * x0[:, 0])
    np.testing.assert_allclose(jax.vmap(f)(x0), u0, atol=1e-6)
    # inside, u0 + t v: the field's own value, scaled by the elapsed fraction of [t0, t1]
    x = ac.domain.sample(getkey(), 64)
    v = jax.vmap(f.field)(x)
    np.testing.assert_allclose(
        jax.vmap(f)(x), x[:, 0] ** 2 * jnp.cos(jnp.pi * x[:, 0]) + x[:, 1] * v, rtol=1e-5
    )
    # the problem's parameters are used and frozen as numbers: equal transforms compare equal
    heat = pde.heat_1d()
    assert pinn.initial_transform(heat) == pinn.initial_transform(heat)
    xh = heat.domain.sample_initial(getkey(), 16)
    g = pinn.Constrained(pinn.MLP(2, key=getkey()), pinn.initial_transform(heat))
    iv = next(c for c in heat.conditions if isinstance(c, pde.InitialValue))
    truth = jax.vmap(lambda x: iv.value(x, heat.params))(xh)
    np.testing.assert_allclose(jax.jit(jax.vmap(g))(xh), truth, atol=1e-6)
    with pytest.raises(ValueError, match="initial_transform: problem 'poisson_2d' is not time"):
        pinn.initial_transform(pde.poisson_2d())


def test_strategies_run_and_adapt(getkey):
    p = pde.convection(beta=1.0)
    emb = pinn.PeriodicEmbedding(2, axes=[0], periods=[2 * math.pi])
    f = pinn.MLP(2, width=32, depth=3, embedding=emb, key=getkey())
    sol = pinn.solve(
        p,
        f,
        key=getkey(),
        steps=600,
        sampling=pinn.Sampling(
            n_interior=512,
            adaptive=pinn.AdaptiveResampling(every=200, n_candidates=2048, n_replace=64),
            resample_every=300,
        ),
        weighting=pinn.Weighting(
            balancing=pinn.GradientBalancing(every=100),
            causal=pinn.CausalWeighting(n_chunks=8, tolerance=1.0),
        ),
    )
    assert sol.stats["failed_step"] is None
    assert sol.history["loss"][-1] < 0.2 * sol.history["loss"][0]
    # balancing acted: the weights start at 1 (the loss is the sum of its terms) and are
    # changed from step 100 on (it is not); with `balancing=None` the two stay equal throughout
    terms = sum(v for k, v in sol.history.items() if k != "loss")
    np.testing.assert_allclose(sol.history["loss"][:100], terms[:100], rtol=1e-5)
    assert np.max(np.abs(sol.history["loss"][150:] / terms[150:] - 1)) > 1e-2
    # causal weighting acts on the residual term: on the untrained field (large residuals)
    # later time slabs count less than with tolerance 0 (every slab weight 1); a loss that
    # ignored `causal` could not tell the two apart
    from jaxsci.pinn._loss import _Objective

    def causal_loss(tolerance):
        objective = _Objective(p, (), pinn.CausalWeighting(n_chunks=8, tolerance=tolerance))
        return float(objective.residual_loss(f, sol.points, p.params))

    assert causal_loss(1.0) < 0.9 * causal_loss(0.0)
    # the L-BFGS phase held the first phase's last slab weights (a fixed-weight loss), and
    # solve records them: the earliest slab at weight 1, later ones no heavier
    held = sol.stats["causal_weights"]
    assert held.shape == (8,) and held[0] == 1.0 and np.all(np.diff(held) <= 0)
    assert sol.stats["phases"]["lbfgs"]["steps"] > 0


@pytest.mark.parametrize("resample_boundary", [False, True])
def test_resampling_redraws_boundary_points_only_when_asked(getkey, resample_boundary):
    from jaxsci.pinn._loss import _Objective, _Update

    problem = pde.poisson_2d()
    weights = jnp.ones(1 + len(problem.conditions))
    sampling = pinn.Sampling(
        n_interior=64,
        n_boundary=32,
        method="uniform",
        resample_every=2,
        resample_boundary=resample_boundary,
    )
    update = _Update(_Objective(problem, (), None), sampling, None, weights)
    extra = update.init_extra(getkey())
    trainable = (pinn.MLP(2, width=4, depth=1, key=getkey()), {})
    kept = update(trainable, extra, getkey(), jnp.asarray(0))  # not a redraw step
    drawn = update(trainable, extra, getkey(), jnp.asarray(1))
    leaves = jax.tree_util.tree_leaves
    for a, b in zip(leaves(kept), leaves(extra), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(drawn["interior"], extra["interior"])
    new, old = np.asarray(drawn["conditions"][0]), np.asarray(extra["conditions"][0])
    assert (not np.array_equal(new, old)) == resample_boundary
    # redrawn or not, the points lie on the boundary of the unit square
    on_face = np.min(np.abs(np.concatenate([new, 1 - new], axis=1)), axis=1)
    np.testing.assert_allclose(on_face, 0.0, atol=1e-6)


def test_sampler_draws_the_conditions_points_too(getkey):
    # `sampler` covers the initial and boundary points as well as the interior (DeepXDE's
    # Hammersley set: evenly spaced initial points, each end of the interval half the points)
    from jaxsci.pinn._loss import _Objective, _Update

    problem = pde.burgers()
    weights = jnp.ones(3)
    sampling = pinn.Sampling(n_interior=64, n_boundary=32, method="hammersley")
    update = _Update(_Objective(problem, (), None), sampling, None, weights)
    extra = update.init_extra(getkey())
    initial, boundary = (np.asarray(p) for p in extra["conditions"])
    np.testing.assert_allclose(np.sort(initial[:, 0]), -1 + 2 * np.arange(1, 33) / 33, atol=1e-6)
    assert np.sum(boundary[:, 0] == -1.0) == np.sum(boundary[:, 0] == 1.0) == 16
    np.testing.assert_allclose(np.sort(boundary[:16, 1]), np.arange(1, 17) / 17, atol=1e-6)
    grid = pinn.Sampling(n_interior=64, n_boundary=32, method="grid")
    uniform = _Update(_Objective(problem, (), None), grid, None, weights)
    assert not np.allclose(
        np.sort(uniform.init_extra(getkey())["conditions"][0][:, 0]),
        np.sort(initial[:, 0]),
        atol=1e-3,
    )  # grid: i.i.d. condition points
    with pytest.raises(ValueError, match="random `method`"):
        pinn.Sampling(method="hammersley", resample_every=1)


def test_adaptive_resampling_moves_points_to_large_residual(getkey):
    """After refinement, the points where the field is wrong are over-represented."""
    dom = pde.Interval(0.0, 1.0)
    # residual large only on [0.9, 1]
    p = pde.Problem(
        dom, residual=lambda u, x, prm: jnp.where(x[0] > 0.9, 1.0, 0.0) * (1 + x[0]), conditions=[]
    )
    f = pinn.MLP(1, width=8, depth=1, key=getkey())
    sol = pinn.solve(
        p,
        f,
        optax.sgd(0.0),
        key=getkey(),
        steps=1,
        sampling=pinn.Sampling(
            n_interior=500,
            adaptive=pinn.AdaptiveResampling(every=1, n_candidates=4000, n_replace=200),
        ),
    )
    assert sol.points.shape == (500, 1)
    # 200 of the ~450 points outside [0.9, 1] move into it: ~10% becomes ~50%
    assert np.mean(sol.points[:, 0] > 0.9) > 0.4


def test_bad_input(getkey):
    p = pde.poisson_2d()
    with pytest.raises(ValueError, match="dim 1"):
        pinn.solve(p, pinn.MLP(1, key=getkey()), key=getkey(), steps=1)
    with pytest.raises(TypeError, match="field"):
        pinn.solve(p, lambda x: x[0], key=getkey(), steps=1)
    with pytest.raises(ValueError, match="learn"):
        pinn.solve(p, pinn.MLP(2, key=getkey()), key=getkey(), steps=1, learn=["beta"])
    with pytest.raises(ValueError, match="Sampling: unknown `method` 'sobel'"):
        pinn.Sampling(method="sobel")
    with pytest.raises(TypeError, match="Sampling: `n_interior` must be a positive int"):
        pinn.Sampling(n_interior=2.5)
    with pytest.raises(TypeError, match="solve: `sampling` must be a Sampling"):
        pinn.solve(p, pinn.MLP(2, key=getkey()), key=getkey(), steps=1, sampling={"n": 3})
    with pytest.raises(ValueError, match="hard_dirichlet"):
        pinn.solve(p, pinn.MLP(2, key=getkey()), key=getkey(), steps=1, hard_dirichlet=None)
    with pytest.raises(ValueError, match="causal"):
        pinn.solve(
            p,
            pinn.MLP(2, key=getkey()),
            key=getkey(),
            steps=1,
            weighting=pinn.Weighting(causal=pinn.CausalWeighting()),
        )
    with pytest.raises(ValueError, match="activation"):
        pinn.MLP(2, activation="softsign", key=getkey())
    with pytest.raises(ValueError, match="shape"):
        pinn.MLP(2, key=getkey())(jnp.zeros(3))


def test_nan_in_training_stops_with_step(getkey, capsys):
    from jaxsci import RESULTS, SolveFailed

    p = pde.poisson_1d()
    f = pinn.MLP(1, width=16, depth=2, key=getkey())
    run = lambda throw: pinn.solve(  # noqa: E731
        p,
        f,
        optax.sgd(1e6),
        key=getkey(),
        steps=2000,
        sampling=pinn.Sampling(n_interior=64),
        lbfgs=pinn.LBFGSPhase(steps=10),
        loop=train.Loop(chunk_size=100),
        throw=throw,
    )
    sol = run(False)
    step = sol.stats["failed_step"]
    assert step is not None and step < 100
    assert sol.result is RESULTS.nonfinite
    # the L-BFGS phase did not run, and the solution says why instead of skipping silently
    assert "nonfinite" in sol.stats["phases"]["lbfgs_skipped"]
    assert capsys.readouterr().err == ""  # no print on failure
    with pytest.raises(SolveFailed, match="solve: .*not finite.*first at step") as info:
        run(True)
    assert info.value.solution.result is RESULTS.nonfinite
    leaves = jax.tree_util.tree_leaves(eqx.filter(sol.field, eqx.is_array))
    assert all(np.all(np.isfinite(leaf)) for leaf in leaves)


def test_repeated_solves_do_not_recompile(getkey):
    traces = []
    base = pde.poisson_1d()

    def residual(u, x, params):
        traces.append(1)
        return base.residual(u, x, params)

    p = pde.Problem(base.domain, residual, base.conditions, exact=base.exact)
    opt = optax.adam(1e-3)
    after_first = None
    for _ in range(3):
        f = pinn.MLP(1, width=8, depth=2, key=getkey())
        pinn.solve(
            p,
            f,
            opt,
            key=getkey(),
            steps=20,
            sampling=pinn.Sampling(n_interior=32),
            loop=train.Loop(chunk_size=10),
        )
        after_first = len(traces) if after_first is None else after_first
    # the first solve traces the residual in its step (the loss, and the NTK weights' update
    # where they are on); later solves reuse that compilation and trace nothing
    assert after_first >= 1 and len(traces) == after_first


def test_lbfgs_chunks_share_one_compilation(getkey):
    """optax.lbfgs's initial state has weakly typed scalars; the first step returns them strongly
    typed. A run of three chunks must trace the residual as often as a run of one."""
    base = pde.poisson_1d()

    def traced_solve(chunks):
        traces = []

        def residual(u, x, params):
            traces.append(1)
            return base.residual(u, x, params)

        p = pde.Problem(base.domain, residual, base.conditions, exact=base.exact)
        f = pinn.MLP(1, width=8, depth=2, key=jr.key(0))
        pinn.solve(
            p,
            f,
            optax.lbfgs(),
            key=jr.key(1),
            steps=5 * chunks,
            sampling=pinn.Sampling(n_interior=32),
            loop=train.Loop(chunk_size=5),
        )
        return len(traces)

    assert traced_solve(3) == traced_solve(1)


@pytest.mark.parametrize(
    "optimizer, resample_every, lbfgs_steps, balancing, expected",
    [
        ("adam", 0, 3, "default", [False, True]),  # Adam, then the L-BFGS phase, fixed points
        ("lbfgs", 0, 0, None, [True]),  # a user L-BFGS on fixed points and weights
        ("lbfgs", 2, 0, None, [False]),  # points redrawn: a stored value would be stale
        # NTK weights move (the Dirichlet faces are loss terms): a stored value would be too
        ("lbfgs", 0, 0, "default", [False]),
        # one term left (the faces imposed exactly): its NTK weight cannot move, so no update
        ("lbfgs", 0, 0, "one term", [True]),
    ],
)
def test_solve_reuses_line_search_values_where_valid(
    monkeypatch, optimizer, resample_every, lbfgs_steps, balancing, expected
):
    """Each phase asks `train.fit` to reuse the line search's value and gradient exactly when
    that is valid (a line-search optimiser on fixed points); `fit` itself is tested to follow
    the same iterates either way (tests/test_train.py)."""
    from jaxsci.pinn import _solve

    seen = []
    real_fit = _solve.fit

    def spy(*args, **kwargs):
        seen.append(kwargs.get("reuse_linesearch", False))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(_solve, "fit", spy)
    opt = optax.adam(1e-3) if optimizer == "adam" else optax.lbfgs()
    sol = pinn.solve(
        pde.poisson_1d(),
        pinn.MLP(1, width=8, depth=2, key=jr.key(0)),
        opt,
        key=jr.key(1),
        steps=4,
        lbfgs=pinn.LBFGSPhase(steps=lbfgs_steps),
        sampling=pinn.Sampling(resample_every=resample_every, n_interior=32),
        weighting=pinn.Weighting() if balancing else pinn.Weighting(balancing=None),
        hard_dirichlet=balancing != "default",
    )
    assert seen == expected
    assert np.all(np.isfinite(sol.history["loss"]))


def test_rayleigh_quotient_of_exact_state(getkey):
    """For psi = sqrt(2) sin(pi x) the Rayleigh quotient is pi^2 whatever the trained energy."""
    p = infinite_well()

    class Exact(pinn.AbstractField):
        def __call__(self, x):
            return jnp.sqrt(2.0) * jnp.sin(jnp.pi * x[0])

    sol = pinn.PINNSolution(Exact(), p.params, p, jnp.zeros((1, 1)), {}, {})
    assert abs(sol.rayleigh_quotient() - math.pi**2) < 1e-4
    with pytest.raises(ValueError, match="not an eigenproblem"):
        pinn.PINNSolution(
            Exact(), {}, pde.poisson_1d(), jnp.zeros((1, 1)), {}, {}
        ).rayleigh_quotient()


def test_strategies_are_pure_functions_with_closed_forms():
    # balancing: weight i = sum_j |g_j| / |g_i| times its base weight (momentum 0: no smoothing)
    bal = pinn.GradientBalancing(momentum=0.0)
    w = bal.update(jnp.ones(3), jnp.asarray([1.0, 2.0, 4.0]), jnp.asarray([1.0, 1.0, 2.0]))
    np.testing.assert_allclose(w, [7.0, 3.5, 3.5])
    half = pinn.GradientBalancing(momentum=0.5).update(jnp.ones(3), jnp.ones(3), jnp.ones(3))
    np.testing.assert_allclose(half, [2.0, 2.0, 2.0])  # 0.5 * 1 + 0.5 * 3
    # causal: slab means L = (1, 3), weights (1, exp(-tol * 1)), mean of w * L
    sq = jnp.asarray([0.5, 1.5, 3.0, 3.0])
    t = jnp.asarray([0.1, 0.2, 0.6, 0.9])
    causal = pinn.CausalWeighting(n_chunks=2, tolerance=2.0)
    np.testing.assert_allclose(causal.loss(sq, t, 0.0, 1.0), (1.0 + 3.0 * np.exp(-2.0)) / 2)
    np.testing.assert_allclose(
        pinn.CausalWeighting(n_chunks=2, tolerance=0.0).loss(sq, t, 0.0, 1.0), 2.0
    )
    # adaptive: the n_replace points of smallest residual give way to the worst candidates
    pts = jnp.arange(5.0)[:, None]
    cand = 10.0 + jnp.arange(4.0)[:, None]
    new = pinn.AdaptiveResampling(n_replace=2).update(
        pts, jnp.asarray([5.0, 0.1, 3.0, 0.2, 4.0]), cand, jnp.asarray([1.0, 9.0, 8.0, 0.0])
    )
    assert sorted(np.asarray(new[:, 0]).tolist()) == [0.0, 2.0, 4.0, 11.0, 12.0]


def test_lbfgs_phase_holds_causal_weights_so_its_gradient_is_the_losss(getkey):
    # A line search compares the loss's values with its gradient. Live causal weights are held
    # constant for the gradient (stop-gradient), so that gradient is not the derivative of the
    # loss's value: on convection at beta 30 (MLP 32 x 4 given the domain, seed 0) the L-BFGS
    # phase went from 1.39 to 3.5e4 relative L2. Frozen weights (`freeze_causal`) give a loss
    # whose directional derivative is its gradient's, and which equals the live loss where
    # they were taken.
    from jaxsci.pinn._loss import _Objective, _Update

    problem = pde.convection(30.0)
    objective = _Objective(problem, (), pinn.CausalWeighting(n_chunks=8, tolerance=1.0))
    weights = jnp.ones(1 + len(problem.conditions))
    sampling = pinn.Sampling(n_interior=256, n_boundary=64, method="uniform")
    update = _Update(objective, sampling, None, weights)
    extra = update.init_extra(getkey())
    field = pinn.MLP(2, width=16, depth=2, key=getkey())
    params, static = eqx.partition((field, {}), eqx.is_inexact_array)
    frozen = eqx.filter_jit(objective.freeze_causal)((field, {}), extra)
    assert frozen["causal"].shape == (8,) and float(frozen["causal"][0]) == 1.0
    # the untrained field's residuals make later slabs' weights small: the weighting matters
    assert float(frozen["causal"][-1]) < 0.5

    @jax.jit
    def loss(p, ex):
        return objective(eqx.combine(p, static), ex, None)[0]

    np.testing.assert_allclose(loss(params, frozen), loss(params, extra), rtol=1e-6)
    direction = jax.tree_util.tree_map(lambda x: jax.random.normal(getkey(), x.shape), params)

    leaves = jax.tree_util.tree_leaves

    def mismatch(ex, h=1e-3):
        moved = lambda s: jax.tree_util.tree_map(lambda p, d: p + s * d, params, direction)
        along = lambda s: loss(moved(s), ex)
        slope = (along(h) - along(-h)) / (2 * h)  # the derivative of the value
        g = jax.jit(jax.grad(loss))(params, ex)
        claimed = sum(jnp.vdot(a, b) for a, b in zip(leaves(g), leaves(direction), strict=True))
        return float(abs(claimed - slope) / abs(slope))

    assert mismatch(frozen) < 1e-2
    assert mismatch(extra) > 0.1  # the live weights' gradient misstates the slope
