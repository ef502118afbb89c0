"""The dsr family through `jaxsci run`: registered by its one file, run, loaded, listed."""

import json

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from jaxsci import dsr, runs
from jaxsci.runs._runner import RUNNERS

SMALL = [
    "train.steps=200",
    "train.seeds=[0]",
    "train.chunk_size=100",
    "train.sequence_length=50",
    "system.n_train=2000",
    "system.n_test=2000",
    "eval.n_bins=10",
    "plot=false",
]


def test_dsr_runner_registered_by_its_file():
    assert "dsr" in RUNNERS and "dsr" in runs.SOLVERS


def test_dsr_config_runs_and_loads(tmp_path):
    cfg = runs.load_config(
        "experiments/configs/dsr_lorenz63.toml", [*SMALL, "eval.forecast_horizon=20"]
    )
    out = runs.run(cfg, str(tmp_path / "run"), progress=False)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["solver"] == "dsr" and metrics["runs"][0]["result"] == "successful"
    assert np.isfinite(metrics["d_stsp"]) and out["ok"]
    model = runs.load(str(tmp_path / "run"))
    assert isinstance(model, dsr.ShallowPLRNN) and model.clipped
    # the saved model is the trained one: same D_H as the run reported
    from jaxsci.runs._dsr import data, evaluate

    train, test = data(cfg)
    assert evaluate(cfg, model, test)["d_stsp"] == metrics["d_stsp"]
    # the forecast from the end of the training data: scored by the run as by hand
    from jaxsci.runs._dsr import forecast_scores

    again = forecast_scores(cfg, model, train, test)
    assert metrics["runs"][0]["forecast_smape"] == again["smape"] == metrics["forecast_smape"]
    assert metrics["runs"][0]["forecast_vpt"] == again["vpt"] == metrics["forecast_vpt"]


def test_dsr_config_passes_the_papers_settings(monkeypatch, tmp_path):
    """`train.decay_interval` and `train.regularization` (the GTF paper's per-epoch rate decay
    and L2 penalty) reach `dsr.reconstruct`; unset, they are its defaults."""
    seen = {}

    class Stop(Exception):
        pass

    def fake(model, data, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(dsr, "reconstruct", fake)
    given = ["train.decay_interval=50", "train.regularization=1e-5"]
    with pytest.raises(Stop):
        runs.run(
            runs.load_config("experiments/configs/dsr_lorenz63.toml", SMALL + given), str(tmp_path)
        )
    assert seen["decay_interval"] == 50 and seen["regularization"] == 1e-5
    cfg = runs.load_config("experiments/configs/dsr_lorenz63.toml", SMALL)
    assert cfg.train.decay_interval is None and cfg.train.regularization == 0.0
    with pytest.raises(ValueError, match="regularization"):
        runs.load_config("experiments/configs/dsr_lorenz63.toml", ["train.regularization=-1"])


def _still(model):
    # A = I, W = 0, h = 0: the forecast repeats the last observation (the naive baseline)
    m = model.latent_size
    return eqx.tree_at(
        lambda a: (a.decay, a.weights, a.bias),
        model,
        (jnp.ones(m), jnp.zeros((m, m)), jnp.zeros(m)),
    )


def test_dsr_forecast_scores_in_lyapunov_times():
    from jaxsci.runs._dsr import forecast_scores

    cfg = runs.load_config(
        "experiments/configs/dsr_lorenz63.toml",
        [*SMALL, "eval.forecast_horizon=6", "eval.forecast_warmup=3"],
    )
    model = _still(dsr.ALRNN(3, 5, 2, key=jr.key(0)))
    train = jnp.ones((10, 3))
    # pointwise sMAPE against the repeated ones: 0 for two steps, then 200 * 3 / 5 = 120
    test = jnp.concatenate([jnp.ones((2, 3)), 4 * jnp.ones((8, 3))])
    out = forecast_scores(cfg, model, train, test)
    assert out["vpt_steps"] == 2 and out["smape"] == pytest.approx(120 * 4 / 6, rel=1e-6)
    # dysts' grid: n = transient + n_train + n_test points on [0, period n / pts_per_period]
    n = 1000 + 2000 + 2000
    per_step = 1.5008 * n / (100 * (n - 1)) * 0.8917098035724058  # Lorenz's metadata
    assert out["vpt"] == pytest.approx(2 * per_step, rel=1e-12)


def test_dsr_forecast_scores_refuses_a_horizon_beyond_the_test_data():
    from jaxsci.runs._dsr import forecast_scores

    cfg = runs.load_config(
        "experiments/configs/dsr_lorenz63.toml", [*SMALL, "eval.forecast_horizon=11"]
    )
    model = dsr.ALRNN(3, 5, 2, key=jr.key(0))
    with pytest.raises(ValueError, match="eval.forecast_horizon"):
        forecast_scores(cfg, model, jnp.ones((200, 3)), jnp.ones((10, 3)))
    cfg = runs.load_config(
        "experiments/configs/dsr_lorenz63.toml", [*SMALL, "eval.forecast_warmup=300"]
    )
    with pytest.raises(ValueError, match="eval.forecast_warmup"):
        forecast_scores(cfg, model, jnp.ones((200, 3)), jnp.ones((100, 3)))


def test_dsr_runs_on_the_users_own_files(tmp_path):
    """`system.train_file` / `test_file`: the simulated trajectory written to `.npy` files and
    read back trains the same model as the simulation itself (same data, same seed)."""
    from jaxsci.runs._dsr import data

    small = [*SMALL, "train.steps=20", "train.chunk_size=10"]
    cfg = runs.load_config("experiments/configs/dsr_lorenz63.toml", small)
    train, test = data(cfg)
    np.save(tmp_path / "train.npy", np.asarray(train))
    np.save(tmp_path / "test.npy", np.asarray(test))
    files = [
        f"system.train_file={tmp_path / 'train.npy'}",
        f"system.test_file={tmp_path / 'test.npy'}",
    ]
    cfg_files = runs.load_config("experiments/configs/dsr_lorenz63.toml", [*small, *files])
    got = [data(cfg_files)[i] for i in (0, 1)]
    assert np.array_equal(got[0], train) and np.array_equal(got[1], test)
    for c, name in ((cfg, "sim"), (cfg_files, "files")):
        runs.run(c, str(tmp_path / name), progress=False)
    sim, fil = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("sim", "files"))
    assert fil["runs"][0]["final_loss"] == sim["runs"][0]["final_loss"]
    assert fil["d_stsp"] == sim["d_stsp"]
    assert isinstance(runs.load(str(tmp_path / "files")), dsr.ShallowPLRNN)


@pytest.mark.parametrize(
    "given, match",
    [
        (["system.train_file=TRAIN"], "give both or neither"),
        (["system.train_file=TRAIN", "system.test_file=MISSING"], "system.test_file: no such file"),
        (["system.train_file=TRAIN", "system.test_file=WIDE"], "system.test_file: 4 observed"),
        (["system.train_file=FLAT", "system.test_file=TRAIN"], r"shape \(time, observed\)"),
    ],
)
def test_dsr_refuses_bad_data_files(tmp_path, given, match):
    from jaxsci.runs._dsr import data

    paths = {"TRAIN": np.zeros((50, 3)), "WIDE": np.zeros((50, 4)), "FLAT": np.zeros(50)}
    for name, arr in paths.items():
        np.save(tmp_path / f"{name}.npy", arr)
    given = [g.split("=")[0] + "=" + str(tmp_path / (g.split("=")[1] + ".npy")) for g in given]
    cfg = runs.load_config("experiments/configs/dsr_lorenz63.toml", [*SMALL, *given])
    with pytest.raises(ValueError, match=match):
        data(cfg)
