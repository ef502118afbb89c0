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
@pytest.mark.parametrize("method", ["uniform", "halton", "hammersley", "latin"])
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


def test_hammersley_is_the_hammersley_set():
    # points i = 1..n (DeepXDE's set): the first axis is the base-2 radical inverse of i (its
    # binary digits mirrored about the point), the last i / (n + 1); every dyadic cell of area
    # 1/n holds one point but for the last point's (i = n = 2^k mirrors to 2^-(k+1))
    dom = pde.SpaceTime(pde.Interval(-1.0, 1.0), 0.0, 1.0)
    x = np.asarray(dom.sample(None, 256, "hammersley"))
    unit = (x - np.array(dom.lower)) / (np.array(dom.upper) - np.array(dom.lower))
    mirrored = [int(bin(i)[2:][::-1], 2) / 2 ** len(bin(i)[2:]) for i in range(1, 257)]
    np.testing.assert_allclose(unit[:, 0], mirrored, atol=1e-6)
    np.testing.assert_allclose(unit[:, 1], np.arange(1, 257) / 257, atol=1e-6)
    for k in range(9):  # cells of 2^-k by 2^-(8-k)
        u = unit[:-1]
        cells = np.floor(u[:, 0] * 2**k) * 2 ** (8 - k) + np.floor(
            u[:, 1] * 257 / 256 * 2 ** (8 - k)
        )
        assert len(np.unique(cells)) == 255
    # deterministic: the key does not matter
    np.testing.assert_array_equal(x, dom.sample(jax.random.key(3), 256, "hammersley"))


@pytest.mark.parametrize("method", ["halton", "hammersley"])
def test_low_discrepancy_condition_points_cover_faces_evenly(method, getkey):
    box = pde.SpaceTime(pde.Box([0.0, 0.0], [4.0, 1.0]), 0.0, 1.0)
    b = np.asarray(box.sample_boundary(getkey(), 1000, method=method))
    lo, hi = np.array(box.lower), np.array(box.upper)
    assert np.all(b >= lo) and np.all(b <= hi)
    # faces by area, deterministically: x-faces (1 x 1) get 100 each, y-faces (4 x 1) 400 each
    for axis, count in ((0, 100), (1, 400)):
        for value in (lo[axis], hi[axis]):
            on = b[:, axis] == value
            assert on.sum() == count
            # on the face, the free coordinates are evenly spread: a 10 x 10 histogram is flat
            free = [a for a in range(3) if a != axis]
            h = np.histogram2d(
                *(b[on][:, a] for a in free), bins=(2, 2), range=[(lo[a], hi[a]) for a in free]
            )[0]
            assert np.all(np.abs(h - count / 4) <= max(2, 0.06 * count)), h
    i = np.asarray(box.sample_initial(getkey(), 64, method=method))
    assert np.all(i[:, 2] == 0.0)
    h = np.histogram2d(i[:, 0], i[:, 1], bins=2, range=[(0, 4), (0, 1)])[0]
    assert np.all(np.abs(h - 16) <= 3), h
    # 1-D space: the two end points equally
    e = np.asarray(pde.Interval(0.0, 1.0).sample_boundary(getkey(), 7, method=method))
    assert (
        sorted(e.ravel().tolist()) == [0.0] * 4 + [1.0] * 3
        or sorted(e.ravel().tolist()) == [0.0] * 3 + [1.0] * 4
    )


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
    # the low-discrepancy methods on faces and slices: under jit and vmap, the shifted Halton
    # set moves with the key, the Hammersley set does not
    for method in ("halton", "hammersley"):
        b = jax.jit(jax.vmap(lambda k, m=method: dom.sample_boundary(k, 8, method=m)))(keys)
        assert b.shape == (3, 8, 2)
        assert np.allclose(b[0], b[1]) == (method == "hammersley")
    t = pde.SpaceTime(pde.Interval(0.0, 1.0), 0.0, 1.0)
    i = jax.jit(jax.vmap(lambda k: t.sample_initial(k, 8, method="halton")))(keys)
    assert i.shape == (3, 8, 2) and np.all(i[..., 1] == 0.0)


def test_bad_input(getkey):
    with pytest.raises(ValueError, match="lower < upper"):
        pde.Interval(1.0, 0.0)
    with pytest.raises(ValueError, match="same length"):
        pde.Box([0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="sample: `n` must be a positive int, got 0"):
        pde.Interval(0.0, 1.0).sample(getkey(), 0)
    with pytest.raises(TypeError, match="sample: `n` must be a positive int, got float 2.5"):
        pde.Interval(0.0, 1.0).sample(getkey(), 2.5)
    with pytest.raises(ValueError, match="sample_boundary: `n` must be a positive int, got -1"):
        pde.Box([0.0, 0.0], [1.0, 1.0]).sample_boundary(getkey(), -1)
    space_time = pde.SpaceTime(pde.Interval(0.0, 1.0), 0.0, 1.0)
    with pytest.raises(TypeError, match="sample_initial: `n` must be a positive int, got str"):
        space_time.sample_initial(getkey(), "8")
    with pytest.raises(ValueError, match="grid: `shape` must be a positive int, got 0"):
        pde.Box([0.0, 0.0], [1.0, 1.0]).grid((3, 0))
    with pytest.raises(TypeError, match="grid: `shape` must be a positive int, got float"):
        pde.Box([0.0, 0.0], [1.0, 1.0]).grid((3, 2.5))  # used to be truncated to 2 silently
    with pytest.raises(ValueError, match="unknown `method`"):
        pde.Interval(0.0, 1.0).sample(getkey(), 4, "sobolev")
    with pytest.raises(ValueError, match="not time-dependent"):
        pde.Interval(0.0, 1.0).sample_initial(getkey(), 4)
    with pytest.raises(TypeError, match="space"):
        pde.SpaceTime("x", 0.0, 1.0)
