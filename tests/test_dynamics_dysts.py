"""The dysts systems in JAX against dysts' own right-hand sides, metadata and trajectories.

dysts is a test-only peer (`pip install dysts`); these tests are skipped without it.
"""

import json
import warnings
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import dynamics

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Numba not installed"
    dysts = pytest.importorskip("dysts")
    pytest.importorskip("dysts.flows")
    pytest.importorskip("dysts.maps")

FLOWS = dynamics.chaotic_systems("flow")
MAPS = dynamics.chaotic_systems("map")


def test_catalogue_size():
    # the issue asks for at least 30 flows and 8 maps
    assert len(FLOWS) >= 30 and len(MAPS) >= 8


def _states(center, n, scale, seed):
    rng = np.random.default_rng(seed)
    center = np.asarray(center, np.float64)
    return center + scale * (1 + np.abs(center)) * rng.standard_normal((n, center.size))


@pytest.mark.x64
@pytest.mark.parametrize("name", FLOWS)
def test_flow_rhs_matches_dysts(name):
    ours = dynamics.ChaoticFlow(name)
    theirs = getattr(dysts.flows, name)()
    assert ours.dim == len(theirs.ic)
    np.testing.assert_allclose(ours.initial_condition, theirs.ic)
    assert ours.period == pytest.approx(theirs.period)
    xs = _states(theirs.ic, 16, 0.3, 0)
    want = np.stack([np.asarray(theirs.rhs(x, 0.0), np.float64) for x in xs])
    got = np.asarray(jax.vmap(lambda x: ours.vector_field(0.0, x))(jnp.asarray(xs)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.x64
@pytest.mark.parametrize("name", MAPS)
def test_map_step_matches_dysts(name):
    ours = dynamics.ChaoticMap(name)
    theirs = getattr(dysts.maps, name)()
    xs = _states(theirs.ic, 16, 0.05, 1)
    want = np.stack(
        [np.ravel(np.asarray(theirs._rhs(*x, *theirs.param_list), np.float64)) for x in xs]
    )
    got = np.asarray(jax.vmap(ours.step)(jnp.asarray(xs)))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_table_is_dysts_metadata():
    """The shipped table equals the installed dysts' metadata (rerun
    `python -m experiments.dsr.dysts_table` after upgrading dysts)."""
    table = json.loads((Path(dynamics.__file__).parent / "_dysts_table.json").read_text())
    data = Path(dysts.__file__).parent / "data"
    flows = json.loads((data / "chaotic_attractors.json").read_text())
    for name, entry in table["flows"].items():
        for key, value in entry.items():
            assert flows[name].get(key) == value, (name, key)


@pytest.mark.x64
def test_trajectory_matches_dysts_make_trajectory():
    """Two periods of Lorenz at 100 points per period, standardised, from dysts' initial
    condition: diffrax (Tsit5) against dysts (scipy Radau, rtol 1e-12)."""
    n = 200
    theirs = dysts.flows.Lorenz().make_trajectory(n, pts_per_period=100, standardize=True)
    ours = dynamics.chaotic_trajectories(
        dynamics.ChaoticFlow("Lorenz"),
        n,
        initial_states=jnp.asarray(dynamics.ChaoticFlow("Lorenz").initial_condition)[None],
        standardize=True,
        rtol=1e-11,
        atol=1e-11,
    )[0]
    assert ours.shape == theirs.shape == (n, 3)
    # chaos amplifies the two integrators' differences ~e^{0.9 t} over 3 time units
    np.testing.assert_allclose(np.asarray(ours), theirs, atol=1e-6)


def test_trajectories_vmap_jit_and_maps():
    flow = dynamics.ChaoticFlow("Rossler")
    x0 = jnp.asarray(flow.initial_condition, jnp.float32)
    batch = jnp.stack([x0, x0 + 0.1, x0 - 0.1])
    xs = dynamics.chaotic_trajectories(flow, 50, initial_states=batch)
    assert xs.shape == (3, 50, 3) and xs.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(xs)))
    one = dynamics.chaotic_trajectories(flow, 50, initial_states=batch[1:2])
    np.testing.assert_allclose(xs[1], one[0], rtol=1e-5, atol=1e-5)
    henon = dynamics.ChaoticMap("Henon")
    ys = dynamics.chaotic_trajectories(henon, 10)
    np.testing.assert_allclose(ys[0, 1], henon.step(ys[0, 0]), rtol=1e-6)
    step = eqx.filter_jit(lambda s, x: s.vector_field(0.0, x))
    np.testing.assert_allclose(step(flow, x0), flow.vector_field(0.0, x0), rtol=1e-6)


def test_parameters_override_and_grad():
    lor = dynamics.ChaoticFlow("Lorenz", rho=35.0)
    assert lor.parameters["rho"] == 35.0
    # d f_y / d rho = x
    g = jax.grad(
        lambda r: dynamics.ChaoticFlow("Lorenz", rho=r).vector_field(
            0.0, jnp.array([2.0, 1.0, 3.0])
        )[1]
    )(28.0)
    assert float(g) == pytest.approx(2.0)


def test_bad_input():
    with pytest.raises(ValueError, match="ChaoticFlow: unknown `name` 'Lorenz63'"):
        dynamics.ChaoticFlow("Lorenz63")
    with pytest.raises(TypeError, match="ChaoticMap: `name` must be a str"):
        dynamics.ChaoticMap(3)
    with pytest.raises(ValueError, match="ChaoticFlow: Lorenz has no parameter 'r'"):
        dynamics.ChaoticFlow("Lorenz", r=1.0)
    with pytest.raises(ValueError, match="chaotic_trajectories: `n` must be an int >= 2"):
        dynamics.chaotic_trajectories(dynamics.ChaoticMap("Henon"), 1)
    with pytest.raises(TypeError, match="chaotic_trajectories: `system` must be"):
        dynamics.chaotic_trajectories(dynamics.Lorenz63(), 10)
    with pytest.raises(ValueError, match="chaotic_systems: unknown `kind`"):
        dynamics.chaotic_systems("ode")
