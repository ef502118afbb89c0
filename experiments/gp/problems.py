"""`jaxsci.gp` on every problem of Fang et al. (ICLR 2024), against the published error.

    python -m experiments.gp.problems                      # every row
    python -m experiments.gp.problems --rows AC2 ADV       # some rows (their own result file)

One default setting for every row (`gp.solve(problem, grid=n)`); errors are final-iterate
relative L2 on a uniform 300-per-dimension test grid, float64. Writes
`experiments/results/gp/problems[_<rows>].json`. The Kronecker algebra table is
`experiments.gp.kronecker`, kernel training and grid evaluation `experiments.gp.kernel_training`.
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from experiments._harness import write_result  # noqa: E402
from jaxsci import gp, pde  # noqa: E402

# id, problem, paper grid, grid run here, published error
ROWS = [
    ("P1", "gp_p1", 400, 400, 4.0e-7),
    ("P2", "gp_p2", 200, 200, 3.5e-4),
    ("P3", "gp_p3", 400, 400, 1.5e-6),
    ("P4", "gp_p4", 900, 900, 9.0e-7),
    ("P5", "gp_p5", 200, 200, 4.2e-4),
    ("A1", "gp_a1", 400, 400, 7.7e-7),
    ("A2", "gp_a2", 400, 400, 4.2e-6),
    ("Q1", "gp_q1", 400, 400, 6.5e-5),
    ("Q2", "gp_q2", 200, 200, 1.0e-3),
    ("AC2", "gp_ac2", 200, 200, 2.6e-3),
    ("ADV", "gp_advection", 200, 200, 1.4e-4),
    # not in the paper: non-integer frequencies nobody picked, default kernel (no published error)
    ("UNP", "gp_unpicked", 400, 400, float("nan")),
]


def bench_problems(quick: bool, ids=None):
    out = []
    rows = ROWS[:3] if quick else ROWS
    if ids:
        rows = [r for r in ROWS if r[0] in ids]
    for rid, name, paper_n, n, published in rows:
        prob = pde.get_problem(name)
        t = time.perf_counter()
        sol = gp.solve(prob, grid=n)
        err = float(sol.error())
        total = time.perf_counter() - t
        row = dict(
            id=rid,
            problem=name,
            paper_grid=paper_n,
            grid=n,
            error=err,
            published=published,
            meets=bool(err <= published) if np.isfinite(published) else None,
            solve_s=sol.stats["wall_s"],
            total_s=total,
            steps=sol.stats["steps"],
            method=sol.stats["method"],
            residuals=[float(r) for r in sol.history.get("residual", [])],
            frequencies=[np.asarray(f).round(3).tolist() for f in sol.stats["frequencies"]],
        )
        out.append(row)
        print(
            f"{rid:4s} {name:13s} grid {n:>4d}^{prob.dim} (paper {paper_n}) error {err:9.2e} "
            f"published {published:8.1e} "
            f"{ {True: 'MEETS', False: 'misses', None: '-'}[row['meets']] } "
            f"solve {row['solve_s']:7.2f} s total {total:7.2f} s",
            flush=True,
        )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="the first three rows")
    ap.add_argument("--rows", nargs="+", help="row ids to run (default: all)")
    args = ap.parse_args()
    print("== problems (final iterate, relative L2, 300 per dim test grid)")
    rows = bench_problems(args.quick, args.rows)
    # a partial run (--rows) writes its own file and keeps the full table's results
    variant = "_".join(args.rows).lower() if args.rows else ("quick" if args.quick else "")
    write_result("gp/problems", dict(args=vars(args), rows=rows), variant=variant)


if __name__ == "__main__":
    main()
