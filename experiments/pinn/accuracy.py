"""PINN accuracy: the shipped configs over seeds, a Markdown table, one JSON.

    python -m experiments.pinn.accuracy                          # the BENCHMARKS.md rows
    python -m experiments.pinn.accuracy poisson_1d poisson_2d --variant after_lbfgs

Every number is the final iterate of each seed (no best-of), with the wall time of the seed
(compilation included). Writes `experiments/results/pinn/accuracy[_VARIANT].json`.
"""

from __future__ import annotations

import argparse
import os

import jax
import numpy as np

from experiments._harness import CONFIGS, write_result
from jaxsci import pde, runs

DEFAULT = ["poisson_1d", "poisson_2d", "helmholtz_2d", "infinite_well", "finite_well"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", default=DEFAULT)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--runs", default=os.path.join("runs", "bench"), help="run directories")
    ap.add_argument("--variant", default="", help="result file suffix: accuracy_VARIANT.json")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = {}
    for name in args.names:
        path = str(CONFIGS / f"{name}.toml")
        cfg = runs.load_config(path, [f"train.seeds={seeds}"])
        m = runs.run(cfg, os.path.join(args.runs, name), progress=False, overwrite=True)
        row = {
            "rel_l2_mean": m["rel_l2"],
            "rel_l2_std": m["rel_l2_std"],
            "rel_l2_max": max(r["rel_l2"] for r in m["runs"]),
            "wall_s_mean": m["wall_s"],
            "wall_s_max": max(r["wall_s"] for r in m["runs"]),
            "steps": m["steps"],
            "runs": m["runs"],
        }
        problem = pde.get_problem(cfg.problem.name, **cfg.problem.args)
        if problem.exact_eigenvalue is not None:
            truth = problem.exact_eigenvalue
            errs = [abs(r["eigenvalue"] - truth) for r in m["runs"]]
            rq = [abs(r["rayleigh_quotient"] - truth) for r in m["runs"]]
            row.update(
                eigenvalue_truth=truth,
                eigenvalue_abs_err_max=max(errs),
                eigenvalue_rel_err_max=max(errs) / abs(truth),
                rayleigh_rel_err_max=max(rq) / abs(truth),
            )
        rows[name] = row
    print(f"\ndevice: {jax.devices()[0].device_kind}, seeds {seeds}\n")
    print(
        "| problem | rel. L2 (mean ± std, max) | wall s (mean, max) | steps "
        "| trained eigenvalue error (max) | Rayleigh quotient rel. error (max) |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        eig = (
            f"{r['eigenvalue_abs_err_max']:.1e} abs, {r['eigenvalue_rel_err_max']:.1e} rel "
            f"| {r['rayleigh_rel_err_max']:.1e}"
            if "eigenvalue_truth" in r
            else " |"
        )
        print(
            f"| {name} | {r['rel_l2_mean']:.2e} ± {r['rel_l2_std']:.1e}, {r['rel_l2_max']:.2e} "
            f"| {r['wall_s_mean']:.1f}, {r['wall_s_max']:.1f} | {r['steps']} | {eig} |"
        )
    write_result("pinn/accuracy", {"seeds": seeds, "rows": rows}, variant=args.variant)
    return np.all([r["rel_l2_max"] < 1 for r in rows.values()])


if __name__ == "__main__":
    main()
