"""Every ```python block of the README runs on its own, in a fresh namespace, and gives what the
README says it gives (the shapes, equalities and results its comments state).

To keep the test short the blocks run at small sizes, by regex substitution on the block's text
(nothing else changes): `steps=N` becomes `steps=min(N, 30)`, a config override
`train.steps=N` becomes `train.steps=20`, and the Koopman example uses 40 initial states
(`(200, 2)` -> `(40, 2)`), `degree=10` -> `degree=4` and a 6 x 6 pseudospectrum grid.
Blocks run in a temporary directory (they write run directories); paths to `experiments/`
point at the repository.

Each block is matched to the check of its claims by a line it contains (`CLAIMS`); a block with
no check, or with two, fails `test_every_block_has_its_claims_checked`.
"""

import math
import os
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxsci import RESULTS, pinn
from jaxsci import koopman as kp

ROOT = pathlib.Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def _small(code: str) -> str:
    code = re.sub(r"(?<![\w.])steps=(\d+)", lambda m: f"steps={min(int(m[1]), 30)}", code)
    code = re.sub(r"train\.steps=\d+", "train.steps=20", code)
    code = code.replace("(200, 2)", "(40, 2)").replace("degree=10", "degree=4")
    code = re.sub(r"linspace\((-?[\d.]+), ([\d.]+), 50\)", r"linspace(\1, \2, 6)", code)
    return code.replace('"experiments/', f'"{ROOT}/experiments/')


def _finite_error(sol) -> float:
    error = sol.error()
    assert isinstance(error, float) and math.isfinite(error) and error > 0, error
    return error


def _first_solve(ns, out, run_dir):
    # print(sol.result, sol.error(), sol.stats["wall_s"])  # RESULTS.successful, rel. L2, seconds
    sol = ns["sol"]
    assert sol.result is RESULTS.successful
    error, wall = _finite_error(sol), sol.stats["wall_s"]
    assert wall > 0
    printed = out.split()
    assert printed[0] == "RESULTS.successful" and len(printed) == 3, out
    assert float(printed[1]) == pytest.approx(error) and float(printed[2]) == pytest.approx(wall)


# Compiled against eager evaluation of a float32 field: XLA may sum a layer's O(1) terms in
# another order (it does on AVX-512 against AVX2: 1.3e-7 at u = 0.03 in CI), so "the same
# values" is to a few ulp of 1, not of u. A wrong field would differ by about u itself (1e-2).
_SAME_F32 = dict(rtol=1e-5, atol=8 * float(np.finfo(np.float32).eps))


def _jit_a_solution(ns, out, run_dir):
    # the field under filter_jit and the solution under filter_jit give the same values
    sol, points = ns["sol"], ns["sol"].evaluation_points()
    direct = jax.vmap(sol.field)(points)
    np.testing.assert_allclose(ns["evaluate"](sol.field, points), direct, **_SAME_F32)
    np.testing.assert_allclose(np.ravel(ns["u"]), np.ravel(direct), **_SAME_F32)


def _own_problem(ns, out, run_dir):
    # print(sol.error_estimate())  # needs no exact solution
    # print(sol.error())  # needs `exact=` (or a `reference`)
    error = _finite_error(ns["sol"])
    estimate, printed_error = (float(v) for v in out.split())
    assert math.isfinite(estimate) and estimate > 0
    assert printed_error == pytest.approx(error)
    assert ns["heat"].has_truth
    # the field was given the domain: it reads the point through Fourier features
    assert isinstance(ns["field"].embedding, pinn.FourierFeatures)


def _ensemble(ns, out, run_dir):
    ens, points = ns["ens"], ns["ens"].evaluation_points()
    errors = np.asarray(ens.error())
    assert errors.shape == (8,) and np.all(np.isfinite(errors))  # one relative L2 per member
    assert ns["u"].shape[:2] == (8, points.shape[0])  # every member at the points
    best = ns["best"]
    assert isinstance(best, pinn.PINNSolution)  # member i as a single PINNSolution
    assert best.error() == pytest.approx(errors.min())
    np.testing.assert_allclose(best(points), ns["u"][int(errors.argmin())], rtol=1e-5, atol=1e-6)


def _koopman(ns, out, run_dir):
    model, residuals, tau = ns["model"], np.asarray(ns["residuals"]), np.asarray(ns["tau"])
    lam = np.asarray(model.eigenvalues)
    assert residuals.shape == lam.shape and np.all(residuals >= 0)
    # ~0 for true eigenpairs: the constant function is an exact eigenfunction with eigenvalue 1
    one = np.argmin(np.abs(lam - 1.0))
    assert abs(lam[one] - 1.0) < 1e-8 and residuals[one] < 1e-8
    assert tau.shape == ns["re"].shape and np.all(tau >= 0)
    # tau is the pseudospectral function: at an eigenvalue it is at most that pair's residual
    at_eigenvalues = np.asarray(kp.pseudospectrum(ns["data"], jnp.asarray(lam), method="svd"))
    assert np.all(at_eigenvalues <= residuals + 1e-8)


def _ssm(ns, out, run_dir):
    y = ns["y"]
    assert y.shape == (1024, 10)  # (1024, 10), FFT convolution
    np.testing.assert_allclose(ns["y0"], y[0], rtol=1e-4, atol=1e-5)  # equals y[0]
    np.testing.assert_allclose(ns["y1"], y[1], rtol=1e-4, atol=1e-5)  # equals y[1]


def _run_directory(ns, out, run_dir):
    # runs.run writes the run directory `jaxsci run` writes; runs.load reads the solution back
    assert (run_dir / "runs" / "poisson" / "metrics.json").is_file()
    sol = ns["sol"]
    assert isinstance(sol, pinn.PINNSolution)
    points = sol.evaluation_points()
    np.testing.assert_allclose(ns["u"], sol(points), **_SAME_F32)
    assert np.asarray(ns["u"]).shape[0] == points.shape[0]


# a line of the block -> the check of what the README says the block gives
CLAIMS = {
    'print(sol.result, sol.error(), sol.stats["wall_s"])': _first_solve,
    "evaluate = eqx.filter_jit(": _jit_a_solution,
    "heat = pde.Problem(": _own_problem,
    "ens = pinn.solve(": _ensemble,
    "tau = kp.pseudospectrum(": _koopman,
    "ssm.SequenceModel(": _ssm,
    "runs.run(cfg,": _run_directory,
}


def _claims(block: str):
    return [check for line, check in CLAIMS.items() if line in block]


def test_readme_has_blocks():
    assert len(BLOCKS) >= 5


def test_every_block_has_its_claims_checked():
    for index, block in enumerate(BLOCKS):
        assert len(_claims(block)) == 1, f"README.md block {index}: add its check to CLAIMS"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs_alone_and_gives_what_it_says(index, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = _small(BLOCKS[index])
    x64 = jax.config.jax_enable_x64
    namespace = {"__name__": f"readme_{index}"}
    try:
        exec(compile(code, f"README.md block {index}", "exec"), namespace)
        out = capsys.readouterr().out
        for check in _claims(BLOCKS[index]):
            check(namespace, out, pathlib.Path(os.getcwd()))
    finally:  # a block may switch float64 on (the Koopman one does): restore for later tests
        jax.config.update("jax_enable_x64", x64)
