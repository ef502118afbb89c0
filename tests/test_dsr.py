"""jaxsci.dsr: the models against their equations, the metrics against the authors'
definitions and closed forms, and teacher-forced training through train.fit."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.ndimage

from jaxsci import RESULTS, dsr, dynamics, train

# --- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("clipped", [False, True])
def test_shplrnn_step_is_the_equation(clipped, getkey):
    m = dsr.ShallowPLRNN(3, 5, 7, clipped=clipped, key=getkey())
    z = jr.normal(getkey(), (5,))
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    a, w1, w2 = (np.asarray(v) for v in (m.decay, m.w_out, m.w_in))
    h1, h2, zz = np.asarray(m.bias_out), np.asarray(m.bias_in), np.asarray(z)
    act = relu(w2 @ zz + h2) - (relu(w2 @ zz) if clipped else 0)
    np.testing.assert_allclose(m.step(z), a * zz + w1 @ act + h1, rtol=1e-5, atol=1e-6)
    assert m.latent_size == 5 and m.initial_state(z[:3]).shape == (5,)
    np.testing.assert_array_equal(m.initial_state(z[:3])[:3], z[:3])
    # the bound holds at every state
    zs = 3 * jr.normal(getkey(), (64, 5))
    norms = jax.vmap(lambda v: jnp.linalg.norm(jax.jacfwd(m.step)(v), 2))(zs)
    assert float(norms.max()) <= float(m.jacobian_norm_bound()) + 1e-5


def test_alrnn_step_subregions_and_symbolic_code(getkey):
    m = dsr.ALRNN(3, 6, 2, key=getkey())
    m = eqx.tree_at(lambda t: t.weights, m, jr.normal(getkey(), (6, 6)) * 0.3)
    z = jr.normal(getkey(), (6,))
    phi = np.asarray(z).copy()
    phi[-2:] = np.maximum(phi[-2:], 0)
    want = np.asarray(m.decay) * np.asarray(z) + np.asarray(m.weights) @ phi + np.asarray(m.bias)
    np.testing.assert_allclose(m.step(z), want, rtol=1e-5, atol=1e-6)
    # inside its subregion the map is affine with the subregion's matrix
    region = int(m.subregion(z))
    assert region == 2 * int(z[4] > 0) + int(z[5] > 0)
    np.testing.assert_allclose(
        m.subregion_matrix(region) @ z + m.bias, m.step(z), rtol=1e-5, atol=1e-6
    )
    latents = m.rollout(z, 50)
    code = dsr.symbolic_code(m, latents)
    assert code.shape == (50,) and set(np.unique(code)) <= {0, 1, 2, 3}
    with pytest.raises(TypeError, match="symbolic_code: `model` must be an ALRNN"):
        dsr.symbolic_code(dsr.ShallowPLRNN(3, 3, 4, key=getkey()), latents)


def test_rollout_jit_vmap(getkey):
    m = dsr.ALRNN(3, 8, 2, key=getkey())
    x0 = jr.normal(getkey(), (4, 3))
    out = eqx.filter_jit(jax.vmap(lambda x: m.generate(x, 20)))(x0)
    assert out.shape == (4, 20, 3)
    np.testing.assert_allclose(out[1], m.generate(x0[1], 20), rtol=1e-5, atol=1e-6)


# --- metrics ---------------------------------------------------------------------------------


def _authors_dstsp(x_true, x_gen, n_bins):
    """Brenner et al.'s binned KL with Laplace smoothing alpha = 1e-5 (ALRNN-DSR metrics.py),
    histograms by NumPy's histogramdd over the true range (the maximum in the last bin)."""
    rng = list(zip(x_true.min(0), x_true.max(0), strict=True))
    h_t = np.histogramdd(x_true, bins=n_bins, range=rng)[0].ravel()
    h_g = np.histogramdd(x_gen, bins=n_bins, range=rng)[0].ravel()
    a = 1e-5
    p = (h_t + a) / (h_t.sum() + a * h_t.size)
    q = (h_g + a) / (h_g.sum() + a * h_g.size)
    return float(np.sum(p * np.log(p / q)))


def _authors_dh(x, y, smoothing):
    """ALRNN-DSR metrics.py power_spectrum_error, in NumPy/SciPy."""

    def ps(v):
        v = (v - v.mean()) / v.std()
        s = np.abs(np.fft.rfft(v)) ** 2 * 2 / len(v)
        s = scipy.ndimage.gaussian_filter1d(s, smoothing)
        return s / s.sum()

    return np.mean(
        [np.sqrt(1 - np.sum(np.sqrt(ps(x[:, i]) * ps(y[:, i])))) for i in range(x.shape[1])]
    )


@pytest.fixture(scope="module")
def lorenz_pair():
    xs = dynamics.chaotic_trajectories(
        dynamics.ChaoticFlow("Lorenz"),
        3000,
        pts_per_period=40,
        standardize=True,
        initial_states=jnp.array([[-9.79, -15.04, 20.53], [1.0, 1.0, 20.0]]),
    )
    return np.asarray(xs[0, 200:], np.float64), np.asarray(xs[1, 200:], np.float64)


@pytest.mark.x64
def test_dstsp_against_definition(lorenz_pair):
    x, y = lorenz_pair
    for n_bins in (10, 30):
        got = float(dsr.state_space_divergence(x, y, n_bins=n_bins))
        assert got == pytest.approx(_authors_dstsp(x, y, n_bins), rel=1e-10)
    # a trajectory against itself: 0; against a shifted copy: large
    assert float(dsr.state_space_divergence(x, x)) == pytest.approx(0.0, abs=1e-12)
    assert float(dsr.state_space_divergence(x, x + 0.5)) > 1.0
    assert np.isnan(float(dsr.state_space_divergence(x, x + 100.0)))


@pytest.mark.x64
def test_dh_against_definition(lorenz_pair):
    x, y = lorenz_pair
    n = min(len(x), len(y))
    for smoothing in (2.0, 20.0):
        got = float(dsr.power_spectrum_distance(x[:n], y[:n], smoothing=smoothing))
        assert got == pytest.approx(_authors_dh(x[:n], y[:n], smoothing), rel=1e-8, abs=1e-10)
    assert float(dsr.power_spectrum_distance(x, x)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.x64
def test_gmm_dstsp_closed_form(getkey):
    # one component each: KL(N(a, s I) || N(b, s I)) = |a - b|^2 / (2 s)
    a, b, s = jnp.array([[0.0, 0.0]]), jnp.array([[1.0, 2.0]]), 0.5
    got = dsr.state_space_divergence_gmm(a, b, scaling=s, n_samples=20000, key=getkey())
    assert float(got) == pytest.approx(5 / (2 * s), rel=0.03)
    x = jr.normal(getkey(), (300, 4))
    assert float(dsr.state_space_divergence_gmm(x, x, key=getkey())) == 0.0


def test_smape_and_vpt_closed_forms():
    x = jnp.ones((10, 2))
    assert float(dsr.smape(x, x)) == 0.0
    assert float(dsr.smape(x, -x)) == pytest.approx(200.0)
    assert float(dsr.smape(x, 3 * x)) == pytest.approx(100.0)  # 2 * 2 / 4
    # the sMAPE of the prefix 0..t (Gilpin 2023's benchmark code), not of step t alone:
    # pointwise 0 up to step 5, then 200/3 (a forecast of 2 for 1); the prefix mean
    # 200/3 (t - 5) / (t + 1) is 9.5, 16.7, 22.2, 26.7 at t = 6..9: never above 30
    y = x.at[6:].set(2.0)
    assert float(dsr.valid_prediction_time(x, y)) == 10.0
    assert float(dsr.valid_prediction_time(x, y, threshold=20.0)) == 8.0  # 22.2 at t = 8
    assert float(
        dsr.valid_prediction_time(x, y, threshold=20.0, dt=0.01, lyapunov_exponent=0.9)
    ) == pytest.approx(8 * 0.01 * 0.9)
    # pointwise 100 (3 for 1) from step 2: the prefix 100/3 > 30 at t = 2
    assert float(dsr.valid_prediction_time(x, x.at[2:].set(3.0))) == 2.0
    assert float(dsr.valid_prediction_time(x, x)) == 10.0
    z = x.at[3:].set(1.2)  # 18.2 < 30: still valid
    assert float(dsr.valid_prediction_time(x, z)) == 10.0
    # near a zero crossing a tiny error is a pointwise sMAPE of 200 (0.01 against -0.01):
    # at step 8 of 10 the prefix mean is 200/9 = 22.2, so the forecast stays valid; the
    # pointwise definition would have ended it at step 8
    truth, pred = x.at[8].set(0.01), x.at[8].set(-0.01)
    assert float(dsr.valid_prediction_time(truth, pred)) == 10.0
    assert float(dsr.valid_prediction_time(truth[8:], pred[8:])) == 0.0
    # a non-finite prediction ends the valid time at its step
    assert float(dsr.valid_prediction_time(x, x.at[4].set(jnp.nan))) == 4.0


def test_smape_matches_dysts():
    metrics = pytest.importorskip("dysts.metrics")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    want = metrics.smape(x, y, scaled=False)
    assert float(dsr.smape(jnp.asarray(x), jnp.asarray(y))) == pytest.approx(want, rel=1e-5)
    # VPT as the author's benchmark code computes it: dysts' sMAPE of every prefix, the first
    # prefix above 30 (a forecast drifting off a random walk, exceeded part-way)
    truth = np.cumsum(rng.normal(size=(200, 3)), axis=0)
    pred = truth + 0.02 * np.arange(200)[:, None] * rng.normal(size=(200, 3))
    rolling = np.array(
        [metrics.smape(truth[: t + 1], pred[: t + 1], scaled=False) for t in range(200)]
    )
    want = int(np.argmax(rolling > 30)) if np.any(rolling > 30) else 200
    assert 0 < want < 200
    assert float(dsr.valid_prediction_time(jnp.asarray(truth), jnp.asarray(pred))) == want


def test_metric_bad_input(getkey):
    with pytest.raises(ValueError, match="state_space_divergence: `x_true` and `x_gen`"):
        dsr.state_space_divergence(jnp.zeros((5, 2)), jnp.zeros((5, 3)))
    with pytest.raises(ValueError, match="power_spectrum_distance: .* same shape"):
        dsr.power_spectrum_distance(jnp.zeros((5, 2)), jnp.zeros((6, 2)))
    with pytest.raises(ValueError, match="too many; use state_space_divergence_gmm"):
        dsr.state_space_divergence(jnp.zeros((5, 8)), jnp.zeros((5, 8)))
    with pytest.raises(TypeError, match="state_space_divergence: `n_bins` must be"):
        dsr.state_space_divergence(jnp.zeros((5, 2)), jnp.zeros((5, 2)), n_bins=2.5)
    with pytest.raises(ValueError, match="valid_prediction_time: `threshold` must be"):
        dsr.valid_prediction_time(jnp.ones((5, 2)), jnp.ones((5, 2)), threshold=-1.0)
    with pytest.raises(ValueError, match="state_space_divergence_gmm: `scaling`"):
        dsr.state_space_divergence_gmm(
            jnp.ones((5, 2)), jnp.ones((5, 2)), scaling=0.0, key=getkey()
        )


# --- training --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lorenz_data():
    xs = dynamics.chaotic_trajectories(
        dynamics.ChaoticFlow("Lorenz"), 2200, pts_per_period=100, standardize=True
    )
    return jnp.asarray(xs[0, 200:], jnp.float32)


def test_forced_predictions_alpha_one_is_one_step(lorenz_data, getkey):
    m = dsr.ShallowPLRNN(3, 3, 10, key=getkey())
    w = lorenz_data[:20]
    pred = dsr.forced_predictions(m, w, dsr.GeneralizedTeacherForcing(alpha=1.0), 1.0)
    np.testing.assert_allclose(pred, jax.vmap(m.step)(w[:-1]), rtol=1e-5, atol=1e-6)
    # sparse forcing with interval 1 is the same one-step prediction
    pred = dsr.forced_predictions(m, w, dsr.SparseTeacherForcing(1), 1.0)
    np.testing.assert_allclose(pred, jax.vmap(m.step)(w[:-1]), rtol=1e-5, atol=1e-6)


def test_sparse_forcing_is_the_authors_loop(lorenz_data, getkey):
    """The AL-RNN tutorial's training loop (alrnn_python, `predict_sequence_using_gtf` with
    alpha = 1): the state starts at `(x_0, L x_0)`; before step `t` the observed units are
    replaced by `x_t` when `t % 16 == 0 and t > 0`; step `t` predicts `x_{t+1}`."""
    m = dsr.ALRNN(3, 8, 2, key=getkey())
    w = np.asarray(lorenz_data[:41], np.float64)
    a, weights, h = (np.asarray(v, np.float64) for v in (m.decay, m.weights, m.bias))
    z = np.concatenate([w[0], np.asarray(m.latent_init, np.float64) @ w[0]])
    expected = []
    for t in range(40):
        if t % 16 == 0 and t > 0:
            z[:3] = w[t]
        phi = np.concatenate([z[:-2], np.maximum(z[-2:], 0)])
        z = a * z + weights @ phi + h
        expected.append(z[:3].copy())
    pred = dsr.forced_predictions(m, jnp.asarray(w, jnp.float32), dsr.SparseTeacherForcing(16), 1)
    np.testing.assert_allclose(pred, np.array(expected), rtol=1e-4, atol=1e-5)


def test_staircase_learning_rate_is_exponential_lr():
    """`decay_interval=k`: the rate of step s is lr (end/lr)^(k floor(s/k) / steps), as the
    tutorial's `ExponentialLR(gamma=exp(log(end/lr) / epochs))` stepped once per epoch."""
    from jaxsci.dsr._training import _learning_rate_schedule

    lr, end, epochs, k = 1e-3, 1e-5, 40, 5
    schedule = _learning_rate_schedule(lr, end, epochs * k, k)
    s = np.arange(epochs * k)
    expected = lr * (end / lr) ** (k * (s // k) / (epochs * k))
    np.testing.assert_allclose(np.asarray(jax.vmap(schedule)(s)), expected, rtol=1e-5)
    gamma = np.exp(np.log(end / lr) / epochs)  # the tutorial's gamma, epoch by epoch
    np.testing.assert_allclose(expected[::k], lr * gamma ** np.arange(epochs), rtol=1e-12)
    # the default decays every step and reaches `end` at the last one
    smooth = _learning_rate_schedule(lr, end, 200, None)
    np.testing.assert_allclose(float(smooth(200)), end, rtol=1e-5)
    np.testing.assert_allclose(float(smooth(1)), lr * (end / lr) ** (1 / 200), rtol=1e-6)


def test_penalty_is_the_authors_l2(getkey):
    """`penalty()`: `||1 - A||^2` plus the squared weights and biases (GTF-shPLRNN's
    `regularize` for the shallow PLRNN; `latent_init` is not penalised)."""
    m = dsr.ShallowPLRNN(3, 5, 7, clipped=True, key=getkey())
    m = eqx.tree_at(lambda t: t.bias_out, m, jr.normal(getkey(), (5,)))
    sq = lambda v: float(np.sum(np.asarray(v, np.float64) ** 2))  # noqa: E731
    expected = sq(1 - m.decay) + sq(m.w_out) + sq(m.w_in) + sq(m.bias_out) + sq(m.bias_in)
    np.testing.assert_allclose(float(m.penalty()), expected, rtol=1e-5)
    a = dsr.ALRNN(3, 6, 2, key=getkey())
    np.testing.assert_allclose(
        float(a.penalty()), sq(1 - a.decay) + sq(a.weights) + sq(a.bias), rtol=1e-5
    )


def test_regularization_adds_lambda_penalty_to_the_loss(lorenz_data, getkey):
    """The first step's loss (at the initial model, on the same windows) with `regularization`
    lambda is the loss without it plus `lambda model.penalty()`."""
    m = dsr.ShallowPLRNN(3, 3, 10, key=getkey())
    key = getkey()
    run = lambda lam: dsr.reconstruct(  # noqa: E731
        m, lorenz_data, steps=1, key=key, sequence_length=20, regularization=lam
    )
    plain, penalised = run(0.0), run(0.5)
    np.testing.assert_allclose(
        penalised.history["loss"][0],
        plain.history["loss"][0] + 0.5 * float(m.penalty()),
        rtol=1e-5,
    )


def test_gtf_training_one_compilation(lorenz_data, monkeypatch):
    from jaxsci.dsr import _training

    traces = []
    original = _training.forced_predictions
    monkeypatch.setattr(
        _training, "forced_predictions", lambda *a: traces.append(1) or original(*a)
    )
    model = dsr.ShallowPLRNN(3, 3, 50, clipped=True, key=jr.key(0))
    rec = dsr.reconstruct(
        model,
        lorenz_data,
        steps=600,
        key=jr.key(1),
        sequence_length=30,
        learning_rate=1e-2,
        loop=train.Loop(chunk_size=200),
    )
    assert len(traces) == 1  # three chunks, one trace of the loss: one compilation
    assert rec.result is RESULTS.successful and rec.history["loss"].shape == (600,)
    # a second call with the same settings (another model and key) compiles nothing new
    dsr.reconstruct(
        dsr.ShallowPLRNN(3, 3, 50, clipped=True, key=jr.key(2)),
        lorenz_data,
        steps=600,
        key=jr.key(3),
        sequence_length=30,
        learning_rate=1e-2,
        loop=train.Loop(chunk_size=200),
    )
    assert len(traces) == 1
    alpha = rec.history["alpha"]
    assert alpha[0] == 1.0 and 0 < alpha[-1] < 1  # annealed from full forcing
    assert rec.history["loss"][-100:].mean() < rec.history["loss"][:100].mean() / 3


@pytest.mark.slow
def test_gtf_training_lowers_dstsp(lorenz_data):
    """5000 steps of adaptive GTF (clipped shPLRNN, H = 100) halve D_stsp of a free run
    (10 bins per dimension: with 2000 points two true Lorenz trajectories are 0.39 apart at
    10 bins and 2.35 at 30, the histograms being undersampled)."""
    x = lorenz_data
    model = dsr.ShallowPLRNN(3, 3, 100, clipped=True, key=jr.key(0))
    before = float(dsr.state_space_divergence(x, model.generate(x[0], 2000), n_bins=10))
    rec = dsr.reconstruct(model, x, steps=5000, key=jr.key(1), loop=train.Loop(chunk_size=1000))
    after = float(dsr.state_space_divergence(x, rec.model.generate(x[0], 2000), n_bins=10))
    assert after < before / 2, (before, after)


def test_sparse_tf_alrnn_trains(lorenz_data):
    rec = dsr.reconstruct(
        dsr.ALRNN(3, 10, 2, key=jr.key(0)),
        lorenz_data,
        forcing=dsr.SparseTeacherForcing(8),
        steps=300,
        key=jr.key(1),
        sequence_length=40,
    )
    assert rec.history["loss"][-50:].mean() < rec.history["loss"][:50].mean()
    assert np.all(rec.history["alpha"] == 1.0)


def test_nan_stops_with_result_code(lorenz_data):
    bad = lorenz_data.at[5:].set(jnp.nan)
    rec = dsr.reconstruct(
        dsr.ALRNN(3, 4, 1, key=jr.key(0)),
        bad,
        steps=20,
        key=jr.key(1),
        sequence_length=10,
        throw=False,
    )
    assert rec.result is RESULTS.nonfinite
    assert all(
        bool(jnp.all(jnp.isfinite(leaf)))
        for leaf in jax.tree_util.tree_leaves(eqx.filter(rec.model, eqx.is_inexact_array))
    )


def test_training_bad_input(lorenz_data, getkey):
    m = dsr.ALRNN(3, 4, 1, key=getkey())
    with pytest.raises(TypeError, match="reconstruct: `model` must be a jaxsci.dsr model"):
        dsr.reconstruct(object(), lorenz_data, steps=1, key=getkey())
    with pytest.raises(ValueError, match=r"reconstruct: `data` must have shape \(time, 3\)"):
        dsr.reconstruct(m, lorenz_data[:, :2], steps=1, key=getkey())
    with pytest.raises(ValueError, match="reconstruct: `sequence_length` 5000 must be shorter"):
        dsr.reconstruct(m, lorenz_data, steps=1, key=getkey(), sequence_length=5000)
    with pytest.raises(ValueError, match="reconstruct: `decay_interval` must be a positive"):
        dsr.reconstruct(m, lorenz_data, steps=1, key=getkey(), decay_interval=0)
    with pytest.raises(ValueError, match="reconstruct: `regularization` must be a non-negative"):
        dsr.reconstruct(m, lorenz_data, steps=1, key=getkey(), regularization=-1e-5)
    with pytest.raises(ValueError, match=r"GeneralizedTeacherForcing: `alpha` must be in \[0, 1\]"):
        dsr.GeneralizedTeacherForcing(alpha=1.5)
    with pytest.raises(ValueError, match="SparseTeacherForcing: `interval` must be a positive"):
        dsr.SparseTeacherForcing(0)
    with pytest.raises(ValueError, match="ALRNN: `n_relu` must be an int in"):
        dsr.ALRNN(3, 4, 5, key=getkey())
    with pytest.raises(ValueError, match="ShallowPLRNN: `latent_size` must be an int >= 3"):
        dsr.ShallowPLRNN(3, 2, 5, key=getkey())
