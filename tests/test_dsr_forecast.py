"""The cross-family forecasting benchmark (`experiments/dsr/forecast.py`): its scores against
closed forms, the alignment of every forecast with the data it follows, one row end to end."""

import json
import os
import subprocess
import sys

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from experiments.dsr import forecast as fc
from jaxsci import dsr
from jaxsci.dsr import forced_forecast

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@pytest.mark.x64
def test_naive_baselines_scores_closed_form():
    # train ends at 1 with mean 2; the truth goes on 1, 2, 3, 4. Pointwise sMAPE of the last
    # value: 200 |a - 1| / (a + 1) = 0, 200/3, 100, 120; of the mean 2: 200/3, 0, 40, 200/3
    train = np.array([[3.0], [1.0]])
    future = np.array([[1.0], [2.0], [3.0], [4.0]])
    args = fc.parse(["--horizon", "4", "--vpt-horizon", "4"])
    # rel 1e-9: `dsr.smape` guards its denominator with + 1e-10 (relative 1e-10 here)
    last = fc.scores(fc.forecast_last(train, 4), future, args, 0.5)
    assert last["smape"] == pytest.approx((200 / 3 + 100 + 120) / 4, rel=1e-9)
    assert last["vpt"] == 0.5  # valid for one step (error 0), 0.5 Lyapunov times per step
    mean = fc.scores(fc.forecast_mean(train, 4), future, args, 0.5)
    assert mean["smape"] == pytest.approx((400 / 3 + 40) / 4, rel=1e-9)
    assert mean["vpt"] == 0.0
    # sMAPE over the first `horizon` points only, VPT over `vpt_horizon`
    short = fc.scores(fc.forecast_last(train, 4), future, fc.parse(["--horizon", "2"]), 0.5)
    assert short["smape"] == pytest.approx(100 / 3, rel=1e-9)
    # a diverged forecast scores the worst sMAPE and is valid until its first non-finite point
    bad = fc.scores(np.array([[1.0], [np.nan], [3.0], [4.0]]), future, args, 1.0)
    assert bad["vpt"] == 1.0


@pytest.mark.x64
def test_hankel_edmd_forecast_is_exact_on_a_linear_recurrence():
    # two incommensurate sinusoids: 4 exponentials and a constant, which 8 delays span, so
    # Hankel EDMD is exact and its forecast from the end of the data is the continuation
    t = np.arange(400.0)
    xs = np.stack([np.cos(0.3 * t) + 0.5, np.sin(0.7 * t)], axis=1)
    model, last = fc.fit_edmd(xs[:300], 8)
    pred = fc.koopman_forecast(model, last, 100, 2)
    np.testing.assert_allclose(pred, xs[300:], atol=1e-7)


def test_rnn_forecast_starts_after_the_warmup():
    # an AL-RNN with A = I, W = 0 moves every unit by h: the forecast after the warm-up
    # x_1..x_T is x_T + k h, k = 1, 2, ... (observed units), whatever the latent start
    model = dsr.ALRNN(2, 5, 2, key=jr.key(0))
    h = jnp.array([0.1, -0.2, 0.3, 0.0, 1.0])
    model = eqx.tree_at(
        lambda m: (m.decay, m.weights, m.bias), model, (jnp.ones(5), jnp.zeros((5, 5)), h)
    )
    warmup = jr.normal(jr.key(1), (7, 2))
    pred = forced_forecast(model, warmup, 4)
    expected = warmup[-1] + jnp.arange(1, 5)[:, None] * h[:2]
    # float32: a few roundings of O(1) numbers per step
    np.testing.assert_allclose(pred, expected, rtol=0, atol=8 * jnp.finfo(pred.dtype).eps)


def _run(tmp_path, *args, timeout=600):
    out = tmp_path / "forecast.json"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.dsr.forecast", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


TINY = [
    "--systems",
    "Lorenz",
    "--train-periods",
    "2",
    "--vpt-horizon",
    "60",
    "--free-run",
    "300",
    "--delays",
    "4",
    "--rank",
    "20",
]


@pytest.mark.x64
def test_forecast_row_end_to_end():
    # in process (no second JAX start-up): the row `main` writes, and its tables
    args = fc.parse([*TINY, "--models", "last", "mean", "edmd"])
    rows = fc.run_system("Lorenz", args, trainers={})
    assert [r["model"] for r in rows] == ["last", "mean", "edmd"]
    per_step = 1.5008 * 600 / (100 * 599) * 0.8917098035724058  # dysts' grid, 600 points
    for r in rows:
        assert r["system"] == "Lorenz" and 0 <= r["smape"] <= 200
        assert 0 <= r["vpt"] <= 60 * per_step + 1e-12
        assert len(r["free_run"]) == 1
    # a constant forecast has no power spectrum: D_H is undefined (null), D_stsp is not
    for r in rows[:2]:
        assert r["free_run"][0]["d_h"] is None and r["free_run"][0]["d_stsp"] > 0
    text = fc.table({"rows": rows})
    assert "| last |" in text and "| Lorenz |" in text and "Free runs" in text


@pytest.mark.slow  # the three trained families at 2 steps: their compilations, ~1-2 min
def test_forecast_row_every_model(tmp_path):
    args = [*TINY, "--steps", "2", "--seeds", "0", "1", "--window", "20"]
    data, stdout = _run(tmp_path, *args, "--sequence-length", "20", timeout=1800)
    assert data["settings"]["vpt_threshold"] == 30.0 and data["env"]["command"]
    assert "| last |" in stdout and "Free runs" in stdout
    rows = {r["model"]: r for r in data["rows"]}
    assert set(rows) == set(fc.MODELS)
    for name in fc.TRAINED:
        assert len(rows[name]["vpt_seeds"]) == 2 and len(rows[name]["free_run"]) == 2


def test_merge_takes_each_model_from_the_last_file_that_has_it(tmp_path, monkeypatch):
    """`--merge`: the committed 1000-step table with the RNNs of the 20,000-step run; a file
    whose settings differ in more than the steps is refused."""
    merged = fc.merge(["prefix_vpt", "rnn_steps20000"])
    rows = {(r["system"], r["model"]): r for r in merged["rows"]}
    for variant, models in (("prefix_vpt", ("kedmd", "s4d")), ("rnn_steps20000", ("shplrnn",))):
        with open(fc.result_path(fc.NAME, variant)) as f:
            for r in json.load(f)["rows"]:
                if r["model"] in models:
                    assert rows[(r["system"], r["model"])] == r
    assert len(rows) == len(merged["rows"]) == 20 * 7
    assert merged["source"]["shplrnn"] == "rnn_steps20000 (20000 steps)"
    settings = {"steps": 10, "horizon": 50, "free_run": 0}
    for name, horizon in (("a", 50), ("b", 40)):
        data = {"settings": {**settings, "horizon": horizon}, "rows": []}
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    monkeypatch.setattr(fc, "result_path", lambda _, v: tmp_path / f"{v}.json")
    with pytest.raises(SystemExit, match=r"b differs from the first file in \['horizon'\]"):
        fc.merge(["a", "b"])
