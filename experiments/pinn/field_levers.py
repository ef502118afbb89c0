"""Levers on the field a user passes, at the short budget (issue 27: the rows that fail).

For each problem and seed, the short-budget `pinn.solve` call of `experiments.pinn.lbfgs_phase`
(MLP 32 x 4, 2000 Adam + 1250 L-BFGS steps, every other setting default, `learn=` for the
inverse problem) with one change to
the field or the weighting:

- `ff<scale>`: `pinn.MLP(..., embedding=pinn.FourierFeatures(dim, 64, scale, key=...))`, the
  frequencies drawn from `fold_in(field key, 7)`;
- `periodic`: `embedding=pinn.PeriodicEmbedding(dim, axes=[0], periods=[2 pi])` (the
  convection rows' period);
- `norm`: the field evaluated at the point mapped affinely onto `[-1, 1]^d` from the domain;
- `causal`: `Weighting(causal=pinn.CausalWeighting())`; `nobal`: `Weighting(balancing=None)`.

Variants combine by underscore (`periodic_nobal`). The error is recorded after every chunk
(500 steps), with the seconds since the call (compilation included).

    python -m experiments.pinn.field_levers --problems zoo_two_tone_1d --seeds 0,1,2 \\
        --variants ff1 --name two_tone

Writes `experiments/results/pinn/field_levers[_<name>].json`.
"""

from __future__ import annotations

import argparse
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


def run(name, variant, seed, width=32, depth=4, steps=2000, lbfgs_steps=1250):
    problem = pde.get_problem(name)
    kf, ks = jax.random.split(jax.random.key(seed))
    embedding = None
    if "periodic" in variant:
        embedding = pinn.PeriodicEmbedding(problem.dim, axes=[0], periods=[2 * jnp.pi])
    if "ff" in variant:
        scale = float(variant.split("ff")[1].split("_")[0])
        embedding = pinn.FourierFeatures(
            problem.dim, 64, scale=scale, key=jax.random.fold_in(kf, 7)
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

    sol = pinn.solve(
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
