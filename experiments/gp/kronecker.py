"""Kronecker against dense algebra for `jaxsci.gp`: equality and time against grid size.

    python -m experiments.gp.kronecker             # n = 10 .. 1000 per dimension (dense to 60)
    python -m experiments.gp.kronecker --quick     # n = 10, 20, 40
    python -m experiments.gp.kronecker --paths --variant after   # the solver-path table
    python -m experiments.gp.kronecker --compare BEFORE.json AFTER.json   # as markdown
    python -m experiments.gp.kronecker --space-time    # heat / advection-diffusion in (x, t)

Two factors (a spectral mixture and a Matern 5/2 Gram matrix on n points each), float64:
matvec, solve and log-determinant by `gp.kron_matvec` / `gp.KroneckerEig` against the dense
n^2 x n^2 matrix (formed up to n = 60). Times are the best of 3 calls after a warm-up (the dense
solve: one call); differences are relative. Writes `experiments/results/gp/kronecker.json`.

`--paths`: every problem that `gp.solve` sends down the Kronecker or Newton-Krylov path with
its defaults (the paper config's grid where there is one, else 200 per dimension; zoo_poisson_3d
at 100^3), with the path taken, the relative L2 error (`sol.error()`), the wall time of the
solve (`stats["wall_s"]`, one call after a warm-up at the same size) and, where asked
(`--estimate`), `gp.error_estimate` against the true error. Writes
`experiments/results/gp/kronecker_paths[_<variant>].json`.

`--space-time`: the linear-operator forms of heat_1d, zoo_heat and zoo_advection_diffusion
(`GP_SPACE_TIME_PROBLEMS`; an `InitialValue` at t = 0, no condition at t = 1: a free end on the
Kronecker path) at growing space-time grids with an explicit kernel per problem (the source is
zero, so the default kernel has no spectrum to read): the Kronecker path's relative L2 error,
its wall time (`stats["wall_s"]`, after a warm-up at the same size up to 80^2, cold past it),
and `Dense` at 20^2
(which takes Dirichlet data from `exact` at t = 1, where no condition speaks); then one solve
with the default kernel at 80^2. Writes `experiments/results/gp/kronecker_space_time.json`.
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

from experiments._harness import timed, write_result  # noqa: E402
from jaxsci import gp  # noqa: E402


def bench_kronecker(quick: bool):
    best_of_3 = dict(repeats=3, stat="min")
    out = []
    key = jax.random.key(0)
    k1 = gp.SpectralMixture([1.0, 0.5], [0.0, 3.0], 2.0)
    k2 = gp.Matern52(0.3)
    matvec = jax.jit(gp.kron_matvec)
    dense_mv = jax.jit(lambda a, v: a @ v)
    eig_solve = jax.jit(lambda fs, v: gp.KroneckerEig(fs, 1e-8).solve(v))
    logdet = jax.jit(lambda fs: gp.KroneckerEig(fs, 1e-8).logdet())

    def dense_solve(a, v):
        lam, q = jnp.linalg.eigh(a)
        lam = lam + 1e-8 * jnp.max(jnp.abs(lam))
        return q @ ((q.T @ v) / lam), jnp.sum(jnp.log(lam))

    dense_solve = jax.jit(dense_solve)
    sizes = [10, 20, 40] if quick else [10, 20, 40, 60, 100, 200, 400, 1000]
    for n in sizes:
        x = jnp.linspace(0.0, 1.0, n)
        fs = [gp.gram(k1, x, x), gp.gram(k2, x, x)]
        v = jax.random.normal(key, (n * n,), jnp.float64)
        row = dict(n_per_dim=n, points=n * n)
        row["kron_matvec_s"] = timed(matvec, fs, v, **best_of_3)
        row["kron_solve_s"] = timed(eig_solve, fs, v, **best_of_3)
        row["kron_logdet_s"] = timed(logdet, fs, **best_of_3)
        if n <= 60:
            a = gp.kron_dense(fs)
            row["dense_matvec_s"] = timed(dense_mv, a, v, **best_of_3)
            row["dense_solve_logdet_s"] = timed(dense_solve, a, v, repeats=1)
            ds, dl = dense_solve(a, v)
            scale = float(jnp.max(jnp.abs(a @ v)))
            row["matvec_max_abs_diff"] = float(jnp.max(jnp.abs(matvec(fs, v) - a @ v))) / scale
            row["solve_rel_diff"] = float(
                jnp.linalg.norm(eig_solve(fs, v) - ds) / jnp.linalg.norm(ds)
            )
            row["logdet_rel_diff"] = float(abs(logdet(fs) - dl) / abs(dl))
        out.append(row)
        print(
            "  ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
            ),
            flush=True,
        )
    return out


PATH_ROWS = [
    ("gp_two_scale_2d", 200),
    ("gp_q1", 400),  # experiments/configs/gp_q1.toml
    ("gp_q2", 200),
    ("gp_ac2", 200),
    ("gp_advection", 200),  # experiments/configs/gp_adv.toml
    ("zoo_dirichlet_data_2d", 200),
    ("zoo_multiscale_2d", 200),
    ("zoo_bump_2d", 200),
    ("zoo_interior_layer_2d", 200),
    ("zoo_nonlinear_2d", 200),
    ("zoo_poisson_3d", 100),
]


def bench_paths(names, estimate):
    from jaxsci import pde

    out = []
    for name, n in PATH_ROWS:
        if names and name not in names:
            continue
        prob = pde.get_problem(name)
        row = dict(problem=name, grid=n, dim=prob.dim)
        try:
            chosen = gp.AutoSolver().select(prob, gp.grid_axes(prob, n))
            row["selected"] = chosen.method
            gp.solve(prob, grid=n, throw=False)  # warm-up (compilation)
            t0 = time.perf_counter()
            sol = gp.solve(prob, grid=n, throw=False)
            row["total_s"] = time.perf_counter() - t0
            row.update(
                method=sol.stats["method"],
                result=str(sol.result),
                solve_s=sol.stats["wall_s"],
                error=float(sol.error()),
            )
            if estimate:
                est = float(gp.error_estimate(sol))
                row.update(estimate=est, estimate_ratio=est / row["error"])
        except ValueError as e:
            row["failed"] = str(e)
        out.append(row)
        print(
            "  ".join(
                f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
            ),
            flush=True,
        )
    return out


def compare(before_path, after_path):
    """The before/after table (markdown) of two `--paths` result files."""
    import json

    before = {r["problem"]: r for r in json.load(open(before_path))["rows"]}
    after = json.load(open(after_path))["rows"]
    print("| problem | grid | path | error before | error after | solve s before | after |")
    print("|---|---|---|---|---|---|---|")
    for r in after:
        b = before.get(r["problem"], {})
        err_b = f"{b['error']:.2e}" if "error" in b else "refused"
        t_b = f"{b['solve_s']:.2f}" if "solve_s" in b else "-"
        print(
            f"| {r['problem']} | {r['grid']}^{r['dim']} | {r.get('method', '-')} | {err_b} | "
            f"{r['error']:.2e} | {t_b} | {r['solve_s']:.2f} |"
        )


def space_time_rows(grids, names=()):
    from jaxsci.pde._gp_boundary_problems import GP_SPACE_TIME_PROBLEMS

    se = gp.SquaredExponential
    kernels = {
        "heat_1d_linear": ("SE(0.15) x SE(0.15)", gp.Product([se(0.15), se(0.15)])),
        "zoo_heat_linear": ("SE(0.15) x SE(0.15)", gp.Product([se(0.15), se(0.15)])),
        "zoo_advection_diffusion_linear": (
            "SE(0.05) x SE(0.2)",
            gp.Product([se(0.05), se(0.2)]),
        ),
    }
    out = []
    for name, make in GP_SPACE_TIME_PROBLEMS.items():
        if names and name not in names:
            continue
        prob = make()
        label, kernel = kernels[name]
        for n in grids:
            row = dict(problem=name, kernel=label, grid=[n, n], points=n * n)
            if n <= 80:  # warm-up (compilation); past it the solve dominates
                gp.solve(prob, kernel, n, solver=gp.Kronecker(), throw=False)
            sol = gp.solve(prob, kernel, n, solver=gp.Kronecker(), throw=False)
            row.update(
                kronecker_error=float(sol.error()),
                kronecker_s=sol.stats["wall_s"],
                result=sol.result.name,
                auto_selects=gp.AutoSolver().select(prob, gp.grid_axes(prob, n)).method,
            )
            if n <= 20:
                dense = gp.solve(prob, kernel, n, solver=gp.Dense(), throw=False)
                row.update(dense_error=float(dense.error()), dense_s=dense.stats["wall_s"])
            out.append(row)
            print(
                "  ".join(
                    f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                ),
                flush=True,
            )
        row = dict(problem=name, kernel="default", grid=[80, 80])
        try:
            sol = gp.solve(prob, grid=80, solver=gp.Kronecker(), throw=False)
            row.update(
                kronecker_error=float(sol.error()),
                result=sol.result.name,
                frequencies=[list(map(float, f)) for f in sol.stats["frequencies"]],
            )
        except ValueError as e:
            row["failed"] = str(e)
        out.append(row)
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="n = 10, 20, 40 only")
    ap.add_argument("--paths", action="store_true", help="the solver-path table instead")
    ap.add_argument("--problems", nargs="*", default=[], help="with --paths: only these rows")
    ap.add_argument("--estimate", action="store_true", help="with --paths: gp.error_estimate")
    ap.add_argument("--variant", default="", help="with --paths: result file suffix")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="print the table")
    ap.add_argument("--space-time", action="store_true", help="heat / advection-diffusion")
    ap.add_argument("--grids", type=int, nargs="+", default=[20, 40, 80, 160])
    args = ap.parse_args()
    if args.space_time:
        print("== space-time heat / advection-diffusion on the Kronecker path")
        rows = space_time_rows(args.grids, args.problems)
        write_result("gp/kronecker_space_time", dict(args=vars(args), rows=rows))
        return
    if args.compare:
        compare(*args.compare)
        return
    if args.paths:
        print("== solver paths past the dense size (defaults)")
        rows = bench_paths(args.problems, args.estimate)
        write_result("gp/kronecker_paths", dict(rows=rows), variant=args.variant)
        return
    print("== Kronecker vs dense (best of 3 wall s; diffs relative)")
    rows = bench_kronecker(args.quick)
    write_result("gp/kronecker", dict(rows=rows), variant="quick" if args.quick else "")


if __name__ == "__main__":
    main()
