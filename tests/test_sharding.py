"""Data-parallel training on forced CPU devices: the sharded paths run on every commit.

XLA fixes the device count when JAX starts, so the checks run in a separate process with
`XLA_FLAGS=--xla_force_host_platform_device_count=4` (tests/sharded/check_data_parallel.py)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from jaxsci import train

HERE = os.path.dirname(os.path.abspath(__file__))


# 86 s in a fresh clone: the default suite keeps the two-process PINN check below
@pytest.mark.slow
def test_sharded_training_equals_one_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env.pop("JAX_PLATFORMS", None)
    proc = subprocess.run(
        [sys.executable, os.path.join(HERE, "sharded", "check_data_parallel.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    diffs = json.loads(proc.stdout.strip().splitlines()[-1])
    assert diffs["fit_loss_change"] > 1e-3  # training moved the parameters
    # float64: only the order of the sums over points differs between device counts
    assert diffs["fit"] < 1e-10, diffs
    assert diffs["pinn"] < 1e-9, diffs
    assert diffs["ensemble"] < 1e-12, diffs
    assert diffs["ensemble_lbfgs"] < 1e-9, diffs  # as "pinn": an L-BFGS phase, float64
    assert diffs["cli_rel_l2_change"] < 1e-3, diffs  # float32 run from a config
    assert diffs["koopman_gram"] < 1e-13, diffs
    assert diffs["pseudospectrum"] < 1e-12, diffs
    assert diffs["ssm_loss"] < 1e-4, diffs  # float32, 20 steps


def _free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_processes_train_like_one():
    """Two processes on loopback (gloo collectives), one CPU device each, train one PINN
    data-parallel; the result equals one process's to reduction order."""
    script = os.path.join(HERE, "sharded", "check_two_processes.py")
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, script, str(i), port],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    single = subprocess.run(
        [sys.executable, script, "--single"], env=env, capture_output=True, text=True, timeout=300
    )
    outs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr[-3000:]
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert single.returncode == 0, single.stderr[-3000:]
    ref = json.loads(single.stdout.strip().splitlines()[-1])
    assert ref["devices"] == 1 and [o["devices"] for o in outs] == [2, 2]
    assert ref["loss"][0] - ref["loss"][-1] > 1e-3 * ref["loss"][0]  # it trained
    for o in outs:
        assert np.allclose(o["loss"], ref["loss"], rtol=1e-12, atol=0)
        assert np.allclose(o["weight"], ref["weight"], rtol=1e-10, atol=1e-13)
        assert abs(o["error"] - ref["error"]) < 1e-10


def test_data_mesh_bad_input():
    with pytest.raises(ValueError, match="n_devices"):
        train.data_mesh(0)
    with pytest.raises(TypeError, match="mesh"):
        train.shard_state(None, "data")


def test_cli_splits_the_host_for_mesh_data(tmp_path):
    """Importing jaxsci starts no JAX backend, so `jaxsci run ... --set mesh.data=2` on a CPU
    can still split the host into 2 devices (a fresh process, no XLA_FLAGS)."""
    config = os.path.join(HERE, "..", "experiments", "configs", "poisson_1d.toml")
    code = f"""
import json, jax
import jaxsci.dynamics, jaxsci.gp, jaxsci.koopman, jaxsci.pinn, jaxsci.runs, jaxsci.ssm
from jaxsci import cli
args = ["run", {config!r}, "--quiet", "--out", {str(tmp_path)!r}]
for o in ("train.steps=20", "lbfgs.steps=0", "train.seeds=[0]", "mesh.data=2"):
    args += ["--set", o]
assert cli.main(args) == 0
print(json.dumps(json.load(open({str(tmp_path / "metrics.json")!r}))["versions"]))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1])["device_count"] == 2
