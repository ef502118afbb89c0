"""What a bare `pinn.solve` call gives: the catalogue's Poisson 2D and Helmholtz problems solved
with every setting at its default, 3 seeds, against the tuned configs' figures in BENCHMARKS.md.

    python -m experiments.pinn.defaults   # writes experiments/results/pinn/defaults[_VARIANT].json

`defaults.json` was run at the defaults before issue 27 (MLP 64 x 4, 5000 Adam + 1250 L-BFGS,
`--steps 5000`); `defaults_issue27.json` at the defaults since (MLP 32 x 4, 2000 + 1250), with
the Helmholtz MLP given the domain as a third call.
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
    "poisson_2d": lambda p, k: pinn.MLP(2, width=32, depth=3, key=k),
    # the MLP's own defaults (tanh; 64 x 4 before issue 27, 32 x 4 since)
    "helmholtz_2d": lambda p, k: pinn.MLP(2, key=k),
    # the same, given the domain (Fourier features per domain side)
    "helmholtz_2d_domain": lambda p, k: pinn.MLP(p.domain, key=k),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None, help="Adam steps (default: solve's)")
    ap.add_argument("--calls", default=",".join(CALLS))
    ap.add_argument("--variant", default="")
    args = ap.parse_args()
    calls = args.calls.split(",")
    budget = {} if args.steps is None else {"steps": args.steps}
    rows = []
    for name in calls:
        for seed in [int(s) for s in args.seeds.split(",")]:
            kf, ks = jax.random.split(jax.random.key(seed))
            problem = getattr(pde, name.removesuffix("_domain"))()
            t = time.perf_counter()
            sol = pinn.solve(problem, CALLS[name](problem, kf), key=ks, **budget)
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
    for name in calls:
        errs = [r["rel_l2"] for r in rows if r["problem"] == name]
        walls = [r["wall_s"] for r in rows if r["problem"] == name]
        summary[name] = {
            "rel_l2_mean": float(np.mean(errs)),
            "rel_l2_std": float(np.std(errs)),
            "rel_l2_max": float(np.max(errs)),
            "wall_s_mean": float(np.mean(walls)),
        }
        print(name, summary[name])
    payload = {"args": vars(args), "summary": summary, "rows": rows}
    write_result("pinn/defaults", payload, variant=args.variant)


if __name__ == "__main__":
    main()
