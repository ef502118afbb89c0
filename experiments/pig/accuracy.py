"""Physics-Informed Gaussians: speed of the local (cell-list) path against the dense one, and
accuracy against the MLP PINN on Helmholtz (1, 4).

    python experiments/bench_pig.py speed                 # N = 4000, 2^15 points, 2-D and 3-D
    python experiments/bench_pig.py accuracy              # PIG on Helmholtz, seeds 0,1,2
    python experiments/bench_pig.py accuracy --mlp        # ... and the MLP main job, same run
    python experiments/bench_pig.py accuracy --config pig_klein_gordon_2d_paper \
        --mlp-config klein_gordon_2d_paper_mlp --set train.steps=5000 --mlp   # another row

Speed: one field, evaluated at the same points by both paths, in the same process; each timing
is the best of `--repeats` calls after a warm-up (compilation excluded). Points go through
`lax.map` in batches of 1024, each rematerialised for the gradient (both paths alike), to
bound the dense path's memory. "values" is
`mean u(x)^2`; "residual" is `mean (Lap u + u)^2`, what a PINN step computes; "+grad" adds
the gradient with respect to every parameter. The reported `max |du|` is the largest
difference of the two paths' `u` over the points, next to the stated bound on the embedding.

Accuracy: a PIG config (`--config`, default `pig_helmholtz_2d`) and with `--mlp` an MLP config
(`--mlp-config`, default the main job's) through `jaxsci.runs`, as `jaxsci run` trains them:
final-iterate relative L2 on the evaluation grid, wall time of each seed (compile included).
`--set` overrides apply to both configs (a reduced CPU size of a paper config, for example).
`--curve` records the error along training and gives each field's time to the same error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from jaxsci import pde, pinn

HERE = os.path.dirname(os.path.abspath(__file__))


def _best_time(fn, arg, repeats):
    jax.block_until_ready(fn(arg))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(arg))
        best = min(best, time.perf_counter() - t0)
    return best


def speed_case(dim, n, scale, n_points, cutoff, repeats, batch=1024):
    domain = pde.Box([0.0] * dim, [1.0] * dim)
    field = pinn.PIG(domain, n, scale=scale, cutoff=cutoff, weight_std=1.0, key=jr.key(0))
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
                times[path] = _best_time(eqx.filter_jit(f), field, repeats)
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


def speed(args):
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
    return {"device": jax.devices()[0].device_kind, "cases": rows}


# ---------------------------------------------------------------------------- accuracy


def _run_config(name, seeds, overrides):
    from jaxsci import runs

    path = os.path.join(HERE, "configs", f"{name}.toml")
    conf = runs.load_config(path, [f"train.seeds={seeds}", "plot=false", *overrides])
    m = runs.run(conf, os.path.join("runs", f"bench_pig_{name}"), progress=False)
    return {
        "config": runs.to_toml(conf),
        "rel_l2_mean": m["rel_l2"],
        "rel_l2_std": m["rel_l2_std"],
        "wall_s_mean": float(np.mean([r["wall_s"] for r in m["runs"]])),
        "runs": m["runs"],
    }


def accuracy(args):
    """A PIG config (and with `--mlp` an MLP config) through `jaxsci.runs`, as `jaxsci run`
    trains them, same seeds, same run."""
    seeds = [int(s) for s in args.seeds.split(",")]
    out = {"device": jax.devices()[0].device_kind, "configs": [args.config, args.mlp_config]}
    overrides = args.set or []
    curve = ["train.error_curve=true"] if args.curve else []
    rows = {"PIG": _run_config(args.config, seeds, overrides + curve + (args.pig_set or []))}
    if args.mlp:
        # the default MLP config is the main job's own recipe: the PIG overrides do not apply
        main_job = args.mlp_config == "helmholtz_2d"
        rows[f"MLP ({args.mlp_config})"] = _run_config(
            args.mlp_config, seeds, curve + ([] if main_job else overrides)
        )
    out["rows"] = rows
    if args.curve and len(rows) == 2:
        out["equal_error"] = equal_error(rows)
    print("\n| field | rel. L2 per seed | mean ± std | wall s (mean) |\n|---|---|---|---|")
    for name, r in rows.items():
        per = ", ".join(f"{x['rel_l2']:.2e}" for x in r["runs"])
        print(
            f"| {name} | {per} | {r['rel_l2_mean']:.2e} ± {r['rel_l2_std']:.1e} "
            f"| {r['wall_s_mean']:.1f} |"
        )
    return out


def _time_to(curve, target):
    """Wall s of the first record at or below `target` (None: never reached)."""
    return next((t for _, t, e in curve if e <= target), None)


def equal_error(rows):
    """Per seed, each field's wall time to reach the error the worse of the two ends at (from
    the error curves, `train.error_curve`: the worse one's time is its whole run), and their
    ratio."""
    (a, ra), (b, rb) = rows.items()
    per_seed = []
    for x, y in zip(ra["runs"], rb["runs"], strict=True):
        target = max(x["error_curve"][-1][2], y["error_curve"][-1][2])
        ta, tb = _time_to(x["error_curve"], target), _time_to(y["error_curve"], target)
        per_seed.append({"seed": x["seed"], "target": target, a: ta, b: tb, "ratio": ta / tb})
    print("\ntime to the worse final error of each seed, s:")
    for r in per_seed:
        print(
            f"  seed {r['seed']} ({r['target']:.2e}): {a} {r[a]:.1f}, {b} {r[b]:.1f}, "
            f"ratio {r['ratio']:.2f}"
        )
    return per_seed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["speed", "accuracy"])
    ap.add_argument("--points", type=int, default=2**15)
    ap.add_argument("--cutoff", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--mlp", action="store_true", help="also run an MLP config")
    ap.add_argument("--config", default="pig_helmholtz_2d", help="the PIG config")
    ap.add_argument("--mlp-config", default="helmholtz_2d", help="the MLP config (--mlp)")
    ap.add_argument("--set", nargs="*", help="config overrides, e.g. train.steps=5000")
    ap.add_argument("--pig-set", nargs="*", help="overrides of the PIG config only (field.*)")
    ap.add_argument(
        "--curve",
        action="store_true",
        help="record the error after every chunk (train.error_curve) and, with --mlp, each "
        "field's time to the higher of the two final errors",
    )
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    result = speed(args) if args.what == "speed" else accuracy(args)
    tag = "" if args.what == "speed" or args.config == "pig_helmholtz_2d" else f"_{args.config}"
    out = args.out or os.path.join(HERE, "results", f"pig_{args.what}{tag}_cpu.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2, default=float)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
