"""One problem, three solvers: the GP spectral-mixture solver, the MLP PINN and PIG on the same
`pde.Problem`, error and wall time side by side (issue: "one problem, three solvers").

    python -m experiments.gp.three_solvers                       # every row
    python -m experiments.gp.three_solvers --problems gp_q2 --solvers PIG --variant q2_pig

Writes `experiments/results/gp/three_solvers[_VARIANT].json`.

Every run goes through `jaxsci.runs`; the configs below are complete. Nothing is tuned per
problem beyond the grid size of the GP and the Gaussian count and width of PIG, which follow the
number of oscillations; Helmholtz uses the shipped configs of the MLP main job and of PIG. The
GP solve is deterministic (no seeds); the MLP and PIG rows train from random initialisations
over `--seeds`.
"""

from __future__ import annotations

import argparse
import tempfile
import tomllib

import numpy as np

from experiments._harness import CONFIGS, write_result
from jaxsci import runs


def configs(problem: str, dim: int, grid: int, pig_n: int, pig_scale: float, seeds):
    # The settings the earlier `jaxsci run` defaults gave, stated: no exact Dirichlet condition
    # (every condition a loss term), chunks of 1000 steps, and no L-BFGS phase after PIG's Adam
    # (`[lbfgs] steps` is now `"auto"`: five eighths of the Adam steps).
    mlp = {
        "problem": {"name": problem},
        "field": {"width": 64, "depth": 4},
        "sampling": {"n_interior": 1024 if dim == 1 else 4096},
        "lbfgs": {"steps": 1250},
        "train": {"steps": 5000, "hard_dirichlet": False, "chunk_size": 1000, "seeds": seeds},
    }
    pig = {
        "problem": {"name": problem},
        "field": {
            "kind": "pig",
            "n_gaussians": pig_n,
            "scale": pig_scale,
            "neighbours": {"cutoff": 5.0} if dim == 2 else {},
        },
        "optimizer": {"kind": "adam", "learning_rate": 1e-2, "decay_steps": 1, "decay_rate": 0.999},
        "sampling": {"n_interior": 1024 if dim == 1 else 2048, "resample_every": 1},
        "weighting": {"residual": 1e-3},
        "lbfgs": {"steps": 0},
        "train": {"steps": 1500, "hard_dirichlet": False, "chunk_size": 250, "seeds": seeds},
    }
    gp = {"solver": "gp", "problem": {"name": problem}, "gp": {"grid": [grid]}}
    if problem == "helmholtz_2d":  # the shipped recipes (zero Dirichlet: exact)
        mlp = _shipped("helmholtz_2d", seeds)
        pig = _shipped("pig_helmholtz_2d", seeds)
    return {"GP": gp, "MLP PINN": mlp, "PIG": pig}


def _shipped(name, seeds):
    with open(CONFIGS / f"{name}.toml", "rb") as f:
        cfg = tomllib.load(f)
    cfg["train"]["seeds"] = seeds
    return cfg


ROWS = [
    # problem, dim, GP grid per axis, PIG Gaussians per channel, PIG sigma (fraction of side)
    ("poisson_1d", 1, 64, 64, 0.05),
    ("helmholtz_2d", 2, 64, 1600, 0.03),
    ("gp_p1", 1, 400, 800, 0.005),
    ("gp_q2", 2, 200, 1600, 0.03),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--problems", default=",".join(r[0] for r in ROWS))
    ap.add_argument("--solvers", default="GP,MLP PINN,PIG")
    ap.add_argument("--variant", default="", help="result file suffix")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    for problem, dim, grid, pig_n, pig_scale in ROWS:
        if problem not in args.problems.split(","):
            continue
        for solver, cfg in configs(problem, dim, grid, pig_n, pig_scale, seeds).items():
            if solver not in args.solvers.split(","):
                continue
            with tempfile.TemporaryDirectory() as out:
                cfg = {**cfg, "plot": False}  # the wall time is the solve
                metrics = runs.run(runs.load_config(cfg), out, progress=False)
            errs = [r["rel_l2"] for r in metrics["runs"]]
            walls = [r["wall_s"] for r in metrics["runs"]]
            row = {
                "problem": problem,
                "solver": solver,
                "rel_l2": errs,
                "wall_s": walls,
                "rel_l2_mean": float(np.mean(errs)),
                "rel_l2_std": float(np.std(errs)),
                "wall_s_mean": float(np.mean(walls)),
                "config": cfg,
            }
            results.append(row)
            print(
                f"{problem:14s} {solver:9s} rel. L2 {row['rel_l2_mean']:.2e} ± "
                f"{row['rel_l2_std']:.1e} in {row['wall_s_mean']:.1f} s",
                flush=True,
            )
    write_result("gp/three_solvers", {"args": vars(args), "rows": results}, variant=args.variant)


if __name__ == "__main__":
    main()
