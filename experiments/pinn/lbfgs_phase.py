"""Where the default L-BFGS phase's time goes, and what its late steps buy (issue 27: "within 2
minutes on this CPU").

For each problem and seed, the plain `pinn.solve` call a user makes (every setting default, an
MLP of `--width` x `--depth`), with a callback every `--chunk` steps that records the wall
clock and the field's relative L2 error. From the run's history: each L-BFGS step's line-search
evaluations (`linesearch_steps`, optax's zoom search stops at 20) and loss. The rows say how
many L-BFGS steps ran their search to the cap, how the phase's time splits over its chunks, and
how much the error moved in each.

    python -m experiments.pinn.lbfgs_phase --problems zoo_bump_2d --width 32 --variant V
    python -m experiments.pinn.lbfgs_phase --problems zoo_boundary_layer --max-linesearch 10

`--max-linesearch N`: `LBFGSPhase(max_linesearch=N)`, the phase's zoom line search capped at N
steps (default optax's 20). The `w32_cap10*` rows ran before the option existed, with the
same optimiser built by the script (`optax.lbfgs(memory_size=100,
linesearch=optax.scale_by_zoom_linesearch(N, initial_guess_strategy="one"))`).

Writes `experiments/results/pinn/lbfgs_phase[_<variant>].json`.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np

from experiments._harness import write_result
from jaxsci import pde, pinn, train


def probe(name, seed, width, depth, chunk, max_linesearch=20):
    problem = pde.get_problem(name)
    out = problem.n_outputs or "scalar"
    kf, ks = jax.random.split(jax.random.key(seed))
    field = pinn.MLP(problem.dim, out_size=out, width=width, depth=depth, key=kf)
    points = pinn.evaluation_points(problem)
    true = problem.exact_values(points)
    marks = []

    def record(steps_done, f):
        pred = jax.vmap(f)(points).reshape(true.shape)
        marks.append(
            (steps_done, time.perf_counter(), float(pinn.solution_error(pred, true, problem)))
        )

    t0 = time.perf_counter()
    sol = pinn.solve(
        problem,
        field,
        key=ks,
        learn=pde.ZOO_LEARN.get(name, ()),
        loop=train.Loop(chunk_size=chunk, callback=record),
        lbfgs=pinn.LBFGSPhase(max_linesearch=max_linesearch),
        throw=False,
    )
    jax.block_until_ready(sol.field)
    wall = time.perf_counter() - t0
    phases = sol.stats["phases"]
    first = phases["first"]["steps"]
    searched = np.asarray(sol.history["linesearch_steps"][first:])
    loss = np.asarray(sol.history["loss"])
    lbfgs_loss = loss[first:]
    # the step after which the L-BFGS loss never went lower by more than 1e-3 relative
    best = np.minimum.accumulate(lbfgs_loss)
    settled = int(np.argmax(best <= best[-1] * (1 + 1e-3))) if len(best) else 0
    return {
        "problem": name,
        "seed": seed,
        "size": f"{width}x{depth}",
        "rel_l2": sol.error(),
        "wall_s": wall,
        "phase_s": {k: v["wall_s"] for k, v in phases.items() if isinstance(v, dict)},
        "adam_steps": first,
        "lbfgs_steps": int(searched.size),
        "linesearch_evals": int(searched.sum()),
        "at_cap": int(np.sum(searched >= max_linesearch)),
        "first_at_cap": (
            int(np.argmax(searched >= max_linesearch))
            if np.any(searched >= max_linesearch)
            else None
        ),
        "loss_adam_end": float(loss[first - 1]),
        "loss_end": float(loss[-1]),
        "lbfgs_settled_step": settled,
        # per chunk: steps done, seconds since the start, error of the field then
        "marks": [(n, t - t0, e) for n, t, e in marks],
        "lbfgs_loss": lbfgs_loss.tolist(),
        "linesearch_by_chunk": [
            int(searched[i : i + chunk].sum()) for i in range(0, searched.size, chunk)
        ],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="zoo_bump_2d")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=125)
    ap.add_argument(
        "--max-linesearch",
        type=int,
        default=20,
        help="LBFGSPhase(max_linesearch): the zoom line search's most steps (optax's 20)",
    )
    ap.add_argument("--variant", default="")
    args = ap.parse_args(argv)
    rows = []
    for name in args.problems.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows.append(probe(name, seed, args.width, args.depth, args.chunk, args.max_linesearch))
            r = rows[-1]
            print(
                f"{name} seed {seed}: err {r['rel_l2']:.3g}, {r['wall_s']:.0f} s "
                f"{r['phase_s']}, L-BFGS {r['lbfgs_steps']} steps {r['linesearch_evals']} "
                f"evals, {r['at_cap']} at the cap (first {r['first_at_cap']}), settled at "
                f"{r['lbfgs_settled_step']}",
                flush=True,
            )
            write_result(
                "pinn/lbfgs_phase", {"args": vars(args), "rows": rows}, variant=args.variant
            )
    short = [{k: v for k, v in r.items() if k not in ("marks", "lbfgs_loss")} for r in rows]
    print(json.dumps(short, indent=1))


if __name__ == "__main__":
    main()
