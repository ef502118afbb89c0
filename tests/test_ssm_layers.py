"""S4 / S4D / S5 layers, the residual block and the sequence model: convolution mode equals
recurrent mode, and jit / vmap / grad / bad-input checks."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from helpers import raises

from jaxsci import ssm

H, N, L = 4, 8, 48


@eqx.filter_jit
@eqx.debug.assert_max_traces(max_traces=1)
def _both_modes(layer, u):
    return layer(u), layer.recurrence().scan(u)


def _rel(a, b):
    return float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))


def test_s4d_conv_equals_recurrence_for_every_init(getkey):
    u = jr.normal(getkey(), (L, H))
    # one trace for all four: the inits change values, not shapes (no silent recompilation)
    for init in ssm.S4D_INITS:
        layer = ssm.S4D(H, N, init=init, key=getkey())
        conv, rec = _both_modes(layer, u)
        assert conv.shape == (L, H) and conv.dtype == jnp.float32
        assert _rel(conv, rec) < 1e-5, init
    bil = ssm.S4D(H, N, init="lin", method="bilinear", key=getkey())
    conv, rec = eqx.filter_jit(lambda m, u: (m(u), m.recurrence().scan(u)))(bil, u)
    assert _rel(conv, rec) < 1e-5


@pytest.mark.parametrize("measure", ["legs", "legt"])
def test_s4_conv_equals_recurrence(getkey, measure):
    layer = ssm.S4(H, N, L, measure=measure, key=getkey())
    u = jr.normal(getkey(), (L, H))
    conv, rec = eqx.filter_jit(lambda m, u: (m(u), m.recurrence().scan(u)))(layer, u)
    assert _rel(conv, rec) < 1e-4
    # shorter inputs use the first entries of the length-L kernel: still the same system
    assert np.allclose(np.asarray(layer(u[:20])), np.asarray(conv[:20]), atol=1e-5)


@pytest.mark.x64
@pytest.mark.parametrize("measure", ["legs", "legt"])  # rank 1 and rank 2
def test_dplr_step_equals_dense_bilinear_step(getkey, measure):
    # the O(n r) Woodbury step against the dense Abar, Bbar of `discretise_dplr`
    d = ssm.dplr(measure, 16)
    lam, p, b = (jnp.broadcast_to(a, (3, *a.shape)) for a in (d.eigenvalues, d.low_rank, d.b))
    dt = jnp.array([1e-3, 3e-2, 0.5])
    c = jr.normal(getkey(), (3, 16)) + 1j * jr.normal(getkey(), (3, 16))
    skip = jnp.array([0.0, 1.0, -0.5])
    u = jr.normal(getkey(), (40, 3))
    fast = ssm.dplr_recurrence(lam, p, b, c, dt, skip)
    abar, bbar = jax.vmap(lambda *a: ssm.discretise_dplr(*a, "bilinear"))(lam, p, b, dt)
    dense = ssm.DenseRecurrence(abar, bbar, c, skip)
    y_fast, y_dense = fast.scan(u), dense.scan(u)
    assert y_fast.dtype == jnp.float64
    assert _rel(y_fast, y_dense) < 1e-10


@pytest.mark.parametrize("init", ["hippo_n", "ptd"])
def test_s5_parallel_equals_recurrence_and_sequential(getkey, init):
    key = getkey()
    layer = ssm.S5(H, N, 2, init=init, key=key)
    u = jr.normal(getkey(), (L, H))
    par, rec = eqx.filter_jit(lambda m, u: (m(u), m.recurrence().scan(u)))(layer, u)
    seq = ssm.S5(H, N, 2, init=init, scan="sequential", key=key)(u)  # same key: same parameters
    assert _rel(par, rec) < 1e-5 and _rel(par, seq) < 1e-5


@pytest.mark.parametrize("layer", ["s4", "s4d", "s5"])
def test_model_step_mode_equals_convolution_mode(getkey, layer):
    kwargs = {"length": L} if layer == "s4" else {}
    model = ssm.SequenceModel(3, 2, H, 2, layer=layer, state_size=N, key=getkey(), **kwargs)
    x = jr.normal(getkey(), (L, 3))

    @eqx.filter_jit
    def both(model, x):
        recs = model.recurrence()
        steps = jax.lax.scan(lambda s, xk: model.step(recs, s, xk), model.init_state(recs), x)[1]
        return model(x), steps

    conv, steps = both(model, x)
    assert conv.shape == (L, 2)
    assert _rel(conv, steps) < 1e-4


def test_model_vmap_jit_grad(getkey):
    model = ssm.SequenceModel(3, 2, H, 1, layer="s4d", state_size=N, key=getkey())
    xs = jr.normal(getkey(), (5, L, 3))
    ys = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))(model, xs)
    assert ys.shape == (5, L, 2)
    assert np.allclose(np.asarray(ys[2]), np.asarray(model(xs[2])), atol=1e-5)

    def loss(m):
        return jnp.mean(jax.vmap(m)(xs) ** 2)

    grads = eqx.filter_jit(eqx.filter_grad(loss))(model)
    ssm_grads = grads.blocks[0].ssm
    for name in ("log_dt", "log_neg_real", "imag", "d"):
        g = getattr(ssm_grads, name)
        assert bool(jnp.all(jnp.isfinite(g))) and float(jnp.abs(g).max()) > 0, name
    # directional derivative along log_dt against a central difference (float32: loose but real)
    direction = jr.normal(getkey(), (H,))
    eps = 1e-2

    def shifted(t):
        return eqx.tree_at(
            lambda m: m.blocks[0].ssm.log_dt, model, model.blocks[0].ssm.log_dt + t * direction
        )

    jloss = eqx.filter_jit(loss)
    fd = (jloss(shifted(eps)) - jloss(shifted(-eps))) / (2 * eps)
    assert np.isclose(float(jnp.sum(ssm_grads.log_dt * direction)), float(fd), rtol=5e-2, atol=1e-6)


def test_s4_and_s5_grads_are_finite(getkey):
    u = jr.normal(getkey(), (L, H))
    for layer in (ssm.S4(H, N, L, key=getkey()), ssm.S5(H, N, key=getkey())):
        g = eqx.filter_grad(lambda m: jnp.sum(m(u) ** 2))(layer)
        leaves = jax.tree_util.tree_leaves(eqx.filter(g, eqx.is_inexact_array))
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)
        assert float(jnp.abs(g.log_dt).max()) > 0


@pytest.mark.x64
def test_layers_follow_float64(getkey):
    layer = ssm.S4D(H, N, dtype=jnp.float64, key=getkey())
    u = jr.normal(getkey(), (L, H), jnp.float64)
    conv, rec = layer(u), layer.recurrence().scan(u)
    assert conv.dtype == jnp.float64 and _rel(conv, rec) < 1e-12


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: ssm.S4D(H, N, init="hippo", key=jr.key(0)),
            ValueError,
            "S4D: unknown `init` 'hippo'; expected one of",
        ),
        (lambda: ssm.S4D(H, 7, key=jr.key(0)), ValueError, "s4d_init: `n` must be even"),
        (
            lambda: ssm.S4D(0, N, key=jr.key(0)),
            ValueError,
            "S4D: `hidden` must be a positive int, got 0",
        ),
        (
            lambda: ssm.S4D(2.0, N, key=jr.key(0)),
            TypeError,
            "S4D: `hidden` must be a positive int, got float",
        ),
        (
            lambda: ssm.S4D(H, N, method="rk4", key=jr.key(0)),
            ValueError,
            "S4D: unknown `method` 'rk4'",
        ),
        (
            lambda: ssm.S4D(H, N, init=(jnp.ones(3) + 0j, jnp.ones(3)), key=jr.key(0)),
            ValueError,
            "negative real parts",
        ),
        (
            lambda: ssm.S4D(H, N, key=jr.key(0))(jnp.ones((L, H + 1))),
            ValueError,
            "one sequence of shape",
        ),
        (lambda: ssm.S4(H, N, 16, key=jr.key(0))(jnp.ones((L, H))), ValueError, "kernel length 16"),
        (lambda: ssm.S4(H, 5, 16, key=jr.key(0)), ValueError, "S4: `state_size` must be even"),
        (
            lambda: ssm.S4(H, N, 16.0, key=jr.key(0)),
            TypeError,
            "S4: `length` must be a positive int",
        ),
        (
            lambda: ssm.S5(H, N, init="legs", key=jr.key(0)),
            ValueError,
            r"S5: unknown `init` 'legs'; expected one of \['hippo_n', 'ptd'\]",
        ),
        (lambda: ssm.S5(H, N, scan="fft", key=jr.key(0)), ValueError, "S5: unknown `scan` 'fft'"),
        (
            lambda: ssm.SSMBlock(eqx.nn.Linear(2, 2, key=jr.key(0)), key=jr.key(0)),
            TypeError,
            "`ssm` must be an AbstractSSM",
        ),
        (
            lambda: ssm.SequenceModel(3, 2, H, 1, layer="lstm", key=jr.key(0)),
            ValueError,
            "SequenceModel: unknown `layer` 'lstm'",
        ),
        (
            lambda: ssm.SequenceModel(3, 2, H, 1, key=jr.key(0))(jnp.ones((L, 4))),
            ValueError,
            "`x` must have shape",
        ),
        (
            lambda: ssm.S4D(H, N, key=jr.key(0)).recurrence().scan(jnp.ones(L)),
            ValueError,
            "`u` must have shape",
        ),
    ],
)
def test_bad_input(call, exc, match):
    with raises(exc, match):
        call()
