"""A PIG that adapts (issue 27): the defaults against means drawn from the source
(`PIG.from_source`), densification between chunks (`pinn.Densify`), and both, at the same
budget, on zoo problems a PIG is expected to help on and on the smooth control.

    python -m experiments.pig.adaptive
    python -m experiments.pig.adaptive --problems zoo_bump_2d --seeds 0,1,2 --steps 500

Per problem and variant the seeds run as one vmapped ensemble (`ensemble=True`), as in
`experiments/pinn/zoo.py`; `wall_s` is the time of all seeds together, compilation included.
Every variant runs `steps` Adam steps (`pinn.Adam()`, the default) and `steps // 4` L-BFGS
steps, the bare `pinn.solve` split: the densifying variants wrap the same Adam in
`pinn.Densify(every, fraction, until)` and give the L-BFGS phase its steps explicitly. Errors
are of the final iterates. Writes `experiments/results/pig/adaptive[_<variant>].json`, one row
per problem and variant, rewritten after every row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from experiments._harness import write_result
from jaxsci import pde, pinn

VARIANTS = ("default", "source", "densify", "both")
PROBLEMS = ("zoo_bump_2d", "zoo_two_tone_1d", "zoo_multiscale_2d", "poisson_2d")


def run(name, variant, seeds, args):
    problem = pde.get_problem(name)
    keys = jnp.stack([jax.random.key(s) for s in seeds])
    kf = jax.vmap(lambda k: jax.random.split(k)[0])(keys)
    ks = jax.vmap(lambda k: jax.random.split(k)[1])(keys)
    n = args.n_gaussians
    t = time.perf_counter()
    if variant in ("source", "both"):
        make = lambda k: pinn.PIG.from_source(problem, n, floor=args.floor, key=k)  # noqa: E731
    else:
        make = lambda k: pinn.PIG(problem.domain, n, key=k)  # noqa: E731
    fields = eqx.filter_vmap(make)(kf)
    kwargs = {}
    if variant in ("densify", "both"):
        densify = pinn.Densify(every=args.every, fraction=args.fraction, until=args.until)
        kwargs["optimizer"] = densify.wrap(pinn.Adam().transformation(), key=jax.random.key(7))
        kwargs["lbfgs"] = pinn.LBFGSPhase(steps=args.steps // 4)
    sol = pinn.solve(
        problem, fields, key=ks, ensemble=True, steps=args.steps, throw=False, **kwargs
    )
    jax.block_until_ready(sol.field)
    wall = time.perf_counter() - t
    errors = np.asarray(sol.error(), float)
    return {
        "problem": name,
        "variant": variant,
        "seeds": list(seeds),
        "result": sol.result.name,
        "rel_l2": errors.tolist(),
        "rel_l2_mean": float(np.mean(errors)),
        "wall_s": wall,
        "steps": sol.stats["steps"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--problems", default="zoo_bump_2d,zoo_two_tone_1d,zoo_multiscale_2d,poisson_2d"
    )
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--steps", type=int, default=500, help="Adam steps (L-BFGS: a quarter)")
    ap.add_argument("--n-gaussians", type=int, default=256)
    ap.add_argument("--floor", type=float, default=0.25)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--until", type=int, default=None)
    ap.add_argument("--variant", default="")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    command = "python -m experiments.pig.adaptive " + " ".join(sys.argv[1:])
    for name in args.problems.split(","):
        for variant in args.variants.split(","):
            row = run(name, variant, seeds, args)
            rows.append(row)
            print(json.dumps(row), flush=True)
            data = {"command": command, "args": vars(args), "rows": rows}
            write_result("pig/adaptive", data, variant=args.variant)


if __name__ == "__main__":
    main()
