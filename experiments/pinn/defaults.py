"""What a bare `pinn.solve` call gives: the catalogue's Poisson 2D and Helmholtz problems solved
with every setting at its default, 3 seeds, against the tuned configs' figures in BENCHMARKS.md.

    python -m experiments.pinn.defaults   # writes experiments/results/pinn/defaults.json
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from experiments._harness import write_result
from jaxsci import pde, pinn

CALLS = {
    # the call of the DeepXDE accuracy issue: `solve(poisson_2d(), MLP(2, width=32, depth=3))`
    "poisson_2d": lambda k: pinn.MLP(2, width=32, depth=3, key=k),
    # the MLP's own defaults (64 x 4, tanh)
    "helmholtz_2d": lambda k: pinn.MLP(2, key=k),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=5000)
    args = ap.parse_args()
    rows = []
    for name, make in CALLS.items():
        for seed in [int(s) for s in args.seeds.split(",")]:
            kf, ks = jax.random.split(jax.random.key(seed))
            t = time.perf_counter()
            sol = pinn.solve(getattr(pde, name)(), make(kf), key=ks, steps=args.steps)
            wall = time.perf_counter() - t
            row = {
                "problem": name,
                "seed": seed,
                "rel_l2": sol.error(),
                "wall_s": wall,
                "phases": {p: s["steps"] for p, s in sol.stats["phases"].items()},
                "hard_dirichlet": isinstance(sol.field, pinn.Constrained),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for name in CALLS:
        errs = [r["rel_l2"] for r in rows if r["problem"] == name]
        walls = [r["wall_s"] for r in rows if r["problem"] == name]
        summary[name] = {
            "rel_l2_mean": float(np.mean(errs)),
            "rel_l2_std": float(np.std(errs)),
            "rel_l2_max": float(np.max(errs)),
            "wall_s_mean": float(np.mean(walls)),
        }
        print(name, summary[name])
    write_result("pinn/defaults", {"args": vars(args), "summary": summary, "rows": rows})


if __name__ == "__main__":
    main()
