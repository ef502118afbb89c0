"""The PIG training step on the (2+1)D problems: residual form and dense-sum blocks.

    python -m experiments.pig.step_variants                    # both problems, every variant
    python -m experiments.pig.step_variants --problems flow_mixing --gaussians 500 --points 2048

Per variant, in a fresh process (so that `maxrss` is the variant's own): a dense PIG with 4
channels of `--gaussians` Gaussians trained by `pinn.solve` (Adam, uniform points redrawn every
100 steps, `--points` interior and `--condition-points` per condition) for `2 x --steps`
steps in two chunks; reported: steady steps per second (second chunk), the first chunk's time
(compilation included), user and system CPU seconds and the peak resident memory.

Variants: the residual as the catalogue writes it ("combined": flow mixing as one directional
derivative along `(a, b, 1)`, nonlinear diffusion as `u_t - alpha/2 Lap(u^2)`) or term by term
("per-axis": `u_t + a u_x + b u_y` and `u_t - alpha (u_x^2 + u u_xx + u_y^2 + u u_yy)`, one
forward-mode pass per derivative, as before the change), and the dense sum in one block or in
blocks of `--block` Gaussians (`PIG(neighbours=Neighbours(block=...))`). Writes
`experiments/results/pig/step_variants[_VARIANT].json`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from experiments._harness import REPOSITORY, write_result

SCALES = {"flow_mixing": 0.05, "nonlinear_diffusion": 0.1}  # the authors' sigma per problem


def _per_axis(problem):
    """The problem with its residual written term by term (the pre-change form)."""
    import equinox as eqx

    from jaxsci import pde
    from jaxsci.pde._flow_mixing import flow_mixing_angular_velocity

    if problem.name == "flow_mixing":

        def residual(u, x, p):
            omega = flow_mixing_angular_velocity(x[0], x[1], p["v_max"])
            return (
                pde.time_derivative(u, x)
                - omega * x[1] * pde.partial(u, x, 0)
                + omega * x[0] * pde.partial(u, x, 1)
            )

    else:

        def residual(u, x, p):
            v = u(x)
            spatial = sum(pde.partial(u, x, a) ** 2 + v * pde.partial(u, x, a, 2) for a in (0, 1))
            return pde.time_derivative(u, x) - p["diffusivity"] * spatial

    return eqx.tree_at(lambda q: q.residual, problem, residual)


def one(args) -> dict:
    import jax.random as jr
    import optax

    from jaxsci import pde, pinn, train

    problem = pde.get_problem(args.problems)
    if args.form == "per-axis":
        problem = _per_axis(problem)
    field = pinn.PIG(
        problem.domain,
        args.gaussians,
        scale=SCALES[args.problems],
        neighbours=pinn.Neighbours(block=args.block or None),
        key=jr.key(0),
    )
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    sol = pinn.solve(
        problem,
        field,
        optax.adam(1e-3),
        key=jr.key(1),
        steps=2 * args.steps,
        sampling=pinn.Sampling(
            n_interior=args.points,
            n_boundary=args.condition_points,
            method="uniform",
            resample_every=100,
            resample_boundary=True,
        ),
        lbfgs=pinn.LBFGSPhase(steps=0),
        loop=train.Loop(chunk_size=args.steps),
    )
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "problem": args.problems,
        "form": args.form,
        "block": args.block,
        "gaussians_per_channel": args.gaussians,
        "points": args.points,
        "condition_points": args.condition_points,
        "steps_per_s": sol.stats["steps_per_s"],
        "first_chunk_s": sol.stats["compile_s"],
        "wall_s": wall,
        "user_s": r1.ru_utime - r0.ru_utime,
        "system_s": r1.ru_stime - r0.ru_stime,
        "maxrss_gb": r1.ru_maxrss / 1e6,
        "loss_end": float(sol.history["loss"][-1]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", default="flow_mixing,nonlinear_diffusion")
    ap.add_argument("--gaussians", type=int, default=1000, help="per channel (4 channels)")
    ap.add_argument("--points", type=int, default=4096)
    ap.add_argument("--condition-points", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=10, help="steps per chunk (2 chunks)")
    ap.add_argument("--block", type=int, default=128)
    ap.add_argument("--form", default=None, help="one variant only (internal)")
    ap.add_argument("--variant", default="", help="result file suffix")
    args = ap.parse_args()
    if args.form is not None:
        print(json.dumps(one(args)))
        return
    rows = []
    for problem in args.problems.split(","):
        for form, block in [("per-axis", 0), ("combined", 0), ("combined", args.block)]:
            cmd = [sys.executable, "-m", "experiments.pig.step_variants"]
            cmd += ["--problems", problem, "--form", form]
            cmd += ["--block", str(block), "--gaussians", str(args.gaussians)]
            cmd += ["--points", str(args.points), "--steps", str(args.steps)]
            cmd += ["--condition-points", str(args.condition_points)]
            out = subprocess.run(
                cmd, capture_output=True, text=True, check=True, cwd=REPOSITORY
            ).stdout
            row = json.loads(out.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{problem:20s} {form:9s} block {block or '-':>4}: {row['steps_per_s']:.2f} "
                f"steps/s, first chunk {row['first_chunk_s']:.1f} s, user {row['user_s']:.1f} "
                f"s, system {row['system_s']:.1f} s, maxrss {row['maxrss_gb']:.2f} GB",
                flush=True,
            )
    write_result("pig/step_variants", {"args": vars(args), "rows": rows}, variant=args.variant)


if __name__ == "__main__":
    main()
