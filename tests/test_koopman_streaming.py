"""Streamed EDMD: Gram matrices accumulated block by block equal the in-memory Gram fit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import spectral_distance

from jaxsci import dynamics as dy
from jaxsci import koopman as kp


def _pairs(m, key):
    x = jax.random.uniform(key, (m, 2), jnp.float64, 0.0, 2 * np.pi)
    return x, jax.vmap(dy.StandardMap(strength=0.8).step)(x)


@pytest.mark.x64
def test_streamed_gram_equals_in_memory_fit():
    x, y = _pairs(5000, jax.random.key(0))
    d = kp.Fourier(2, 3)
    ref = kp.fit(kp.EDMD(d, method="gram"), x, y)
    # 7 blocks of 800: the last one is padded with zero-weight rows
    grams = kp.gram_matrices(d, kp.blocks_of(x, y, 800))
    assert float(grams.total) == 5000
    model = kp.fit_gram(d, grams)
    assert np.allclose(model.matrix, ref.matrix, atol=1e-12)
    assert spectral_distance(model.eigenvalues, ref.eigenvalues) < 1e-10
    # a generator of blocks (trajectories made on demand) gives the same sums
    xs, ys = np.asarray(x), np.asarray(y)
    again = kp.gram_matrices(
        d, lambda i: (xs[1000 * i : 1000 * (i + 1)], ys[1000 * i : 1000 * (i + 1)]), n_blocks=5
    )
    assert np.allclose(again.g, grams.g, atol=1e-13) and np.allclose(again.a, grams.a, atol=1e-13)
    # rank-truncated, like EDMD(rank=...)
    r = kp.fit_gram(d, grams, rank=10)
    r_ref = kp.fit(kp.EDMD(d, method="gram", rank=10), x, y)
    assert spectral_distance(r.eigenvalues, r_ref.eigenvalues) < 1e-9


@pytest.mark.x64
def test_streamed_gram_bad_input():
    d = kp.Fourier(2, 1)
    with pytest.raises(
        TypeError, match="gram_matrices: `n_blocks` must be a positive int, got NoneType"
    ):
        kp.gram_matrices(d, lambda i: None)
    with pytest.raises(ValueError, match="gram_matrices: `n_blocks` must be a positive int, got 0"):
        kp.gram_matrices(d, lambda i: None, n_blocks=0)
    with pytest.raises(ValueError, match="blocks_of: `block_size` must be a positive int, got 0"):
        kp.blocks_of(np.ones((4, 2)), np.ones((4, 2)), 0)
    with pytest.raises(ValueError, match="gave no block"):
        kp.gram_matrices(d, [])
    with pytest.raises(ValueError, match="non-finite"):
        kp.gram_matrices(d, [(jnp.full((4, 2), jnp.nan), jnp.ones((4, 2)))])
    with pytest.raises(ValueError, match="one shape"):
        kp.gram_matrices(d, [(jnp.ones((4, 2)), jnp.ones((3, 2)))])


# `gram_products`: the host-BLAS path (CPU backend) against XLA's dot


def _rel(got, want):
    return max(
        float(jnp.max(jnp.abs(g - w)) / jnp.max(jnp.abs(w))) for g, w in zip(got, want, strict=True)
    )


def _operands(getkey, dtype, m=400):
    x = jax.random.normal(getkey(), (m, 9), dtype)
    y = jax.random.normal(getkey(), (m, 9), dtype)
    state = jax.random.normal(getkey(), (m, 2), jnp.float64)
    return x, y, state


@pytest.mark.x64
@pytest.mark.parametrize("dtype", [jnp.float64, jnp.complex128])
@pytest.mark.parametrize("weights", ["none", "uniform", "random"])
def test_gram_products_equal_xla(getkey, dtype, weights):
    x, y, state = _operands(getkey, dtype)
    w = {
        "none": None,
        "uniform": jnp.full(x.shape[0], 1 / x.shape[0]),
        "random": jax.random.uniform(getkey(), (x.shape[0],)),
    }[weights]
    want = kp.gram_products(x, y, state, weights=w, method="xla")
    got = kp.gram_products(x, y, state, weights=w)
    assert [g.dtype for g in got] == [dtype] * 3 and got[2].shape == (9, 2)
    assert _rel(got, want) < 1e-12
    jitted = jax.jit(lambda *a: kp.gram_products(*a[:3], weights=a[3]))(x, y, state, w)
    assert _rel(jitted, want) < 1e-12


@pytest.mark.x64
def test_gram_products_use_host_blas_on_cpu(getkey):
    if jax.default_backend() != "cpu":
        pytest.skip("the host-BLAS path is the CPU backend's")
    x, y, _ = _operands(getkey, jnp.float64)
    hlo = jax.jit(lambda a, b: kp.gram_products(a, b)).lower(x, y).as_text()
    assert "callback" in hlo
    assert "callback" not in jax.jit(lambda a: kp.gram_products(a, method="xla")).lower(x).as_text()


@pytest.mark.x64
def test_gram_products_vmap(getkey):
    x, y, _ = _operands(getkey, jnp.float64)
    xs = jax.random.normal(getkey(), (3, *x.shape))
    ws = jax.random.uniform(getkey(), (2, x.shape[0]))
    for method in ("auto", "xla"):
        over_x = jax.vmap(lambda u, method=method: kp.gram_products(u, y, method=method))(xs)
        over_w = jax.vmap(
            lambda w, method=method: kp.gram_products(x, y, weights=w, method=method)
        )(ws)
        if method == "auto":
            got = (*over_x, *over_w)
        else:
            want = (*over_x, *over_w)
    assert got[0].shape == (3, 9, 9) and got[2].shape == (2, 9, 9)
    assert _rel(got, want) < 1e-12
    # a batch member equals the unbatched call
    assert _rel((got[1][1],), (kp.gram_products(xs[1], y)[1],)) < 1e-12


@pytest.mark.x64
def test_gram_products_grad(getkey):
    x, y, _ = _operands(getkey, jnp.float64, m=50)
    w = jax.random.uniform(getkey(), (50,))

    def loss(u, v, ww, method):
        g, a = kp.gram_products(u, v, weights=ww, method=method)
        return jnp.sum(jnp.sin(g)) + jnp.sum(a**2)

    want = jax.grad(loss, argnums=(0, 1, 2))(x, y, w, "xla")
    got = jax.jit(jax.grad(loss, argnums=(0, 1, 2)), static_argnums=3)(x, y, w, "auto")
    assert _rel(got, want) < 1e-12
    # only some inputs differentiated (symbolic-zero tangents), and forward mode
    assert _rel((jax.grad(loss)(x, y, w, "auto"),), (want[0],)) < 1e-12
    fwd = jax.jacfwd(lambda ww: kp.gram_products(x, y, weights=ww)[1])(w)
    rev = jax.jacrev(lambda ww: kp.gram_products(x, y, weights=ww, method="xla")[1])(w)
    assert _rel((fwd,), (rev,)) < 1e-12


@pytest.mark.x64
def test_gram_edmd_uses_gram_products():
    x, y = _pairs(3000, jax.random.key(1))
    d = kp.Fourier(2, 3)
    model = jax.jit(lambda u, v: kp.fit(kp.EDMD(d, method="gram"), u, v))(x, y)
    psi_x, psi_y = kp.features(d, x), kp.features(d, y)
    w = jnp.full(3000, 1 / 3000)
    g, a, ax = kp.gram_products(psi_x, psi_y, x.astype(psi_x.dtype), weights=w, method="xla")
    from jaxsci.koopman._estimators import gram_model

    ref = gram_model(d, g, a, ax)
    assert _rel((model.matrix,), (ref.matrix,)) < 1e-11
    assert spectral_distance(model.eigenvalues, ref.eigenvalues) < 1e-10


def test_gram_products_bad_input():
    x = jnp.ones((4, 3))
    with pytest.raises(ValueError, match="gram_products: unknown `method` 'blas'; expected one of"):
        kp.gram_products(x, method="blas")
    with pytest.raises(ValueError, match="same m"):
        kp.gram_products(x, jnp.ones((5, 3)))
    with pytest.raises(ValueError, match=r"`weights` must have shape \(4,\)"):
        kp.gram_products(x, weights=jnp.ones(3))
    with pytest.raises(TypeError, match="floating or complex"):
        kp.gram_products(jnp.ones((4, 3), jnp.int32))


@pytest.mark.x64
def test_gram_products_repeated_operand_computed_once(getkey):
    x, y, _ = _operands(getkey, jnp.float64)
    g, a, gx, ay = kp.gram_products(x, y, x, y)
    assert np.array_equal(gx, g) and np.array_equal(ay, a)
    jaxpr = str(jax.make_jaxpr(lambda u, v: kp.gram_products(u, v, u, v))(x, y))
    assert jaxpr.count("dot_general") == 2  # the XLA branch: x^T x and x^T y only
