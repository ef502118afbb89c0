"""The levers that should make `pinn.solve`'s defaults survive the zoo (issue 27), each measured
against the defaults on the same problems, budget, points and seeds.

    python -m experiments.pinn.levers --variants baseline,magnitude,ntk,rad --steps 500

Variants (each is the defaults plus one option of `pinn.solve`):

- `baseline`: the defaults as they were when these levers were measured, before NTK weights
  became `pinn.solve`'s default: `Weighting(balancing=None)`. Every other variant is this
  baseline plus its option(s), as recorded. The field and the L-BFGS phase are also those of
  that time: MLP 64 x 4 and `steps // 4` L-BFGS steps (issue 27 later made the defaults 32
  wide and `5 * steps // 8`).
- `magnitude`: `Weighting(balancing=None, magnitude=MagnitudeWeighting())`: each term divided
  by its loss at the zero field (the size of its data) when above 1.
- `ntk`: `Weighting(balancing=NTKWeighting(every=ntk_every))`: Wang, Yu & Perdikaris trace
  weights, recomputed every `ntk_every` steps on 64 points per term.
- `rad`: `Sampling(adaptive=ResidualDensityResampling(every=rad_every))`: Wu et al.'s RAD, the
  collocation points redrawn from `|r| / mean |r| + 1` on 10000 uniform candidates.
- `ntk_rad`: both.

Each seed is its own call `pinn.solve(problem, pinn.MLP(dim, key=kf), key=ks, steps=steps,
...)` (not an ensemble: under `vmap` an every-`n`-steps update runs at every step), with the
keys `zoo.py` derives from the seed. `wall_s` is per seed, compilation included for the first
seed of each problem and variant (later seeds reuse the compiled chunk). The error of the
final iterate is beside `PINNSolution.error_estimate()`. Writes
`experiments/results/pinn/levers[_<variant>].json` after every row.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from experiments._harness import write_result
from jaxsci import pde, pinn

PROBLEMS = (
    "zoo_bump_2d,zoo_two_tone_1d,zoo_multiscale_2d,zoo_boundary_layer,"
    "zoo_dirichlet_data_2d,zoo_nonlinear_2d,poisson_2d"
)


def options(variant, args):
    ntk = pinn.NTKWeighting(every=args.ntk_every, n_points=args.ntk_points)
    rad = pinn.ResidualDensityResampling(every=args.rad_every)
    off = pinn.Weighting(balancing=None)
    return {
        "baseline": {"weighting": off},
        "magnitude": {
            "weighting": pinn.Weighting(balancing=None, magnitude=pinn.MagnitudeWeighting())
        },
        "ntk": {"weighting": pinn.Weighting(balancing=ntk)},
        "rad": {"weighting": off, "sampling": pinn.Sampling(adaptive=rad)},
        "ntk_rad": {
            "weighting": pinn.Weighting(balancing=ntk),
            "sampling": pinn.Sampling(adaptive=rad),
        },
    }[variant]


def run(name, variant, seed, args):
    problem = pde.get_problem(name)
    kf, ks = jax.random.split(jax.random.key(seed))
    out = problem.n_outputs or "scalar"
    t = time.perf_counter()
    field = pinn.MLP(problem.dim, out_size=out, width=64, key=kf)
    sol = pinn.solve(
        problem,
        field,
        key=ks,
        steps=args.steps,
        lbfgs=pinn.LBFGSPhase(steps=args.steps // 4),
        learn=pde.ZOO_LEARN.get(name, ()),
        throw=False,
        **options(variant, args),
    )
    jax.block_until_ready(sol.field)
    wall = time.perf_counter() - t
    error = float(sol.error())
    details = sol.error_estimate(details=True)
    weights = sol.stats.get("weights")
    return {
        "problem": name,
        "variant": variant,
        "seed": seed,
        "result": sol.result.name,
        "rel_l2": error,
        "estimate": float(details["estimate"]),
        "wall_s": wall,
        "steps": sol.stats["steps"],
        "final_loss": float(np.asarray(sol.history["loss"])[-1]),
        **({} if weights is None else {"weights": np.asarray(weights).tolist()}),
    }


def table(paths):
    """A markdown table of the rows in the result files `paths`: per problem and variant, the
    error and estimate of each seed and the mean wall time per seed."""
    rows = [r for path in paths for r in json.load(open(path))["rows"]]
    groups = {}
    for r in rows:
        groups.setdefault((r["problem"], r["variant"]), []).append(r)
    lines = [
        "| problem | variant | rel. L2 per seed | estimate per seed | wall s / seed |",
        "|---|---|---|---|---|",
    ]
    for (problem, variant), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        err = " / ".join(f"{r['rel_l2']:.2e}" for r in rs)
        est = " / ".join(f"{r['estimate']:.2e}" for r in rs)
        wall = np.mean([r["wall_s"] for r in rs])
        lines.append(f"| {problem} | {variant} | {err} | {est} | {wall:.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", default="", help="print the table of these result files")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--steps", type=int, default=500, help="Adam steps (L-BFGS: a quarter)")
    ap.add_argument("--problems", default=PROBLEMS)
    ap.add_argument("--variants", default="baseline,magnitude,ntk,rad")
    ap.add_argument("--ntk-every", type=int, default=100)
    ap.add_argument("--ntk-points", type=int, default=64)
    ap.add_argument("--rad-every", type=int, default=100)
    ap.add_argument("--name", default="", help="result file suffix")
    args = ap.parse_args()
    if args.table:
        print(table(args.table.split(",")))
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for name in args.problems.split(","):
        for variant in args.variants.split(","):
            for seed in seeds:
                row = run(name, variant, seed, args)
                rows.append(row)
                print(json.dumps(row), flush=True)
                write_result("pinn/levers", {"args": vars(args), "rows": rows}, variant=args.name)


if __name__ == "__main__":
    main()
