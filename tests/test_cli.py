import json
import os

import pytest

from jaxsci import cli
from jaxsci.runs import load_config

CONFIG = os.path.join(
    os.path.dirname(__file__), "..", "experiments", "configs", "helmholtz_2d.toml"
)


def test_config_validation_names_the_key():
    with pytest.raises(ValueError, match=r"train\.stepz: unknown key"):
        load_config({"train": {"stepz": 10}})
    with pytest.raises(ValueError, match=r"train\.steps: expected int"):
        load_config({"train": {"steps": "many"}})
    with pytest.raises(ValueError, match=r"field\.hard_initial: expected bool"):
        load_config({"field": {"hard_initial": 1}})
    with pytest.raises(ValueError, match=r"train\.n_interior: moved to `sampling\.n_interior`"):
        load_config({"train": {"n_interior": 64}})
    with pytest.raises(ValueError, match=r"train\.seeds\[1\]: expected int"):
        load_config({"train": {"seeds": [0, 1.5]}})
    cfg = load_config(CONFIG, ["train.steps=7", "problem.args.a2=2.0", "sampling.method=halton"])
    assert cfg.train.steps == 7 and cfg.problem.args == {"a2": 2.0}
    assert cfg.sampling.method == "halton" and cfg.optimizer.learning_rate == 1e-3


def test_cli_run_writes_metrics_checkpoint_and_plot(tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli.main(
        [
            "run",
            CONFIG,
            "--out",
            str(out),
            "--quiet",
            "--set",
            "train.steps=30",
            "--set",
            "lbfgs.steps=5",
            "--set",
            "sampling.n_interior=64",
            "--set",
            "field.width=8",
            "--set",
            "train.seeds=[0, 1]",
        ]
    )
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert {"rel_l2", "wall_s", "steps"} <= set(m) and m["steps"] == 35
    assert len(m["runs"]) == 2 and 0 < m["rel_l2"] < 10
    assert (out / "solution.png").stat().st_size > 10_000
    assert (out / "checkpoint_seed0.eqx").exists() and (out / "checkpoint_seed1_lbfgs.eqx").exists()
    printed = capsys.readouterr().out
    assert "relative L2" in printed
    assert "seed 0: successful" in printed and "seed 1: successful" in printed


def test_cli_bad_input(tmp_path, capsys):
    assert cli.main(["run", CONFIG, "--set", "train.stepz=3"]) == 2
    assert "train.stepz: unknown key" in capsys.readouterr().err
    assert cli.main(["run", CONFIG, "--set", "problem.name=helmholz", "--out", str(tmp_path)]) == 2
    assert "unknown problem 'helmholz'" in capsys.readouterr().err
    assert cli.main(["run", CONFIG, "--set", "problem.args.a3=1", "--out", str(tmp_path)]) == 2
    assert "a3" in capsys.readouterr().err
    assert cli.main(["run", str(tmp_path / "missing.toml")]) == 2
