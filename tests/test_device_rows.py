"""The GPU-rows script runs on CPU at small size (`--quick`), so that a session with a device
spends its minutes measuring, not debugging."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


@pytest.mark.slow  # every group of the device script at its quick size: ~2-4 min on 2 cores
def test_device_rows_quick_runs_every_group(tmp_path):
    out = tmp_path / "rows.json"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.tools.device_rows", "--quick", "--out", str(out)],
        cwd=ROOT,  # experiment scripts run as modules from the repository root
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["env"]["backend"] and result["env"]["jax"]  # recorded by experiments._harness
    groups = result["groups"]
    assert {"machine", "edmd", "ssm", "pseudospectrum", "pinn", "pig"} <= set(groups)
    for name, group in groups.items():
        assert "rows" in group and group["rows"], (name, group)
    edmd = groups["edmd"]["rows"]
    # the float32 fit finds the float64 eigenvalues to single precision
    assert all(r["max_eig_diff_vs_f64"] < 1e-3 for r in edmd)
    kernels = {r["kernel"] for r in groups["ssm"]["rows"]}
    assert {"s4d_kernel_fwd_bwd", "s4_kernel_fwd_bwd", "s5_parallel_scan_fwd_bwd"} <= kernels
    assert groups["pinn"]["rows"][0]["steps_per_s"] > 0
    pig = groups["pig"]["rows"]
    assert len(pig) == 4 and all(r["steps_per_s"] > 0 and r["steps"] == 4 for r in pig)
