"""The GP zoo table (issue 25): every problem a user might bring that `gp.solve` takes, solved
twice as a user would, with defaults (`gp.solve(problem)`, then `error_estimate()`) and to a
tolerance (`gp.solve(problem, tol=1e-6)`), beside the true error of what came back.

    python -m experiments.gp.zoo                         # every row, writes results/gp/zoo.json
    python -m experiments.gp.zoo --problems gp_two_tone zoo_bump_2d --variant try
    python -m experiments.gp.zoo --table experiments/results/gp/zoo.json
    python -m experiments.gp.zoo --tol-from experiments/results/gp/zoo.json --variant floor
                                                         # the defaults column only

Rows: the zoo of user problems (`pde.ZOO`, issue 27), the GP's own multi-scale problems
(`gp_two_tone`, `gp_two_scale_2d`), its Neumann / Robin / variable-coefficient problems
(`pde.GP_BOUNDARY_PROBLEMS`' names) and the space-time heat and advection-diffusion problems
(`pde.GP_SPACE_TIME_PROBLEMS`). A problem `gp.solve` refuses (a time-dependent nonlinear
residual, a system, an inverse problem) is a row saying so with the refusal's first line: what
a user would read. Float64. Wall times are first calls (compilation included), as a user meets
them. The true error is on the estimate's evaluation grid (300 per dimension, 125 in 3D);
`exact` is read only for that column.
"""

from __future__ import annotations

import argparse
import json
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from experiments._harness import write_result  # noqa: E402
from jaxsci import gp, pde  # noqa: E402
from jaxsci.gp._estimate import evaluation_points  # noqa: E402
from jaxsci.pde._problem import relative_l2  # noqa: E402

EXTRA = ("gp_two_tone", "gp_two_scale_2d")
BOUNDARY = (
    "gp_neumann_1d",
    "gp_robin_1d",
    "gp_variable_1d",
    "gp_variable_advection_1d",
    "gp_neumann_2d",
    "gp_robin_2d",
    "gp_mixed_2d",
    "gp_variable_2d",
)
ROWS = tuple(sorted(pde.ZOO)) + EXTRA + BOUNDARY + tuple(sorted(pde.GP_SPACE_TIME_PROBLEMS))


def true_error(sol, problem):
    pts = evaluation_points(sol)
    return float(relative_l2(sol(pts), problem.exact_values(pts, sol.params)))


def refusal(err):
    return f"{type(err).__name__}: {str(err).strip().splitlines()[0][:240]}"


def defaults_row(problem):
    """`gp.solve(problem)` and its `error_estimate()`."""
    t = time.perf_counter()
    sol = gp.solve(problem, throw=False)
    jax.block_until_ready(sol.coefficients)
    solve_s = time.perf_counter() - t
    t = time.perf_counter()
    est = float(sol.error_estimate())
    estimate_s = time.perf_counter() - t
    true = true_error(sol, problem)
    return dict(
        result=sol.result.name,
        grid=list(sol.shape),
        true=true,
        estimate=est,
        ratio=est / true if true > 0 else float("nan"),
        solve_s=solve_s,
        estimate_s=estimate_s,
    )


def tol_row(problem, tol):
    """`gp.solve(problem, tol=tol)`: the grids it went through, its estimate and the truth."""
    t = time.perf_counter()
    sol = gp.solve(problem, tol=tol, throw=False)
    jax.block_until_ready(sol.coefficients)
    wall = time.perf_counter() - t
    true = true_error(sol, problem)
    est = float(sol.stats["estimate"])
    return dict(
        result=sol.result.name,
        grids=[list(g) for g in sol.stats["grids"]],
        grid=list(sol.shape),
        true=true,
        estimate=est,
        met=bool(true <= tol),
        says_met=sol.result.name == "successful",
        wall_s=wall,
    )


def run(name, tol, defaults=None, tol_column=None):
    problem = pde.get_problem(name)
    row = dict(problem=name, dim=problem.dim)
    if defaults is not None:  # the defaults column copied from an earlier result file
        row["defaults"] = defaults
    if tol_column is not None:  # the `tol` column copied from an earlier result file
        row["tol"] = tol_column
    for key, fn in (
        ("defaults", lambda: defaults_row(problem)),
        ("tol", lambda: tol_row(problem, tol)),
    ):
        if key in row:
            continue
        try:
            row[key] = fn()
        except Exception as err:  # a refusal is a result: record what the user would read
            row[key] = dict(refused=refusal(err))
    print(json.dumps(row), flush=True)
    return row


def fmt_grid(g):
    return f"{g[0]}^{len(g)}" if len(set(g)) == 1 else "x".join(map(str, g))


def markdown(rows, tol):
    lines = [
        "| problem | defaults: grid | true rel. L2 | estimate | est./true | solve s | estimate s "
        f"| `tol={tol:.0e}`: result | grid returned (largest solved) | true | estimate | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d, t = r["defaults"], r["tol"]
        if "refused" in d:
            left = f"refused: {d['refused']} | | | | | "
        else:
            left = (
                f"{fmt_grid(d['grid'])} | {d['true']:.2e} | {d['estimate']:.2e} | {d['ratio']:.2f} "
                f"| {d['solve_s']:.1f} | {d['estimate_s']:.1f} "
            )
        if "refused" in t:
            right = f"| refused: {t['refused']} | | | | |"
        else:
            right = (
                f"| {t['result']} | {fmt_grid(t['grid'])} ({fmt_grid(t['grids'][-1])}) "
                f"| {t['true']:.2e} | {t['estimate']:.2e} | {t['wall_s']:.1f} |"
            )
        lines.append(f"| {r['problem']} | {left}{right}")
    solved = [r["defaults"] for r in rows if "refused" not in r["defaults"]]
    ratios = np.array([d["ratio"] for d in solved])
    within = int(np.sum((ratios >= 0.1) & (ratios <= 10)))
    low = [
        r["problem"]
        for r in rows
        if "refused" not in r["defaults"] and r["defaults"]["ratio"] < 1 / 3
    ]
    tols = [r["tol"] for r in rows if "refused" not in r["tol"]]
    says = [t for t in tols if t["says_met"]]
    lines.append("")
    lines.append(
        f"defaults: estimate within 10x of the true error on {within}/{len(solved)} rows; "
        f"below a third on {len(low)} ({', '.join(low) or 'none'}). "
        f"`tol`: says met on {len(says)}/{len(tols)}, truly met where it says so on "
        f"{sum(t['met'] for t in says)}/{len(says)}; "
        f"truly met on {sum(t['met'] for t in tols)}/{len(tols)}."
    )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", nargs="+", default=list(ROWS))
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--variant", default="")
    ap.add_argument("--table", help="print the markdown table of this result file and exit")
    ap.add_argument(
        "--defaults-from",
        help="copy the defaults column from this result file (rerun the `tol` column only)",
    )
    ap.add_argument(
        "--tol-from",
        help="copy the `tol` column from this result file (rerun the defaults column only)",
    )
    args = ap.parse_args()
    if args.table:
        data = json.load(open(args.table))
        print(markdown(data["rows"], data["args"]["tol"]))
        return
    rows = []

    def column(path, key):
        return {r["problem"]: r[key] for r in json.load(open(path))["rows"]} if path else {}

    earlier = column(args.defaults_from, "defaults")
    earlier_tol = column(args.tol_from, "tol")
    for name in args.problems:
        rows.append(run(name, args.tol, earlier.get(name), earlier_tol.get(name)))
        write_result("gp/zoo", dict(args=vars(args), rows=rows), variant=args.variant)
    print(markdown(rows, args.tol))


if __name__ == "__main__":
    main()
