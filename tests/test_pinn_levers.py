"""The levers of issue 27 (`NTKWeighting`, `MagnitudeWeighting`, `ResidualDensityResampling`):
each mechanism against a truth on a tiny problem. Their effect on the zoo is measured by
`experiments/pinn/levers.py`, not here."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from jaxsci import pde, pinn, train


def _problem(source=3.0, boundary=0.5, observations=()):
    """`-u'' = source` on [0, 1], `u = boundary` at both ends: a constant source and constant
    data, so the loss terms at the zero field are `source^2` and `boundary^2` exactly."""
    return pde.Problem(
        pde.Interval(0.0, 1.0),
        operator=-pde.LinearOperator.laplacian(1),
        source=lambda x, p: jnp.asarray(source, x.dtype),
        conditions=[pde.Dirichlet(boundary), *observations],
        exact=lambda x, p: boundary + 0.5 * source * x[0] * (1 - x[0]),
        name="constant_source",
    )


def _field(key):
    return pinn.MLP(1, width=8, depth=2, key=key)


_FIXED = pinn.Sampling(n_interior=16, n_boundary=16, method="hammersley")
_NO_LBFGS = pinn.LBFGSPhase(steps=0)


def _observations(n=8, offset=0.25):
    """Data of an inverse problem: the exact solution at `n` points, shifted by `offset`."""
    xs = jnp.linspace(0.1, 0.9, n)[:, None]
    return pde.Observations(xs, _problem().exact_values(xs) + offset)


@pytest.mark.slow  # ~20 s on 2 quiet cores: a solve and a diagnosis, each compiled
@pytest.mark.parametrize("observations", [(), (_observations(),)], ids=["forward", "inverse"])
def test_ntk_weights_equal_diagnose(observations):
    """One step with `NTKWeighting(every=1)` on all points: the weights the step leaves are
    `sum_s tr(K_s) / tr(K_t)` that `pinn.diagnose` computes from the full kernels (`J J^T`,
    eigen-decomposed) at the same parameters and (Hammersley, deterministic) points, each trace
    per residual entry; with an inverse problem's 8 `Observations` too (it raised before: no
    residual per point)."""
    weighting = pinn.Weighting(balancing=pinn.NTKWeighting(every=1, n_points=16))
    sol = pinn.solve(
        _problem(observations=observations),
        _field(jr.key(0)),
        key=jr.key(1),
        steps=1,
        sampling=_FIXED,
        weighting=weighting,
        lbfgs=_NO_LBFGS,
        hard_dirichlet=False,
    )
    diagnosis = pinn.diagnose(sol, n_interior=16, n_condition=16, per_axis=11)
    names = ["residual", "dirichlet0"] + [
        f"observations{i}" for i in range(1, 1 + len(observations))
    ]
    assert diagnosis.points == dict(zip(names, [16, 16, 8][: len(names)], strict=True))
    per_entry = {n: diagnosis.trace[n] / diagnosis.points[n] for n in names}
    expected = [sum(per_entry.values()) / per_entry[n] for n in names]
    if not observations:  # equal point counts: diagnose's own weights
        np.testing.assert_allclose(expected, [diagnosis.ntk_weights[n] for n in names])
    np.testing.assert_allclose(sol.stats["weights"], expected, rtol=1e-4)
    assert abs(np.log(expected[1] / expected[0])) > np.log(2)  # the terms' traces differ


def test_ntk_update_formula_and_momentum():
    ntk = pinn.NTKWeighting(momentum=0.75)
    traces = jnp.array([4.0, 1.0, 0.0])  # a zero trace (a term the field cannot move)
    w = ntk.update(jnp.array([1.0, 2.0, 3.0]), traces, jnp.array([1.0, 10.0, 1.0]))
    # new: [5 / 4, 5 / 1 * 10, kept 3]; smoothed 0.75 old + 0.25 new
    np.testing.assert_allclose(w, [0.75 + 0.25 * 1.25, 1.5 + 0.25 * 50.0, 3.0], rtol=1e-6)


def test_ntk_update_keeps_a_rounding_level_trace_its_weight():
    """A trace below machine epsilon of the traces' sum is rounding, not a kernel: its term
    keeps its weight (dividing by it gave weights of 1e15)."""
    eps = float(jnp.finfo(jnp.float32).eps)
    traces = jnp.array([4.0, 1.0, 4.0 * eps])
    w = pinn.NTKWeighting().update(jnp.array([1.0, 2.0, 3.0]), traces, jnp.ones(3))
    np.testing.assert_allclose(w, [1.25, 5.0, 3.0], rtol=1e-6)


def test_ntk_weights_leave_an_exact_periodic_condition_its_base_weight():
    """With `PeriodicEmbedding` the field is periodic by construction: the `Periodic`
    condition's residual is rounding (`cos 2 pi` against `cos 0` in float32), so NTK weights
    must leave it its base weight, not `sum tr / tr` of a rounding error (1.2e15 on
    `zoo_convection_30` before, and the fit ended at rel. L2 9e4)."""
    problem = pde.zoo_convection_30()
    field = pinn.MLP(
        2,
        width=8,
        depth=2,
        key=jr.key(0),
        embedding=pinn.PeriodicEmbedding(2, axes=[0], periods=[2 * jnp.pi]),
    )
    sol = pinn.solve(
        problem,
        field,
        key=jr.key(1),
        steps=2,
        sampling=pinn.Sampling(n_interior=32, n_boundary=16, method="hammersley"),
        weighting=pinn.Weighting(balancing=pinn.NTKWeighting(every=1, n_points=16)),
        lbfgs=_NO_LBFGS,
    )
    kinds = [type(c).__name__ for c in problem.conditions]
    weights = np.asarray(sol.stats["weights"])
    i = 1 + kinds.index("Periodic")
    assert weights[i] == problem.conditions[i - 1].weight
    assert np.all(np.isfinite(weights)) and weights.max() < 1e3
    assert weights[0] != 1.0  # the residual and initial-value terms were weighted


def test_magnitude_weights_from_the_data():
    """At the zero field the residual term is `source^2` and the Dirichlet term `boundary^2`:
    the weights are `1 / max(., floor)` of them."""
    for source, boundary, floor, expected in [
        (30.0, 0.5, 1.0, [1 / 900.0, 1.0]),
        (3.0, 0.5, 0.1, [1 / 9.0, 1 / 0.25]),
    ]:
        sol = pinn.solve(
            _problem(source, boundary),
            _field(jr.key(0)),
            key=jr.key(1),
            steps=0,
            sampling=_FIXED,
            weighting=pinn.Weighting(magnitude=pinn.MagnitudeWeighting(floor=floor)),
            lbfgs=_NO_LBFGS,
        )
        np.testing.assert_allclose(sol.stats["weights"], expected, rtol=1e-5)


def test_rad_density_formula_and_draws():
    rad = pinn.ResidualDensityResampling(exponent=2.0, constant=0.5)
    r = jnp.array([0.0, 1.0, -2.0, 3.0])
    rk = np.array([0.0, 1.0, 4.0, 9.0])
    p = rk / rk.mean() + 0.5
    np.testing.assert_allclose(rad.density(r), p / p.sum(), rtol=1e-6)
    np.testing.assert_allclose(rad.density(jnp.zeros(4)), np.full(4, 0.25))
    # one point drawn per key: the frequencies of the candidates follow the density
    cand = jnp.arange(4.0)[:, None]
    draw = jax.vmap(lambda k: rad.update(jnp.zeros((1, 1)), None, cand, r, k)[0, 0])
    picks = np.asarray(draw(jr.split(jr.key(0), 20000))).astype(int)
    freq = np.bincount(picks, minlength=4) / picks.size
    q = p / p.sum()
    np.testing.assert_allclose(freq, q, atol=5 * np.sqrt(q * (1 - q) / picks.size).max())
    # a full draw is without replacement: every point a distinct candidate
    many = jnp.linspace(0, 1, 50)[:, None]
    pts = rad.update(jnp.zeros((20, 1)), None, many, jnp.sin(9 * many[:, 0]), jr.key(1))
    assert len(np.unique(np.asarray(pts))) == 20


@pytest.mark.slow  # ~20 s on 2 quiet cores: two runs, each compiled
@pytest.mark.x64  # the same arithmetic in two compiled programs: float64 keeps its rounding off
def test_levers_chunked_equals_unchunked_one_trace(monkeypatch):
    """NTK weights and RAD together: a run in 4 chunks equals one in a single chunk (the
    weights and points are state, not compiled constants), and the weight update is traced a
    fixed number of times however many chunks and updates there are."""
    traces = []
    update = pinn.NTKWeighting.update
    monkeypatch.setattr(
        pinn.NTKWeighting, "update", lambda self, *a: traces.append(1) or update(self, *a)
    )
    common = dict(
        key=jr.key(1),
        steps=8,
        sampling=pinn.Sampling(
            n_interior=16,
            n_boundary=4,
            adaptive=pinn.ResidualDensityResampling(every=3, n_candidates=64),
        ),
        weighting=pinn.Weighting(balancing=pinn.NTKWeighting(every=2, n_points=8)),
        lbfgs=_NO_LBFGS,
        hard_dirichlet=False,
    )
    chunked = pinn.solve(_problem(), _field(jr.key(0)), loop=train.Loop(chunk_size=2), **common)
    n_chunked = len(traces)
    whole = pinn.solve(_problem(), _field(jr.key(0)), loop=train.Loop(chunk_size=8), **common)
    assert 1 <= n_chunked <= 2  # 4 chunks, 4 weight updates: no retrace per chunk or update
    np.testing.assert_allclose(chunked.stats["weights"], whole.stats["weights"], rtol=1e-10)
    np.testing.assert_allclose(chunked.points, whole.points, rtol=0, atol=0)
    for a, b in zip(
        jax.tree_util.tree_leaves(eqx.filter(chunked.field, eqx.is_inexact_array)),
        jax.tree_util.tree_leaves(eqx.filter(whole.field, eqx.is_inexact_array)),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert not np.allclose(chunked.stats["weights"], 1.0)  # the weights did move


def test_ntk_weights_leave_a_normalisation_its_base_weight():
    """A normalisation has no residual per point, so no NTK: it keeps its base weight while
    the point terms are weighted by their traces (it raised before)."""
    problem = pde.infinite_well()
    sol = pinn.solve(
        problem,
        _field(jr.key(0)),
        key=jr.key(1),
        steps=2,
        sampling=_FIXED,
        weighting=pinn.Weighting(balancing=pinn.NTKWeighting(every=1, n_points=8)),
        lbfgs=_NO_LBFGS,
        hard_dirichlet=False,
    )
    kinds = [type(c).__name__ for c in problem.conditions]
    weights = np.asarray(sol.stats["weights"])
    assert np.all(np.isfinite(weights)) and np.isfinite(float(sol.history["loss"][-1]))
    i = 1 + kinds.index("Normalisation")
    assert weights[i] == problem.conditions[i - 1].weight
    assert not np.allclose(np.delete(weights, i), 1.0)  # the point terms were weighted


@pytest.mark.x64  # two compiled forms of one field: float64, so rounding is far below 1e-12
def test_observations_misfit_per_point():
    """`Observations.residual` at its own points is `u(x_i) - y_i` (the closed form), and the
    loss is its mean square: the pointwise form the NTK weights and `diagnose` differentiate."""
    obs = _observations()
    field = _field(jr.key(0))
    misfit = jax.vmap(lambda x: obs.residual(field, x, {}))(obs.points)
    expected = jax.vmap(field)(obs.points).reshape(-1) - obs.values
    np.testing.assert_allclose(misfit, expected, rtol=1e-12, atol=1e-14)
    loss = obs.loss(field, obs.points, {})
    np.testing.assert_allclose(loss, jnp.mean(expected**2), rtol=1e-12)


def test_bad_lever_arguments():
    with pytest.raises(ValueError, match="every"):
        pinn.NTKWeighting(every=0)
    with pytest.raises(ValueError, match="momentum"):
        pinn.NTKWeighting(momentum=1.0)
    with pytest.raises(ValueError, match="floor"):
        pinn.MagnitudeWeighting(floor=0.0)
    with pytest.raises(ValueError, match="exponent"):
        pinn.ResidualDensityResampling(exponent=-1.0)
    with pytest.raises(TypeError, match="balancing"):
        pinn.Weighting(balancing=pinn.MagnitudeWeighting())
    with pytest.raises(TypeError, match="magnitude"):
        pinn.Weighting(magnitude=pinn.NTKWeighting())
    with pytest.raises(ValueError, match="n_candidates"):
        pinn.solve(
            _problem(),
            _field(jr.key(0)),
            key=jr.key(1),
            steps=1,
            sampling=pinn.Sampling(
                n_interior=32, adaptive=pinn.ResidualDensityResampling(n_candidates=16)
            ),
        )


def test_ntk_weights_are_the_default_and_leave_a_one_term_loss_as_it_was(monkeypatch):
    """`solve`'s default weighting is NTK trace weights. With one loss term (the zero Dirichlet
    data imposed exactly) the weight is `t / t = 1`, so the iterates are those of no
    balancing, bit for bit, and the update is not even traced; with a learned condition the
    weights move."""
    assert pinn.Weighting().balancing == pinn.NTKWeighting()
    traces = []
    update = pinn.NTKWeighting.update
    monkeypatch.setattr(
        pinn.NTKWeighting, "update", lambda self, *a: traces.append(1) or update(self, *a)
    )
    # 120 steps: the weights are updated at step 100 (`NTKWeighting.every`)
    kw = dict(steps=120, sampling=_FIXED, lbfgs=pinn.LBFGSPhase(steps=10))
    p = pde.poisson_1d()  # zero Dirichlet data: imposed exactly, one term left
    default = pinn.solve(p, _field(jr.key(0)), key=jr.key(1), loop=train.Loop(chunk_size=40), **kw)
    off = pinn.solve(
        p,
        _field(jr.key(0)),
        key=jr.key(1),
        weighting=pinn.Weighting(balancing=None),
        loop=train.Loop(chunk_size=40),
        **kw,
    )
    assert isinstance(default.field, pinn.Constrained)
    np.testing.assert_array_equal(default.stats["weights"], [1.0])
    assert not traces  # nothing compiled or run for a weight that cannot move
    for a, b in zip(
        jax.tree_util.tree_leaves(eqx.filter(default.field, eqx.is_array)),
        jax.tree_util.tree_leaves(eqx.filter(off.field, eqx.is_array)),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    learned = pinn.solve(
        _problem(), _field(jr.key(0)), key=jr.key(1), loop=train.Loop(chunk_size=40), **kw
    )
    assert learned.stats["weights"].shape == (2,) and traces
    assert not np.allclose(learned.stats["weights"], 1.0)
