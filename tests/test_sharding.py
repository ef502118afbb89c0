"""Data-parallel training on forced CPU devices: the sharded paths run on every commit.

XLA fixes the device count when JAX starts, so the checks run in a separate process with
`XLA_FLAGS=--xla_force_host_platform_device_count=4` (tests/sharded/check_data_parallel.py)."""

import json
import os
import subprocess
import sys

import pytest

from jaxsci import train

HERE = os.path.dirname(os.path.abspath(__file__))


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
    assert diffs["cli_rel_l2_change"] < 1e-3, diffs  # float32 run from a config


def test_data_mesh_bad_input():
    with pytest.raises(ValueError, match="n_devices"):
        train.data_mesh(0)
    with pytest.raises(TypeError, match="mesh"):
        train.shard_state(None, "data")
