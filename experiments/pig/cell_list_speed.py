"""Physics-Informed Gaussians: the local (cell-list) evaluation against the dense one.

    python -m experiments.pig.cell_list_speed          # N = 4000, 2^15 points, 2-D and 3-D

One field, evaluated at the same points by both paths, in the same process; each timing is the
best of `--repeats` calls after a warm-up (compilation excluded). Points go through `lax.map` in
batches of 1024, each rematerialised for the gradient (both paths alike), to bound the dense
path's memory. "values" is `mean u(x)^2`; "residual" is `mean (Lap u + u)^2`, what a PINN step
computes; "+grad" adds the gradient with respect to every parameter. The reported `max |du|` is
the largest difference of the two paths' `u` over the points, next to the stated bound on the
embedding. Writes `experiments/results/pig/cell_list_speed.json`.
"""

from __future__ import annotations

import argparse
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from experiments._harness import timed, write_result
from jaxsci import pde, pinn


def speed_case(dim, n, scale, n_points, cutoff, repeats, batch=1024):
    domain = pde.Box([0.0] * dim, [1.0] * dim)
    local = pinn.Neighbours(cutoff=cutoff)
    field = pinn.PIG(domain, n, scale=scale, neighbours=local, weight_std=1.0, key=jr.key(0))
    field = field.with_capacity()  # sized from the actual largest cell count, 25% margin
    x = jr.uniform(jr.key(1), (n_points, dim))

    def u_of(m, dense):
        return lambda y: m.evaluate(y, dense=dense)

    # each batch is rematerialised in the backward pass (`jax.checkpoint`): the dense path's
    # saved intermediates for all 2^15 points would need ~60 GB
    def values(m, dense):
        return jnp.mean(jax.lax.map(jax.checkpoint(u_of(m, dense)), x, batch_size=batch) ** 2)

    def residual(m, dense):
        u = u_of(m, dense)
        r = jax.lax.map(jax.checkpoint(lambda y: pde.laplacian(u, y) + u(y)), x, batch_size=batch)
        return jnp.mean(r**2)

    row = {
        "dim": dim,
        "n_gaussians": n,
        "channels": field.channels,
        "scale": scale,
        "cutoff": cutoff,
        "n_points": n_points,
        "cells_per_axis": field.cells,
        "capacity": field.capacity,
        "max_count": field.occupancy()["max_count"],
    }
    for name, loss in [("values", values), ("residual", residual)]:
        for grad in [False, True]:
            key = name + ("+grad" if grad else "")
            times = {}
            for path, dense in [("local", False), ("dense", True)]:
                f = (
                    (lambda m, d=dense, fn=loss: fn(m, d))
                    if not grad
                    else (eqx.filter_grad(lambda m, d=dense, fn=loss: fn(m, d)))
                )
                times[path] = timed(eqx.filter_jit(f), field, repeats=repeats, stat="min")
            row[key] = {**times, "speedup": times["dense"] / times["local"]}
            print(
                f"  {key:15s} local {times['local']:.3f}s  dense {times['dense']:.3f}s  "
                f"speedup {times['dense'] / times['local']:.1f}x",
                flush=True,
            )
    ul = jax.lax.map(u_of(field, False), x, batch_size=batch)
    ud = jax.lax.map(u_of(field, True), x, batch_size=batch)
    row["max_abs_du"] = float(jnp.max(jnp.abs(ul - ud)))
    row["embedding_bound"] = float(
        math.exp(-(cutoff**2) / 2) * jnp.max(jnp.sum(jnp.abs(field.weights), axis=-1))
    )
    print(
        f"  max |u_local - u_dense| = {row['max_abs_du']:.2e} (embedding bound "
        f"{row['embedding_bound']:.2e})",
        flush=True,
    )
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=2**15)
    ap.add_argument("--cutoff", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    cases = [
        # 2-D, sigma = the mean spacing of the means (a mesh-like PIG)
        (2, 4000, 1 / math.sqrt(4000)),
        # 3-D, the paper's flow-mixing setting: sigma = 0.05 of the side
        (3, 4000, 0.05),
    ]
    rows = []
    for dim, n, scale in cases:
        print(
            f"dim {dim}, N = {n}, scale {scale:.4f}, {args.points} points, cutoff {args.cutoff}",
            flush=True,
        )
        rows.append(speed_case(dim, n, scale, args.points, args.cutoff, args.repeats))
    write_result("pig/cell_list_speed", {"args": vars(args), "cases": rows})


if __name__ == "__main__":
    main()
