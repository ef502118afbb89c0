"""Deep Koopman: information terms (von Neumann entropy, InfoNCE), the model, and training that
recovers the slow-manifold Koopman eigenvalues."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import raises

from jaxsci import koopman as kp
from jaxsci import train

pytestmark = pytest.mark.x64


MU, LAM, DT = -0.3, -1.5, 0.2
TRUTH = np.sort(np.exp(DT * np.array([MU, 2 * MU, LAM])))  # x, x^2, y - c x^2


def _slow_manifold_trajectories(n=64, steps=20, seed=0):
    # closed form: x = x0 e^{mu t}, y = c x^2 + (y0 - c x0^2) e^{lam t}, c = lam / (lam - 2 mu)
    x0 = np.asarray(jax.random.uniform(jax.random.key(seed), (n, 2), minval=-1, maxval=1))
    t = DT * np.arange(steps + 1)[None, :]
    c = LAM / (LAM - 2 * MU)
    xs = x0[:, :1] * np.exp(MU * t)
    ys = c * xs**2 + (x0[:, 1:] - c * x0[:, :1] ** 2) * np.exp(LAM * t)
    return jnp.asarray(np.stack([xs, ys], -1))


def test_von_neumann_entropy_values_and_gradient(getkey):
    r = 4
    z = jax.random.normal(getkey(), (20000, r))
    assert abs(float(kp.von_neumann_entropy(z)) - np.log(r)) < 0.01  # isotropic: log r
    collapsed = jnp.outer(jax.random.normal(getkey(), (500,)), jnp.arange(1.0, r + 1))
    assert float(kp.von_neumann_entropy(collapsed)) < 1e-5  # rank one: 0
    # closed form against the eigenvalues of the normalised covariance
    w = jax.random.normal(getkey(), (300, r)) * jnp.array([3.0, 1.0, 0.5, 0.1])
    c = np.cov(np.asarray(w).T, bias=True)
    lam = np.linalg.eigvalsh(c / np.trace(c))
    assert abs(float(kp.von_neumann_entropy(w, jitter=0.0)) + np.sum(lam * np.log(lam))) < 1e-12
    # gradient: finite at an exactly isotropic covariance (degenerate eigenvalues), zero there
    # (a maximum), and equal to central differences elsewhere
    iso = jnp.concatenate([jnp.eye(r), -jnp.eye(r)]) * 2.0
    g = jax.grad(kp.von_neumann_entropy)(iso)
    assert np.all(np.isfinite(g)) and np.abs(g).max() < 1e-12
    g = jax.grad(lambda a: kp.von_neumann_entropy(a, jitter=0.0))(w)
    e = jnp.zeros_like(w).at[3, 2].set(1e-6)
    fd = (
        kp.von_neumann_entropy(w + e, jitter=0.0) - kp.von_neumann_entropy(w - e, jitter=0.0)
    ) / 2e-6
    assert abs(float(g[3, 2]) - float(fd)) < 1e-7


def test_info_nce_bounds(getkey):
    b = 256
    a = jax.random.normal(getkey(), (b, 8))
    same = float(kp.info_nce(a, a, temperature=0.05))
    indep = float(kp.info_nce(a, jax.random.normal(getkey(), (b, 8)), temperature=0.05))
    assert same <= np.log(b) + 1e-12 and same > np.log(b) - 0.5  # perfectly informative: ~log B
    assert indep < 0.1  # independent: the bound is <= I = 0 (up to finite-batch noise)
    with raises(ValueError, match="anchors"):
        kp.info_nce(a, a[:-1])


def test_objective_maximises_entropy_and_mutual_information(getkey):
    # one gradient step on the information terms alone raises both of them (signs are right)
    model = kp.DeepKoopman(2, 3, width=16, key=getkey())
    windows = _slow_manifold_trajectories()[:, :5]
    loss = kp.InformationKoopmanLoss(
        reconstruction_weight=0.0,
        linearity_weight=0.0,
        mutual_information_weight=1.0,
        entropy_weight=1.0,
    )

    def info_only(m):
        total, metrics = loss(m, windows)
        return total - metrics["prediction"], metrics

    (_, before), grads = eqx.filter_jit(eqx.filter_value_and_grad(info_only, has_aux=True))(model)
    stepped = eqx.apply_updates(model, jax.tree_util.tree_map(lambda g: -1e-2 * g, grads))
    after = eqx.filter_jit(loss)(stepped, windows)[1]
    assert float(after["entropy"]) > float(before["entropy"])
    assert float(after["mutual_information"]) > float(before["mutual_information"])


def test_model_jit_vmap_and_bad_input(getkey):
    model = kp.DeepKoopman(2, 3, width=8, key=getkey())
    x = jax.random.normal(getkey(), (5, 2))

    @eqx.filter_jit
    def run(m, pts):
        roundtrip = jax.vmap(lambda s: m.decode(m.encode(s)))(pts)
        return jax.vmap(lambda s: m.predict(s, 4))(pts), roundtrip

    out, roundtrip = run(model, x)
    assert out.shape == (5, 5, 2) and np.allclose(out[:, 0], roundtrip)
    assert np.allclose(np.sort(np.asarray(model.eigenvalues()).real), 1.0)  # K starts at I
    with raises(ValueError, match="DeepKoopman: `latent_dim` must be a positive int, got 0"):
        kp.DeepKoopman(2, 0, key=getkey())
    with raises(TypeError, match="DeepKoopman: `width` must be a positive int, got float"):
        kp.DeepKoopman(2, 3, width=16.0, key=getkey())
    with raises(ValueError, match="DeepKoopman: `depth` must be a non-negative int, got -1"):
        kp.DeepKoopman(2, 3, depth=-1, key=getkey())
    with raises(ValueError, match="trajectories"):
        kp.fit_deep_koopman(model, jnp.ones((4, 3, 2)), steps=1, horizon=4, key=getkey())
    with raises(ValueError, match="windows"):
        kp.InformationKoopmanLoss()(model, jnp.ones((4, 2)))


def _train(seed, loss, steps=3000):
    model = kp.DeepKoopman(2, 3, width=32, key=jax.random.key(seed))
    res = kp.fit_deep_koopman(
        model,
        _slow_manifold_trajectories(),
        loss=loss,
        optimizer=optax.adam(3e-3),
        steps=steps,
        batch_size=64,
        horizon=4,
        key=jax.random.key(100 + seed),
        loop=train.Loop(chunk_size=steps),
    )
    assert res.stats["failed_step"] is None
    return np.sort(np.asarray(res.params.eigenvalues()).real), res


def test_learned_eigenvalues_approach_slow_manifold_truth():
    start = np.ones(3)  # the identity initialisation: error 0.26
    ev, res = _train(0, kp.InformationKoopmanLoss())
    assert np.max(np.abs(ev - TRUTH)) < 0.05 < np.max(np.abs(start - TRUTH))
    assert np.all(ev < 1)  # no spurious growing mode
    assert res.history["loss"].shape == (3000,)


@pytest.mark.slow
def test_information_terms_prevent_collapse():
    # over 3 seeds: the plain objective finds a spurious unit-modulus mode and misses one of the
    # three eigenvalues; the information Lagrangian keeps three modes and recovers all of them
    info = [_train(s, kp.InformationKoopmanLoss()) for s in range(3)]
    plain = [
        _train(s, kp.InformationKoopmanLoss(mutual_information_weight=0.0, entropy_weight=0.0))
        for s in range(3)
    ]
    err_info = np.array([np.max(np.abs(ev - TRUTH)) for ev, _ in info])
    err_plain = np.array([np.max(np.abs(ev - TRUTH)) for ev, _ in plain])
    assert err_info.mean() < 0.04 and np.all(err_info < err_plain)
    ent_info = np.array([r.history["entropy"][-200:].mean() for _, r in info])
    ent_plain = np.array([r.history["entropy"][-200:].mean() for _, r in plain])
    assert np.all(ent_info > ent_plain)


@pytest.mark.slow
def test_ensemble_over_seeds():
    # vmap over seeds: an ensemble of models built and trained in one vmapped run
    keys = jax.random.split(jax.random.key(0), 3)
    ens = eqx.filter_vmap(lambda k: kp.DeepKoopman(2, 3, width=16, key=k))(keys)
    assert ens.koopman.shape == (3, 3, 3)
    res = kp.fit_deep_koopman(
        ens, _slow_manifold_trajectories(), steps=200, key=keys, ensemble=True
    )
    assert res.history["loss"].shape == (3, 200) and res.stats["failed_step"] is None
    assert np.all(res.history["loss"][:, -1] < res.history["loss"][:, 0])


@pytest.mark.slow  # 19 s; the stop and resume of train.fit itself: tests/test_resume.py
def test_training_stopped_resumes_to_the_bit(tmp_path):
    """Deep Koopman training is `train.fit`'s: stopped after a chunk (a stop request, as
    `jaxsci run`'s signal handler makes it), it checkpoints that step, and the run resumed from
    the checkpoint equals the uninterrupted one to the bit (parameters and loss history)."""
    from jaxsci.train import _interrupt

    path = str(tmp_path / "deep.eqx")

    def fit(loop):
        return kp.fit_deep_koopman(
            kp.DeepKoopman(2, 3, width=8, key=jax.random.key(0)),
            _slow_manifold_trajectories(),
            steps=60,
            batch_size=16,
            horizon=4,
            key=jax.random.key(1),
            loop=loop,
        )

    full = fit(train.Loop(chunk_size=20))
    stop = train.Loop(
        chunk_size=20, checkpoint=path, callback=lambda n, p: _interrupt.request_stop(2)
    )
    try:
        with pytest.raises(train.Interrupted) as e:
            fit(stop)
    finally:
        _interrupt.clear_stop()
    assert e.value.step == 20 and train.checkpoint_info(path)["step"] == 20
    resumed = fit(train.Loop(chunk_size=20, checkpoint=path, resume=True))
    leaves = zip(jax.tree.leaves(resumed.params), jax.tree.leaves(full.params), strict=True)
    assert all(np.array_equal(a, b) for a, b in leaves)
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
