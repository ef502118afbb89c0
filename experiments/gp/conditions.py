"""`jaxsci.gp` beyond Dirichlet boxes (issue 25): Neumann, Robin and mixed faces and variable
coefficients, on the problems of `jaxsci/pde/_gp_boundary_problems.py` and `zoo_mixed_2d`.

    python -m experiments.gp.conditions                        # every row
    python -m experiments.gp.conditions --problems gp_robin_1d # some rows (their own file)
    python -m experiments.gp.conditions --kernel wide          # SpectralMixture(1, 0, 2)
    python -m experiments.gp.conditions --kernel wide --sweep 60 120 240   # fixed grids

`--kernel wide` replaces the default kernel by `SpectralMixture(1, 0, 2)` in every dimension
(a Gaussian envelope of length ~0.35, for the few periods of these problems; the default
kernel's envelope, 10 domain lengths^-1, is made for the paper's high-frequency rows), to
separate what the boundary rows cost from what the default kernel costs.

Per row: `gp.solve(problem, grid=n)` with the defaults (kernel, solver path) and its relative
L2 error on the 300-per-dimension test grid (`GPSolution.error()`), then
`gp.solve(problem, tol=1e-6)`, its error, its own estimate and the grid it reached, with wall
times (compilation included). Float64. Writes `experiments/results/gp/conditions[_<rows>].json`.

`--sweep N ...`: instead, `gp.solve(problem, kernel, grid=n)` at each given grid for the 2D
linear rows (past `AutoSolver.max_points`: the Kronecker path, which takes Neumann and Robin faces),
error and solve wall time (`stats["wall_s"]`, cold). Writes `conditions_sweep[_...].json`.
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

from experiments._harness import write_result  # noqa: E402
from jaxsci import gp, pde  # noqa: E402

# problem, grid of the default solve (points per dimension), what it exercises
ROWS = [
    ("gp_neumann_1d", 100, "Neumann (1D, both ends)"),
    ("gp_robin_1d", 100, "Robin (1D, both ends)"),
    ("gp_variable_1d", 100, "variable coefficient, divergence form; Dirichlet + Neumann"),
    ("gp_variable_advection_1d", 100, "variable a u_xx + b u_x; Dirichlet + Robin"),
    ("gp_neumann_2d", 30, "Neumann (2D, four faces)"),
    ("gp_robin_2d", 30, "Robin (2D, four faces)"),
    ("gp_mixed_2d", 30, "Dirichlet + Neumann + Robin (2D)"),
    ("zoo_mixed_2d", 30, "Dirichlet + Neumann (2D, zoo)"),
    ("gp_variable_2d", 24, "variable coefficient, divergence form (2D); Dirichlet + Neumann"),
]


KERNELS = {"default": None, "wide": gp.SpectralMixture(1.0, 0.0, 2.0)}


def run_rows(names=None, tol=1e-6, kernel="default"):
    out = []
    k = KERNELS[kernel]
    for name, n, what in ROWS:
        if names and name not in names:
            continue
        prob = pde.get_problem(name)
        t = time.perf_counter()
        sol = gp.solve(prob, k, grid=n, throw=False)
        err = float(sol.error())
        wall = time.perf_counter() - t
        t = time.perf_counter()
        ref = gp.solve(prob, k, tol=tol, throw=False)
        ref_err = float(ref.error())
        ref_wall = time.perf_counter() - t
        row = dict(
            problem=name,
            exercises=what,
            kernel=kernel,
            grid=n,
            method=sol.stats["method"],
            result=sol.result.name,
            error=err,
            wall_s=wall,
            tol=tol,
            tol_result=ref.result.name,
            tol_error=ref_err,
            tol_estimate=float(ref.stats["estimate"]),
            tol_grid=list(ref.shape),
            tol_grids=[list(g) for g in ref.stats["grids"]],
            tol_estimates=[float(e) for e in ref.stats["estimates"]],
            tol_stopped=ref.stats.get("stopped"),
            tol_wall_s=ref_wall,
        )
        out.append(row)
        print(
            f"{name:25s} {row['method']:12s} grid {n:>3d}^{prob.dim} error {err:8.1e} "
            f"({wall:5.1f} s) | tol {tol:.0e}: error {ref_err:8.1e} estimate "
            f"{row['tol_estimate']:8.1e} grid {'x'.join(map(str, ref.shape)):>7s} "
            f"{ref.result.name} ({ref_wall:5.1f} s)",
            flush=True,
        )
    return out


def sweep_rows(grids, names=None, kernel="default"):
    out = []
    k = KERNELS[kernel]
    for name, *_ in ROWS:
        prob = pde.get_problem(name)
        if (names and name not in names) or prob.dim != 2 or prob.operator is None:
            continue
        for n in grids:
            sol = gp.solve(prob, k, grid=n, throw=False)
            row = dict(
                problem=name,
                kernel=kernel,
                grid=[n, n],
                method=sol.stats["method"],
                result=sol.result.name,
                error=float(sol.error()),
                wall_s=sol.stats["wall_s"],
            )
            out.append(row)
            print(
                f"{name:25s} {row['method']:12s} {n:>4d}^2 error {row['error']:8.1e} "
                f"({row['wall_s']:6.1f} s) {row['result']}",
                flush=True,
            )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", nargs="+", help="problem names (default: every row)")
    ap.add_argument("--tol", type=float, default=1e-6, help="the tolerance of the second solve")
    ap.add_argument("--kernel", choices=sorted(KERNELS), default="default")
    ap.add_argument("--sweep", type=int, nargs="+", help="fixed grids (2D rows) instead")
    args = ap.parse_args()
    if args.sweep:
        rows = sweep_rows(args.sweep, args.problems, args.kernel)
        variant = "_".join([args.kernel, *(args.problems or [])]).lower()
        write_result("gp/conditions_sweep", dict(args=vars(args), rows=rows), variant=variant)
        return
    print("== GP beyond Dirichlet boxes (final solve, relative L2, 300 per dim test grid)")
    rows = run_rows(args.problems, args.tol, args.kernel)
    parts = ([] if args.kernel == "default" else [args.kernel]) + (args.problems or [])
    variant = "_".join(parts).lower()
    write_result("gp/conditions", dict(args=vars(args), rows=rows), variant=variant)


if __name__ == "__main__":
    main()
