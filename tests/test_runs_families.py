"""Configs are the solver call (issue 23), for the SSM, Koopman and DSR families: each family's
shipped config, shrunk with `--set`-style overrides and run through `jaxsci.runs`, gives to the
bit what the same computation written out in Python with the library gives (trained
parameters, loss history, the metrics in `metrics.json`). Each Python call states only what
the config states and leaves the rest to the library's defaults, so a config default that
drifted from the library's would fail here. A negative control per family changes one option
in the Python call and sees the comparison fail. The Koopman test runs by default; the SSM and
DSR ones, which compile a training step three times, are `slow` (`pytest -m slow`).

(That a family is one registered file, with nothing else in `runs/` or `cli.py` to edit, is
`test_runs.py::test_a_family_is_one_registered_runner`: a test family registered from the test
module is parsed, run by `jaxsci run`, listed by `--list` and loaded.)
"""

import functools
import json
import os

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

from jaxsci import dsr, dynamics, runs, ssm, train
from jaxsci import koopman as kp

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "experiments", "configs")


def _run(name: str, overrides: list[str], out) -> dict:
    """The shipped config `name` with `overrides`, run into `out`: its metrics.json."""
    cfg = runs.load_config(os.path.join(CONFIGS, name), [*overrides, "plot=false"])
    runs.run(cfg, str(out), progress=False)
    return json.loads((out / "metrics.json").read_text())


def _same(a, b) -> bool:
    """Two PyTrees equal to the bit (same structure, every array leaf equal)."""
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(
        np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb, strict=True)
    )


# ------------------------------------------------------------------------------------------ SSM
# ssm_copying.toml states: layer s4d, hidden 64, depth 2, state_size 64, batch 32, lr 3e-3,
# clip_norm 1.0, weight_decay 0.0; shrunk here:
SSM_SMALL = [
    "task.gap=12",
    "task.eval_batches=1",
    "model.hidden=8",
    "model.state_size=8",
    "train.steps=8",
    "train.batch=4",
    "train.chunk_size=4",
    "train.seeds=[0]",
]


def _ssm_by_hand(learning_rate=3e-3):
    """The copying run of seed 0 as a user writes it: `(model, history, accuracy)`."""
    gap, batch, steps = 12, 4, 8
    k_model, k_run, k_eval = jr.split(jr.key(0), 3)
    # copying: 10 input tokens (8 symbols, blank, delimiter), 8 classes, 10 symbols replayed
    model = ssm.SequenceModel(10, 8, 8, key=k_model, state_size=8)
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, learning_rate, min(100, steps // 10 + 1), steps, 0.05 * learning_rate
    )
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, weight_decay=0.0))

    def logits(model, x):
        return jax.vmap(model)(x)[:, -10:]

    def loss_fn(model, extra, key):
        x, y = ssm.copying_batch(key, batch, gap)
        return optax.softmax_cross_entropy_with_integer_labels(logits(model, x), y).mean(), {}

    result = train.fit(loss_fn, model, optimizer, steps=steps, key=k_run)
    x, y = ssm.copying_batch(jr.split(k_eval, 1)[0], 64, gap)
    accuracy = eqx.filter_jit(lambda m: jnp.mean(jnp.argmax(logits(m, x), -1) == y))
    return result.params, result.history, float(accuracy(result.params))


@pytest.fixture(scope="module")
def ssm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ssm")
    metrics = _run("ssm_copying.toml", SSM_SMALL, out)
    return metrics, runs.load(str(out)), runs._rundir.read_history(str(out), 0)


@pytest.mark.slow  # 35 s of CPU, most of it compiling the training step three times
@pytest.mark.parametrize("changed", [False, True], ids=["same-call", "lr-changed"])
def test_ssm_config_is_the_python_call(ssm_run, changed):
    metrics, model, history = ssm_run
    by_hand, hand_history, accuracy = _ssm_by_hand(2e-3 if changed else 3e-3)
    same = [
        _same(model, by_hand),
        np.array_equal(history["loss"], hand_history["loss"]),
        metrics["runs"][0]["accuracy"] == accuracy,
    ]
    assert same[:2] == [not changed] * 2 and (same[2] or changed)


# -------------------------------------------------------------------------------------- Koopman
# koopman_duffing.toml states: Duffing, dt 0.3, box [0.65, 1.35] x [-0.35, 0.35], Legendre on
# [0.5, 1.5] x [-0.5, 0.5], EDMD with its defaults, epsilon 0.05; shrunk here:
KOOPMAN_SMALL = [
    "data.n_trajectories=30",
    "data.held_out_trajectories=40",
    "data.n_steps=5",
    "dictionary.degree=4",
]


def _koopman_by_hand(method=None):
    """The Duffing fit as a user writes it: `(model, residuals on the held-out pairs, verified
    eigenvalues)`, float64."""
    system = dynamics.Duffing()
    key = jr.key(0)

    def pairs(k, n):
        k0, kn = jr.split(k)
        lo, hi = jnp.array([0.65, -0.35]), jnp.array([1.35, 0.35])
        x0 = jr.uniform(k0, (n, 2), jnp.float64, lo, hi)
        trajectories = dynamics.trajectories(system, x0, dt=0.3, n_steps=5, key=kn)
        return dynamics.snapshot_pairs(trajectories)

    x, y = pairs(jr.fold_in(key, 0), 30)
    xv, yv = pairs(jr.fold_in(key, 1), 40)
    dictionary = kp.Legendre(jnp.array([0.5, -0.5]), jnp.array([1.5, 0.5]), 4)
    estimator = kp.EDMD(dictionary) if method is None else kp.EDMD(dictionary, method=method)
    model = kp.fit(estimator, x, y)
    data = kp.residual_data(model.dictionary, xv, yv)
    verified, _, _ = kp.verified_eigenpairs(model, data, epsilon=0.05)
    return model, np.asarray(kp.residuals(model, data)), np.asarray(verified)


@pytest.fixture(scope="module")
def koopman_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("koopman")
    metrics = _run("koopman_duffing.toml", KOOPMAN_SMALL, out)
    with jax.enable_x64(True):
        return metrics, runs.load(str(out))


@pytest.mark.x64
@pytest.mark.parametrize("method", [None, "gram"], ids=["same-call", "method-changed"])
def test_koopman_config_is_the_python_call(koopman_run, method):
    metrics, model = koopman_run
    by_hand, residuals, verified = _koopman_by_hand(method)
    lam = np.asarray(by_hand.eigenvalues)
    order = np.argsort(residuals)
    rows = [
        {"real": float(lam[i].real), "imag": float(lam[i].imag), "residual": float(residuals[i])}
        for i in order
    ]
    same = [
        _same(model, by_hand),
        metrics["eigenvalues"] == rows,
        [complex(v["real"], v["imag"]) for v in metrics["verified"]] == verified.tolist(),
    ]
    assert same[:2] == [method is None] * 2 and (same[2] or method is not None)


# ------------------------------------------------------------------------------------------ DSR
# dsr_lorenz63.toml states: Lorenz, 100 points per period, clipped shPLRNN M = 3, adaptive GTF,
# reconstruct's defaults otherwise; shrunk here:
DSR_SMALL = [
    "system.n_train=400",
    "system.n_test=400",
    "system.transient=100",
    "model.hidden_size=8",
    "train.steps=10",
    "train.sequence_length=20",
    "train.batch_size=4",
    "train.chunk_size=5",
    "train.seeds=[0]",
    "eval.n_bins=8",
    "eval.transient=20",
]


@functools.cache
def _lorenz():
    """The standardised Lorenz trajectory, split `(train, test)` as a user splits it."""
    xs = dynamics.chaotic_trajectories(
        dynamics.ChaoticFlow("Lorenz"), 100 + 400 + 400, pts_per_period=100, standardize=True
    )[0, 100:]
    xs = jnp.asarray(xs, jnp.float32)
    return xs[:400], xs[400:]


def _dsr_by_hand(forcing=None):
    """The Lorenz reconstruction of seed 0 as a user writes it: `(reconstruction, D_stsp)`."""
    train_x, test_x = _lorenz()
    k_model, k_run = jr.split(jr.key(0))
    model = dsr.ShallowPLRNN(3, 3, 8, clipped=True, key=k_model)
    extra = {} if forcing is None else {"forcing": forcing}
    rec = dsr.reconstruct(
        model, train_x, steps=10, key=k_run, sequence_length=20, batch_size=4, **extra
    )
    free_run = rec.model.generate(test_x[0], 20 + test_x.shape[0])[20:]
    return rec, float(dsr.state_space_divergence(test_x, free_run, n_bins=8))


@pytest.fixture(scope="module")
def dsr_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dsr")
    metrics = _run("dsr_lorenz63.toml", DSR_SMALL, out)
    return metrics, runs.load(str(out)), runs._rundir.read_history(str(out), 0)


@pytest.mark.slow  # 20 s of CPU: a Lorenz trajectory and three compiled trainings
@pytest.mark.parametrize(
    "forcing",
    [None, dsr.GeneralizedTeacherForcing(alpha=0.5)],
    ids=["same-call", "alpha-changed"],
)
def test_dsr_config_is_the_python_call(dsr_run, forcing):
    metrics, model, history = dsr_run
    rec, d_stsp = _dsr_by_hand(forcing)
    same = [
        _same(model, rec.model),
        np.array_equal(history["loss"], rec.history["loss"]),
        metrics["runs"][0]["d_stsp"] == d_stsp,
    ]
    assert same[:2] == [forcing is None] * 2 and (same[2] or forcing is not None)
