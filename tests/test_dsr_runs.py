"""The dsr family through `jaxsci run`: registered by its one file, run, loaded, listed."""

import json

import numpy as np

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
    cfg = runs.load_config("experiments/configs/dsr_lorenz63.toml", SMALL)
    out = runs.run(cfg, str(tmp_path / "run"), progress=False)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["solver"] == "dsr" and metrics["runs"][0]["result"] == "successful"
    assert np.isfinite(metrics["d_stsp"]) and out["ok"]
    model = runs.load(str(tmp_path / "run"))
    assert isinstance(model, dsr.ShallowPLRNN) and model.clipped
    # the saved model is the trained one: same D_H as the run reported
    from jaxsci.runs._dsr import data, evaluate

    _, test = data(cfg)
    assert evaluate(cfg, model, test)["d_stsp"] == metrics["d_stsp"]
