"""What a step of `pinn.solve`'s defaults costs on a zoo problem, by phase, field size and
ensemble size (issue 27: "within 2 minutes on this CPU").

For each problem, MLP size and ensemble size: two `pinn.solve` calls after a compiling one,
`--adam` Adam steps with no L-BFGS phase and the same with `--lbfgs` L-BFGS steps after them;
the Adam step is the first call's time over its steps, the L-BFGS step the difference over
`--lbfgs`. `--ensemble 0` is the plain call a user makes, `n` an `ensemble=True` call of n
members (its times are for all n). Compilation excluded; the full-budget projection is
`5000 adam + 1250 lbfgs` (steady state: early L-BFGS steps are cheaper than late ones).

    python -m experiments.pinn.step_cost --problems zoo_bump_2d --sizes 64x4,32x4 --variant V
    python -m experiments.pinn.step_cost --problems zoo_bump_2d --sizes 32x4 --ensembles 0,1,3

Writes `experiments/results/pinn/step_cost[_<variant>].json`.
"""

from __future__ import annotations

import argparse
import json
import time

import equinox as eqx
import jax

from experiments._harness import write_result
from jaxsci import pde, pinn


def timed_solve(problem, name, fields, key, ensemble, adam, lbfgs):
    t = time.perf_counter()
    sol = pinn.solve(
        problem,
        fields,
        key=key,
        steps=adam,
        lbfgs=pinn.LBFGSPhase(steps=lbfgs),
        learn=pde.ZOO_LEARN.get(name, ()),
        ensemble=bool(ensemble),
        throw=False,
    )
    jax.block_until_ready(sol.field)
    return time.perf_counter() - t


def cost(name, width, depth, ensemble, adam, lbfgs):
    problem = pde.get_problem(name)
    out = problem.n_outputs or "scalar"
    make = lambda k: pinn.MLP(problem.dim, out_size=out, width=width, depth=depth, key=k)  # noqa: E731
    if ensemble:
        fields = eqx.filter_vmap(make)(jax.random.split(jax.random.key(0), ensemble))
        keys = [jax.random.split(jax.random.key(s), ensemble) for s in (1, 2)]
    else:
        fields, keys = make(jax.random.key(0)), [jax.random.key(1), jax.random.key(2)]
    seconds = {}
    for n_lbfgs in (0, lbfgs):
        timed_solve(problem, name, fields, keys[0], ensemble, adam, n_lbfgs)  # compiles
        seconds[n_lbfgs] = timed_solve(problem, name, fields, keys[1], ensemble, adam, n_lbfgs)
    adam_s = seconds[0] / adam
    lbfgs_s = (seconds[lbfgs] - seconds[0]) / lbfgs
    return {
        "problem": name,
        "width": width,
        "depth": depth,
        "ensemble": ensemble,
        "adam_ms": 1e3 * adam_s,
        "lbfgs_ms": 1e3 * lbfgs_s,
        "full_budget_s": 5000 * adam_s + 1250 * lbfgs_s,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default=",".join(sorted(pde.ZOO)))
    ap.add_argument("--sizes", default="64x4", help="MLP width x depth, comma separated")
    ap.add_argument("--ensembles", default="0", help="0: the plain call; n: n members")
    ap.add_argument("--adam", type=int, default=300)
    ap.add_argument("--lbfgs", type=int, default=100)
    ap.add_argument("--variant", default="")
    args = ap.parse_args()
    rows = []
    for name in args.problems.split(","):
        for size in args.sizes.split(","):
            width, depth = (int(v) for v in size.split("x"))
            for ensemble in (int(e) for e in args.ensembles.split(",")):
                rows.append(cost(name, width, depth, ensemble, args.adam, args.lbfgs))
                print(json.dumps(rows[-1]), flush=True)
                write_result(
                    "pinn/step_cost", {"args": vars(args), "rows": rows}, variant=args.variant
                )


if __name__ == "__main__":
    main()
