import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import raises

from jaxsci import dynamics as dy


@pytest.mark.x64
def test_linear_flow_matches_expm():
    a = jnp.array([[-0.1, 1.0], [-1.0, -0.1]])
    x0 = jnp.array([[1.0, 0.0], [0.3, -0.2]])
    tr = dy.trajectories(dy.LinearFlow(a), x0, dt=0.5, n_steps=4)
    import scipy.linalg

    truth = np.stack([x0 @ scipy.linalg.expm(np.asarray(a) * 0.5 * k).T for k in range(5)], 1)
    assert np.allclose(tr, truth, atol=1e-9)


@pytest.mark.x64
def test_slow_manifold_closed_form():
    sysm = dy.SlowManifold(mu=-0.2, lam=-1.0)
    x0 = jnp.array([[0.5, 0.1]])
    tr = dy.trajectories(sysm, x0, dt=0.1, n_steps=10)
    t = 1.0
    x = 0.5 * np.exp(-0.2 * t)
    c = -1.0 / (2 * -0.2 - -1.0)  # particular solution y_p = c' x^2 with c' = lam/(lam - 2 mu)
    cp = -1.0 / (-1.0 - 2 * -0.2)
    y = cp * x**2 + (0.1 - cp * 0.25) * np.exp(-1.0 * t)
    del c
    assert np.allclose(tr[0, -1], [x, y], atol=1e-9)


def test_maps_and_jit_vmap():
    x0 = jnp.array([[0.3], [0.1]])
    tr = eqx.filter_jit(dy.trajectories)(dy.DoublingMap(), x0, dt=1.0, n_steps=3)
    assert np.allclose(tr[0, :, 0], [0.3, 0.6, 0.2, 0.4], atol=1e-6)
    out = jax.vmap(dy.LogisticMap(r=4.0).step)(x0)
    assert np.allclose(out[:, 0], 4 * np.array([0.3, 0.1]) * (1 - np.array([0.3, 0.1])))
    rot = dy.trajectories(dy.CircleRotation(1.0), x0, dt=1.0, n_steps=2)
    assert np.allclose(rot[:, 2, 0], np.mod(x0[:, 0] + 2.0, 2 * np.pi), atol=1e-6)
    for s in [dy.Duffing(), dy.Lorenz63()]:
        x = jnp.ones((3, s.dim))
        assert dy.trajectories(s, x, dt=0.05, n_steps=3).shape == (3, 4, s.dim)


@pytest.mark.slow
@pytest.mark.parametrize("system", [dy.Pendulum(), dy.VanDerPol(), dy.Roessler()])
def test_other_flows_integrate(system):
    # each flow compiles its own diffrax solve (~1.5 s): kept out of the default run
    x = jnp.ones((3, system.dim))
    tr = dy.trajectories(system, x, dt=0.05, n_steps=3)
    assert tr.shape == (3, 4, system.dim) and np.all(np.isfinite(tr))


@pytest.mark.x64
def test_ou_exact_transition_moments(getkey):
    ou = dy.OrnsteinUhlenbeck(theta=1.0, sigma=1.0)
    x = jnp.full((40000, 1), 2.0)
    y = ou.transition(x, 0.5, key=getkey())
    m = y.shape[0]
    assert abs(float(y.mean()) - 2 * np.exp(-0.5)) < 5 / np.sqrt(m)
    var = (1 - np.exp(-1.0)) / 2
    assert abs(float(y.var()) - var) < 10 * var / np.sqrt(m)


def test_snapshot_pairs_and_hankel():
    tr = jnp.arange(12.0).reshape(2, 3, 2)
    x, y = dy.snapshot_pairs(tr)
    assert x.shape == (4, 2) and np.allclose(y[0], tr[0, 1])
    h = dy.hankel(jnp.arange(5.0), 3)
    assert np.allclose(h, [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    assert jax.vmap(lambda s: dy.hankel(s, 2))(jnp.ones((3, 5, 2))).shape == (3, 4, 4)


def test_bad_input(getkey):
    with raises(ValueError, match="initial_states"):
        dy.trajectories(dy.Lorenz63(), jnp.ones((3, 2)), dt=0.1, n_steps=2)
    with raises(ValueError, match="trajectories: `n_steps` must be a positive int, got 0"):
        dy.trajectories(dy.Lorenz63(), jnp.ones((3, 3)), dt=0.1, n_steps=0)
    with raises(TypeError, match="trajectories: `n_steps` must be a positive int, got float"):
        dy.trajectories(dy.Lorenz63(), jnp.ones((3, 3)), dt=0.1, n_steps=2.7)  # used to be 2
    with raises(ValueError, match="key"):
        dy.trajectories(dy.OrnsteinUhlenbeck(), jnp.ones((3, 1)), dt=0.1, n_steps=2)
    with raises(ValueError, match="trajectories"):
        dy.snapshot_pairs(jnp.ones((3, 1, 2)))
    with raises(ValueError, match=r"hankel: `delays` must be an int in \[1, 3\], got 5"):
        dy.hankel(jnp.ones((3, 2)), 5)
    with raises(TypeError, match=r"hankel: `delays` must be an int in \[1, 3\], got float"):
        dy.hankel(jnp.ones((3, 2)), 2.0)
    with raises(ValueError, match="matrix"):
        dy.LinearMap(jnp.ones((2, 3)))


@pytest.mark.x64
def test_standard_map_area_preserving_and_derivative_pairs():
    sm = dy.StandardMap(strength=1.3)
    pts = jax.random.uniform(jax.random.key(0), (5, 2), minval=0, maxval=2 * np.pi)
    dets = jax.vmap(lambda p: jnp.linalg.det(jax.jacfwd(sm.step)(p)))(pts)
    assert np.allclose(dets, 1.0, atol=1e-12)  # the map preserves Lebesgue measure
    out = jax.vmap(sm.step)(pts)
    assert np.all((out >= 0) & (out < 2 * np.pi))
    # central differences are exact for quadratics: x(t) = t^2 -> x' = 2 t
    t = jnp.arange(6.0) * 0.5
    x, dx = dy.derivative_pairs(jnp.stack([t**2, t], -1)[None], 0.5)
    assert np.allclose(dx[:, 0], 2 * x[:, 1]) and np.allclose(dx[:, 1], 1.0)
