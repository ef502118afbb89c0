"""How close is a PINN training step to the machine's floor?

Counts the flops of one jitted training step (XLA's cost analysis) for the Helmholtz benchmark
network, times the step (mean of 20 calls, each waited for), and compares the achieved rate with
a large matmul on the same device (the practical peak). Prints one table row per point count.

    python -m experiments.pinn.step_floor --points 1024,4096 --width 64

Writes `experiments/results/pinn/step_floor.json`.
"""

from __future__ import annotations

import argparse

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from experiments._harness import timed, write_result
from jaxsci import pde, pinn
from jaxsci.train import Step, init_state


def matmul_peak(n=None):
    n = n or (4096 if jax.default_backend() != "cpu" else 2048)
    a = jnp.ones((n, n), jnp.float32)
    f = jax.jit(lambda a: a @ a)
    return 2 * n**3 / timed(f, a, repeats=5, stat="mean")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default="1024,4096,16384")
    ap.add_argument("--width", type=int, default=50)
    ap.add_argument("--depth", type=int, default=4)
    args = ap.parse_args()
    problem = pde.helmholtz_2d()
    field = pinn.MLP(2, width=args.width, depth=args.depth, key=jax.random.key(0))
    from jaxsci.pinn._loss import _Objective, _Update

    peak = matmul_peak()
    rows = []
    for n in [int(s) for s in args.points.split(",")]:
        obj = _Objective(problem, (), None)
        weights = jnp.ones(1 + len(problem.conditions))
        # fixed uniform points, `n // 10` per condition, no balancing
        sampling = pinn.Sampling(n_interior=n, n_boundary=max(n // 10, 1), method="uniform")
        upd = _Update(obj, sampling, None, weights)
        extra = upd.init_extra(jax.random.key(1))
        opt = optax.adam(1e-3)
        state = init_state((field, {}), opt, key=jax.random.key(2), extra=extra)
        step = eqx.filter_jit(Step(obj, opt))
        dyn, stat = eqx.partition(state, eqx.is_array)
        one = jax.jit(
            lambda d, obj=obj, opt=opt, stat=stat: eqx.partition(
                Step(obj, opt)(eqx.combine(d, stat))[0], eqx.is_array
            )[0]
        )
        cost = one.lower(dyn).compile().cost_analysis()
        flops = (cost[0] if isinstance(cost, list) else cost)["flops"]
        sec = timed(lambda s, step=step: step(s)[0], state, repeats=20, stat="mean")
        rows.append(
            {
                "points": n,
                "flops_per_step": flops,
                "ms_per_step": sec * 1e3,
                "achieved_gflops": flops / sec / 1e9,
                "peak_gflops": peak / 1e9,
                "fraction_of_peak": flops / sec / peak,
            }
        )
    print(f"device {jax.devices()[0].device_kind}; matmul peak {peak / 1e9:.0f} GFLOP/s")
    print("| points | GFLOP/step | ms/step | achieved GFLOP/s | fraction of matmul peak |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['points']} | {r['flops_per_step'] / 1e9:.2f} | {r['ms_per_step']:.2f} | "
            f"{r['achieved_gflops']:.1f} | {r['fraction_of_peak']:.2f} |"
        )
    write_result("pinn/step_floor", {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
