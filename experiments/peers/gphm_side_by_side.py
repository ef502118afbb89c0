"""`jaxsci.gp.solve` against the authors' GP-HM code (Fang et al., ICLR 2024), side by side.

The official code (github.com/xuangu-fang/Gaussian-Process-Slover-for-High-Freq-PDE) trains the
grid values `u` and a Matern-5/2 x cosine mixture kernel (GP-HM-Stm, `Matern52_Cos_1d`) jointly
by Adam on the GP log joint; jaxsci picks a spectral-mixture kernel from the source's spectrum
and solves the collocation system once (`gp.solve(problem, grid=n)`, every other setting
default). Same problems, same collocation grids (`n` points per dimension, end points
included), same test grid (300 uniform points per dimension), float64 on both sides, each
process pinned to one core (`taskset -c 0`, one XLA / BLAS thread), run one after the other
(official, jaxsci, official, jaxsci) so that a change of load on the machine hits both.

The official run keeps its published recipe (`code/run_1d.sh`, `code/run_2d.sh`, the YAML
configs: Q = 30 components, lr 1e-2, llk_weight 200, freq_scale 20, logdet on, `N_col`
collocation points; 1e5 epochs for P1, 1e6 for Q1 and Q2) and is stopped when `--budget`
seconds of training are spent. It needs a two-part patch in a scratch checkout (the
`provenance` block of the result JSON holds it): its training loop logs the relative L2
error of the *current* iterate (step, training wall time with evaluation excluded) at
geometric steps, and stops at the budget
(`GPHM_BUDGET_S`, `GPHM_LOG`); the official code logs the minimum over checkpoints instead.
Its Adam trajectory is deterministic (fixed initial state, full batch), so repeat 2 only
re-measures the rate, with the shorter `--repeat-budget`. Full-recipe time is projected from
the steady per-epoch time (epochs after the two that compile).

    python3 -m venv /tmp/gphm-venv
    /tmp/gphm-venv/bin/pip install jax==0.4.13 jaxlib==0.4.13 optax==0.1.4 numpy==1.23.4 \\
        scipy==1.10.1 pandas==2.0.2 PyYAML==6.0.1 fire==0.5.0 tqdm==4.64.1 matplotlib==3.6.2
    git clone https://github.com/xuangu-fang/Gaussian-Process-Slover-for-High-Freq-PDE /tmp/gphm
    git -C /tmp/gphm apply gphm-side-by-side.patch    # the patch in the result JSON
    python -m experiments.peers.gphm_side_by_side --official /tmp/gphm --budget 600

Writes `experiments/results/gp/gphm_side_by_side[_VARIANT].json`. Wall times on a loaded
machine are upper bounds for both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# id, jaxsci problem, official script, official equation, points per dimension, recipe epochs,
# published error (best of GP-HM-GM / GP-HM-Stm, the paper's Table 1-2)
ROWS = {
    "P1": ("gp_p1", "model_GP_solver_1d.py", "poisson_1d-single_sin", 400, 100_000, 4.0e-7),
    "Q1": ("gp_q1", "model_GP_solver_2d.py", "poisson_2d-sin_sin", 400, 1_000_000, 6.5e-5),
    "Q2": ("gp_q2", "model_GP_solver_2d.py", "poisson_2d-sin_add_cos", 200, 1_000_000, 1.0e-3),
}
KERNEL = "Matern52_Cos_1d"  # GP-HM-Stm, the kernel of the authors' run scripts
ONE_CORE = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
# the official test functions, from the comments of its configs, to check the problems agree
FORMULAS = {
    "gp_p1": lambda x: np.sin(100 * x[:, 0]),
    "gp_q1": lambda x: np.sin(100 * x[:, 0]) * np.sin(100 * x[:, 1]),
    "gp_q2": lambda x: sum(np.sin(6 * x[:, d]) * np.cos(20 * x[:, d]) for d in (0, 1)),
}


def _pinned(cmd: list[str]) -> tuple[list[str], dict]:
    return ["taskset", "-c", "0", *cmd], {**os.environ, **ONE_CORE}


def jaxsci_worker(name: str, grid: int) -> None:
    """In a fresh process: `gp.solve` with defaults, wall time including compilation."""
    import jax

    jax.config.update("jax_enable_x64", True)

    from jaxsci import gp, pde

    problem = pde.get_problem(name)
    start = time.perf_counter()
    sol = gp.solve(problem, grid=grid)
    jax.block_until_ready(sol.coefficients)
    wall = time.perf_counter() - start
    error = float(sol.error())  # 300 per dimension, as the official test grid
    test = np.asarray(problem.domain.grid((300,) * problem.dim, jax.numpy.float64))
    truth_gap = float(np.max(np.abs(problem.exact_values(test, None) - FORMULAS[name](test))))
    lower, upper = np.asarray(test.min(0)), np.asarray(test.max(0))
    print(
        json.dumps(
            dict(
                wall_s=wall,
                error=error,
                method=sol.stats["method"],
                frequencies=[np.asarray(f).round(3).tolist() for f in sol.stats["frequencies"]],
                domain=[lower.tolist(), upper.tolist()],
                exact_vs_official_formula=truth_gap,
            )
        )
    )


def run_jaxsci(name: str, grid: int) -> dict:
    cmd, env = _pinned([sys.executable, "-m", __spec__.name, "--worker", name, str(grid)])
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["process_s"] = time.perf_counter() - t
    return row


def run_official(official: Path, python: str, rid: str, budget: float) -> dict:
    _, script, equation, _, recipe, _ = ROWS[rid]
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "log.jsonl"
        cmd, env = _pinned(
            [python, script, f"-equation={equation}", f"-kernel={KERNEL}", f"-nepoch={recipe}"]
        )
        env.update(GPHM_BUDGET_S=str(budget), GPHM_LOG=str(log))
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=official / "code", env=env, capture_output=True, text=True)
        process_s = time.perf_counter() - t
        if out.returncode != 0 or not log.exists():
            raise RuntimeError(f"official {rid} failed:\n{out.stderr[-3000:]}")
        trace = [json.loads(line) for line in log.read_text().splitlines()]
    last = trace[-1]
    # the first two epochs compile (the second again: the scalars become arrays)
    steady = [r for r in trace if r["step"] >= 2]
    per_epoch = (
        (steady[-1]["train_s"] - steady[0]["train_s"]) / (steady[-1]["step"] - steady[0]["step"])
        if len(steady) > 1
        else float("nan")
    )
    projected = steady[0]["train_s"] + per_epoch * (recipe - steady[0]["step"]) if steady else None
    reached = {
        f"{t:.0e}": next((r["step"] for r in trace if r["error"] <= t), None)
        for t in (1e-1, 1e-2, 1e-3)
    }
    return dict(
        budget_s=budget,
        steps=last["step"],
        recipe_steps=recipe,
        train_s=last["train_s"],
        error=last["error"],
        per_epoch_s=per_epoch,
        projected_recipe_s=projected,
        first_step_at_or_below=reached,
        process_s=process_s,
        trace=trace,
    )


def provenance(official: Path, python: str) -> dict:
    """The official checkout's commit and local patch, its environment, and this tree's state
    (uncommitted changes under `jaxsci/` are part of what was measured)."""

    def sh(*cmd, cwd=None):
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True).stdout.strip()

    probe = "import jax, jaxlib, optax, numpy; print(jax.__version__, jaxlib.__version__, "
    probe += "optax.__version__, numpy.__version__)"
    versions = sh(python, "-c", probe).split()
    repository = Path(__file__).resolve().parents[2]
    return dict(
        official_commit=sh("git", "rev-parse", "HEAD", cwd=official),
        official_patch=sh("git", "diff", cwd=official),
        official_env=dict(zip(("jax", "jaxlib", "optax", "numpy"), versions, strict=False)),
        jaxsci_commit=sh("git", "rev-parse", "HEAD", cwd=repository),
        jaxsci_uncommitted=sh("git", "status", "--porcelain", "--", "jaxsci", cwd=repository),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--official", type=Path, help="scratch checkout of the patched official code")
    ap.add_argument("--python", default="/tmp/gphm-venv/bin/python", help="its environment")
    ap.add_argument("--budget", type=float, default=600.0, help="official training s, P1")
    ap.add_argument("--budget-2d", type=float, default=240.0, help="official training s, Q1/Q2")
    ap.add_argument("--repeat-budget", type=float, default=120.0, help="official, repeats > 1")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--variant", default="")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return jaxsci_worker(args.worker[0], int(args.worker[1]))
    if args.official is None:
        ap.error("--official PATH (a scratch checkout of the patched official code) is required")
    from experiments._harness import write_result

    results = []
    for rid in args.rows:
        name, _, _, grid, recipe, published = ROWS[rid]
        row = dict(id=rid, problem=name, grid=grid, published=published, official=[], jaxsci=[])
        for repeat in range(args.repeats):
            budget = args.budget if rid == "P1" else args.budget_2d
            budget = budget if repeat == 0 else min(budget, args.repeat_budget)
            off = run_official(args.official, args.python, rid, budget)
            row["official"].append(off)
            hours = off["projected_recipe_s"] / 3600
            print(
                f"{rid} official  repeat {repeat}: error {off['error']:.2e} after "
                f"{off['steps']}/{recipe} epochs, {off['train_s']:.0f} s "
                f"({off['per_epoch_s']:.2f} s/epoch, recipe ~{hours:.0f} h)",
                flush=True,
            )
            js = run_jaxsci(name, grid)
            row["jaxsci"].append(js)
            print(
                f"{rid} jaxsci    repeat {repeat}: error {js['error']:.2e} in {js['wall_s']:.1f} s "
                f"({js['method']}, process {js['process_s']:.1f} s)",
                flush=True,
            )
        results.append(row)
        write_result(
            "gp/gphm_side_by_side",
            dict(
                args={k: str(v) for k, v in vars(args).items()},
                provenance=provenance(args.official, args.python),
                rows=results,
            ),
            variant=args.variant,
        )


if __name__ == "__main__":
    main()
