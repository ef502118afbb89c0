"""Levers on the field a user passes, at the short budget (issue 27: the rows that fail).

For each problem and seed, the short-budget `pinn.solve` call of `experiments.pinn.lbfgs_phase`
(MLP 32 x 4, 2000 Adam + 1250 L-BFGS steps, every other setting default, `learn=` for the
inverse problem) with one change to
the field or the weighting:

- `ff<scale>`: `pinn.MLP(..., embedding=pinn.FourierFeatures(dim, 64, scale, key=...))`, the
  frequencies drawn from `fold_in(field key, 7)`; `ffx<scale>` with `include_input=True` (the
  point beside its features), `ff<scale>n<k>` with `k` features instead of 64;
- `periodic`: `embedding=pinn.PeriodicEmbedding(dim, axes=[0], periods=[2 pi])` (the
  convection rows' period);
- `norm`: the field evaluated at the point mapped affinely onto `[-1, 1]^d` from the domain;
- `causal`: `Weighting(causal=pinn.CausalWeighting())`; `nobal`: `Weighting(balancing=None)`;
- `cont<k>`: `pinn.continuation` along the row's parameter (`PATHS`: `beta` from 10 for
  convection) through `k` evenly spaced values below the row's own (`cont2` on
  `zoo_convection_30`: 10, 20, then 30); each of the `k + 1` stages gets `1 / (k + 1)` of the
  Adam and of the L-BFGS steps, so the total is the plain call's.

Variants combine by underscore (`periodic_nobal`). The error is recorded after every chunk
(500 steps; the step count restarts at each stage of a `cont` path), with the seconds since
the call (compilation included).

    python -m experiments.pinn.field_levers --problems zoo_two_tone_1d --seeds 0,1,2 \\
        --variants ff1 --name two_tone

Writes `experiments/results/pinn/field_levers[_<name>].json`.
"""

from __future__ import annotations

import argparse
import functools
import re
import time

import equinox as eqx
import jax
import jax.numpy as jnp

from experiments._harness import write_result
from jaxsci import pde, pinn, train


class _Normalised(pinn.AbstractField):
    """`x -> field(2 (x - lower) / (upper - lower) - 1)`."""

    field: pinn.AbstractField
    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)

    def __call__(self, x):
        lo, hi = jnp.asarray(self.lower, x.dtype), jnp.asarray(self.upper, x.dtype)
        return self.field(2 * (x - lo) / (hi - lo) - 1)


# the parameter a curriculum follows, and where its path starts
PATHS = {"zoo_convection_30": ("beta", 10.0), "zoo_convection_50": ("beta", 10.0)}


def run(name, variant, seed, width=32, depth=4, steps=2000, lbfgs_steps=1250):
    problem = pde.get_problem(name)
    kf, ks = jax.random.split(jax.random.key(seed))
    embedding = None
    if "periodic" in variant:
        embedding = pinn.PeriodicEmbedding(problem.dim, axes=[0], periods=[2 * jnp.pi])
    if "ff" in variant:
        include, scale, n = re.search(r"ff(x?)([0-9.]+)(?:n(\d+))?", variant).groups()
        embedding = pinn.FourierFeatures(
            problem.dim,
            int(n or 64),
            scale=float(scale),
            include_input=bool(include),
            key=jax.random.fold_in(kf, 7),
        )
    out = problem.n_outputs or "scalar"
    field = pinn.MLP(
        problem.dim, out_size=out, width=width, depth=depth, key=kf, embedding=embedding
    )
    if "norm" in variant:
        field = _Normalised(field, tuple(problem.domain.lower), tuple(problem.domain.upper))
    kw = {}
    if "causal" in variant:
        kw["weighting"] = pinn.Weighting(causal=pinn.CausalWeighting())
    if "nobal" in variant:
        kw["weighting"] = pinn.Weighting(balancing=None)
    points = pinn.evaluation_points(problem)
    true = problem.exact_values(points)
    marks = []
    t0 = time.perf_counter()

    def record(n, f):
        pred = jax.vmap(f)(points).reshape(true.shape)
        err = float(pinn.solution_error(pred, true, problem))
        marks.append((n, round(time.perf_counter() - t0, 1), err))

    how = pinn.solve
    if "cont" in variant:
        k = int(variant.split("cont")[1].split("_")[0])
        param, start = PATHS[name]
        end = float(problem.params[param])
        path = tuple(start + (end - start) * i / k for i in range(k))
        how = functools.partial(pinn.continuation, param=param, path=path)
        steps, lbfgs_steps = steps // (k + 1), lbfgs_steps // (k + 1)
    sol = how(
        problem,
        field,
        key=ks,
        steps=steps,
        lbfgs=pinn.LBFGSPhase(steps=lbfgs_steps),
        learn=pde.ZOO_LEARN.get(name, ()),
        throw=False,
        loop=train.Loop(callback=record),
        **kw,
    )
    weights = sol.stats.get("weights")
    return {
        "name": name,
        "variant": variant,
        "seed": seed,
        "err": float(sol.error()),
        "s": time.perf_counter() - t0,
        "result": str(sol.result),
        "w": None if weights is None else [float(w) for w in jnp.ravel(weights)],
        "stages": [
            {"value": st["value"], "steps": st["steps"], "wall_s": st["wall_s"]}
            for st in sol.stats.get("stages", [])
        ],
        "marks": marks,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="zoo_two_tone_1d")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--variants", default="ff1")
    ap.add_argument("--steps", type=int, default=2000, help="Adam steps")
    ap.add_argument("--lbfgs-steps", type=int, default=1250)
    ap.add_argument("--name", default="")
    args = ap.parse_args(argv)
    rows = []
    for name in args.problems.split(","):
        for variant in args.variants.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                rows.append(
                    run(name, variant, seed, steps=args.steps, lbfgs_steps=args.lbfgs_steps)
                )
                print(
                    f"{name} {variant} seed {seed}: {rows[-1]['err']:.3g}, {rows[-1]['s']:.0f} s",
                    flush=True,
                )
                write_result(
                    "pinn/field_levers", {"args": vars(args), "rows": rows}, variant=args.name
                )


if __name__ == "__main__":
    main()
