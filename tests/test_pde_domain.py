import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import pde

DOMAINS = [
    pde.Interval(-1.0, 2.0),
    pde.Box([0.0, -1.0], [1.0, 1.0]),
    pde.SpaceTime(pde.Interval(0.0, 2.0), 0.0, 0.5),
    pde.SpaceTime(pde.Box([0.0, 0.0], [1.0, 2.0]), 0.0, 1.0),
]


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("method", ["uniform", "halton", "latin"])
def test_samples_fill_the_box(domain, method, getkey):
    x = domain.sample(getkey(), 4096, method)
    lo, hi = np.array(domain.lower), np.array(domain.upper)
    assert x.shape == (4096, domain.dim)
    assert np.all(x >= lo) and np.all(x <= hi)
    # the mean of a uniform sample is the centre, to a few standard errors
    se = (hi - lo) / np.sqrt(12 * 4096)
    assert np.all(np.abs(np.mean(x, 0) - (lo + hi) / 2) < 5 * se)


def test_quasi_random_is_more_uniform_than_random(getkey):
    dom = pde.Box([0.0, 0.0], [1.0, 1.0])
    f = lambda x: jnp.mean(jnp.sin(3 * x[:, 0]) * jnp.exp(x[:, 1]))
    exact = (1 - np.cos(3)) / 3 * (np.e - 1)
    err_mc = np.mean([abs(f(dom.sample(getkey(), 1024)) - exact) for _ in range(8)])
    err_qmc = np.mean([abs(f(dom.sample(getkey(), 1024, "halton")) - exact) for _ in range(8)])
    assert err_qmc < err_mc / 3


def test_grid_and_slices(getkey):
    dom = pde.SpaceTime(pde.Interval(0.0, 2.0), 0.0, 0.5)
    g = dom.grid((5, 3))
    assert g.shape == (15, 2)
    assert np.allclose(g.reshape(5, 3, 2)[:, 0, 0], np.linspace(0, 2, 5))
    b = dom.sample_boundary(getkey(), 200)
    assert np.all((b[:, 0] == 0.0) | (b[:, 0] == 2.0)) and np.all((b[:, 1] >= 0) & (b[:, 1] <= 0.5))
    assert 50 < np.sum(b[:, 0] == 0.0) < 150
    i = dom.sample_initial(getkey(), 10)
    assert np.all(i[:, 1] == 0.0)
    box = pde.Box([0.0, 0.0], [4.0, 1.0])
    b = box.sample_boundary(getkey(), 4000)
    on_x = np.isin(b[:, 0], [0.0, 4.0])
    # faces chosen by area: the y-faces (length 4) get 4x the points of the x-faces (length 1)
    assert 0.15 < on_x.mean() < 0.25
    f = box.sample_boundary(getkey(), 10, faces=[(1, 1)])
    assert np.all(f[:, 1] == 1.0)


def test_sampling_under_jit_and_vmap(getkey):
    dom = pde.Box([0.0, 0.0], [1.0, 1.0])
    keys = jax.random.split(getkey(), 3)
    x = jax.jit(jax.vmap(lambda k: dom.sample(k, 16)))(keys)
    assert x.shape == (3, 16, 2)
    assert not np.allclose(x[0], x[1])
    b = jax.vmap(lambda k: dom.sample_boundary(k, 8))(keys)
    assert b.shape == (3, 8, 2)


def test_bad_input(getkey):
    with pytest.raises(ValueError, match="lower < upper"):
        pde.Interval(1.0, 0.0)
    with pytest.raises(ValueError, match="same length"):
        pde.Box([0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="`n` must be a positive integer"):
        pde.Interval(0.0, 1.0).sample(getkey(), 0)
    with pytest.raises(ValueError, match="unknown `method`"):
        pde.Interval(0.0, 1.0).sample(getkey(), 4, "sobolev")
    with pytest.raises(ValueError, match="not time-dependent"):
        pde.Interval(0.0, 1.0).sample_initial(getkey(), 4)
    with pytest.raises(TypeError, match="space"):
        pde.SpaceTime("x", 0.0, 1.0)
