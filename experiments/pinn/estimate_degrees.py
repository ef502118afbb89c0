"""The error estimate's degrees on trained fields, and the rule that stops them (issue 27).

For each problem and seed, the default call `pinn.solve(problem, pinn.MLP(problem.domain,
key=kf), key=ks)` (MLP 32 x 4, 2000 Adam + 1250 L-BFGS steps; `learn=` on the inverse row;
`kf, ks = split(key(seed))`, the keys of `experiments.pinn.field_levers`), then the defect
correction of `jaxsci.pinn._estimate` at every degree `refine` can visit from the default
degree `D` (`round(2 D / 3)`, `D`, then up by 4/3 to `2 D`: 16, 24, 32, 43, 48 in 2D), each
degree's `estimate`, `unexplained` and `tail` recorded beside the true error.

`--table FILE...` replays `refine`'s rule (`jaxsci.pinn._estimate.refined`) on the recorded
degrees, with one agreeing pair of degrees (the rule before issue 27's seventeenth session)
and with two successive pairs (the rule now): each rule's final degree, estimate over the
true error, and `resolved`. The replay is exact: `refine` calls the same correction at the
same degrees.

    python -m experiments.pinn.estimate_degrees --problems zoo_convection_30 --seeds 0,1,2 \\
        --name conv30
    python -m experiments.pinn.estimate_degrees --table \\
        experiments/results/pinn/estimate_degrees*.json

Writes `experiments/results/pinn/estimate_degrees[_<name>].json` after each row.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import jax

from experiments._harness import write_result
from jaxsci import pde, pinn
from jaxsci.pinn._estimate import DEFAULT_DEGREE, _at_degree, refined


def run(name: str, seed: int) -> dict:
    problem = pde.get_problem(name)
    kf, ks = jax.random.split(jax.random.key(seed))
    field = pinn.MLP(problem.domain, out_size=problem.n_outputs or "scalar", key=kf)
    t0 = time.perf_counter()
    sol = pinn.solve(problem, field, key=ks, learn=pde.ZOO_LEARN.get(name, ()), throw=False)
    seconds = time.perf_counter() - t0
    # the field and problem the solve trained (a zero Dirichlet condition built into the field)
    trained, reduced = sol.field, sol.problem
    degrees = {}

    def at(d):
        info = _at_degree(reduced, trained, sol.params, d, 64)
        degrees[str(d)] = {k: info[k] for k in ("estimate", "unexplained", "tail")}
        return info

    # every degree `refine` can visit: a rule that never converges walks them all to the cap
    refined(at, DEFAULT_DEGREE.get(problem.dim, 6), pairs=math.inf)
    return {"name": name, "seed": seed, "err": float(sol.error()), "s": seconds, "degrees": degrees}


def replay(row: dict, pairs: int) -> dict:
    """`refine`'s outcome on the recorded degrees of `row` with `pairs` agreeing pairs."""
    recorded = {int(d): {**v, "degree": int(d)} for d, v in row["degrees"].items()}
    return refined(lambda d: recorded[d], max(recorded) // 2, pairs=pairs)


def table(files: list[str]) -> None:
    rows = [r for f in files for r in json.load(open(f))["rows"]]
    print(
        "| problem | seed | true rel. L2 | estimate at each degree (/ true) | one pair: degree, "
        "est. / true, resolved | two pairs: degree, est. / true, resolved |"
    )
    print("|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["name"], r["seed"])):
        ests = " / ".join(f"{d}: {v['estimate'] / r['err']:.2f}" for d, v in r["degrees"].items())
        cells = []
        for pairs in (1, 2):
            out = replay(r, pairs)
            cells.append(f"{out['degree']}, {out['estimate'] / r['err']:.2f}, {out['resolved']}")
        print(f"| {r['name']} | {r['seed']} | {r['err']:.3g} | {ests} | {cells[0]} | {cells[1]} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="zoo_convection_30")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--name", default="")
    ap.add_argument("--table", nargs="+", metavar="FILE", help="print the table of FILEs, run none")
    args = ap.parse_args(argv)
    if args.table:
        table(args.table)
        return
    rows = []
    for name in args.problems.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(run(name, seed))
            print(f"{name} seed {seed}: {rows[-1]['err']:.3g}, {rows[-1]['s']:.0f} s", flush=True)
            write_result(
                "pinn/estimate_degrees", {"args": vars(args), "rows": rows}, variant=args.name
            )


if __name__ == "__main__":
    main()
