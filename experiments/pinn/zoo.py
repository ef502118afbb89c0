"""The zoo (issue 27): every zoo problem solved as a user would, with the solver's defaults,
the true error of the final iterate beside `PINNSolution.error_estimate()` (which needs no
exact solution), and the wall time.

    python -m experiments.pinn.zoo                       # MLP, 3 seeds, every zoo problem
    python -m experiments.pinn.zoo --steps 1000 --variant steps1000
    python -m experiments.pinn.zoo --solvers mlp,pig --problems zoo_bump_2d,zoo_boundary_layer
    python -m experiments.pinn.zoo --lever rad --variant rad   # one lever (see LEVERS)
    python -m experiments.pinn.zoo --lever no_balancing --variant off   # before NTK weights
    python -m experiments.pinn.zoo --table experiments/results/pinn/zoo_full_defaults*.json

The defaults are `pinn.solve`'s and the MLP's of the day: files from before issue 27 changed
them (`zoo_full_*`, `zoo_steps500`, `zoo_eqtime_*`, ...) ran an MLP 64 x 4 with `steps // 4`
L-BFGS steps; `--mlp-width 64 --lbfgs-steps <steps // 4>` runs that call again.

The call per seed is the least a user types, `pinn.solve(problem, pinn.MLP(dim, key=kf),
key=ks, steps=steps)` (`out_size=2` for the two-species system, `learn=` for the inverse
problem), the same with `pinn.PIG(problem.domain, n_gaussians, key=kf)` (`--solvers pig`), or
with `pinn.MLP(problem.domain, key=kf)` (`--solvers mlp_domain`: the MLP given the domain, whose
default embedding is Fourier features per domain side). The seeds run as
one vmapped ensemble (`ensemble=True`: the same per-member computation as separate calls, one
compilation), so `wall_s` is the time of all seeds together, compilation included. Writes
`experiments/results/pinn/zoo[_<variant>].json`, one row per problem and solver, and prints
each row as it finishes.

`--sequential` solves the seeds one after another instead (each a one-member ensemble, in the
same process), as DeepXDE's harness runs them, and records each seed's wall time
(`wall_s_per_seed`): a vmapped ensemble's L-BFGS phase runs its line search until the slowest
member is done, so a problem where one member searches long costs every member that time.
"""

from __future__ import annotations

import argparse
import json
import time

import equinox as eqx
import jax
import numpy as np

from experiments._harness import result_path, write_result
from jaxsci import pde, pinn


def make_field(solver, problem, key, n_gaussians, mlp=None):
    """The solver's field at its defaults; `mlp` (`{"width": .., "depth": ..}`) overrides the
    MLP's size, to measure a candidate default."""
    out = problem.n_outputs or "scalar"
    if solver in ("mlp", "mlp_domain"):
        first = problem.domain if solver == "mlp_domain" else problem.dim
        return pinn.MLP(first, out_size=out, key=key, **(mlp or {}))
    if solver == "pig":
        return pinn.PIG(problem.domain, n_gaussians, out_size=out, key=key)
    raise ValueError(f"unknown solver {solver!r}")


# the levers of issue 27 at their option defaults (experiments/pinn/levers.py measures them).
# "none" is pinn.solve's defaults as they are; "no_balancing" the defaults before NTK weights
# became one (the rows of zoo_full_defaults*.json and zoo_full_bump.json were run with
# `--lever none` then, and are rerun with `--lever no_balancing` now); "magnitude" and "rad"
# are measured on that earlier baseline, as recorded.
_OFF = pinn.Weighting(balancing=None)
LEVERS = {
    "none": {},
    "no_balancing": {"weighting": _OFF},
    "ntk": {"weighting": pinn.Weighting(balancing=pinn.NTKWeighting())},
    "magnitude": {"weighting": pinn.Weighting(balancing=None, magnitude=pinn.MagnitudeWeighting())},
    "rad": {
        "weighting": _OFF,
        "sampling": pinn.Sampling(adaptive=pinn.ResidualDensityResampling()),
    },
}


def run(
    name, solver, seeds, steps, n_gaussians, lever="none", mlp=None, ensemble=True, lbfgs_steps=None
):
    """The seeds as one vmapped ensemble, or (`ensemble=False`, one seed) the plain call a
    user makes: a one-member ensemble costs more than the plain call (a batch axis of 1 on
    every array; 1.4x a step on the bump's Adam phase, MLP 32 x 4, one core)."""
    if not ensemble and len(seeds) != 1:
        raise ValueError("run: `ensemble=False` solves one seed")
    problem = pde.get_problem(name)
    keys = jax.numpy.stack([jax.random.key(s) for s in seeds])
    kf = jax.vmap(lambda k: jax.random.split(k)[0])(keys)
    ks = jax.vmap(lambda k: jax.random.split(k)[1])(keys)
    t = time.perf_counter()
    fields = eqx.filter_vmap(lambda k: make_field(solver, problem, k, n_gaussians, mlp))(kf)
    if not ensemble:
        fields, ks = jax.tree_util.tree_map(lambda a: a[0], (fields, ks))
    kwargs = {} if steps is None else {"steps": steps}
    if lbfgs_steps is not None:
        kwargs["lbfgs"] = pinn.LBFGSPhase(steps=lbfgs_steps)
    sol = pinn.solve(
        problem,
        fields,
        key=ks,
        ensemble=ensemble,
        learn=pde.ZOO_LEARN.get(name, ()),
        throw=False,
        **kwargs,
        **LEVERS[lever],
    )
    jax.block_until_ready(sol.field)
    wall = time.perf_counter() - t
    errors = np.atleast_1d(np.asarray(sol.error(), float))
    t = time.perf_counter()
    details = sol.error_estimate(details=True)
    details = details if ensemble else [details]
    estimate_s = (time.perf_counter() - t) / len(seeds)
    estimates = np.asarray([d["estimate"] for d in details], float)
    row = {
        "problem": name,
        "solver": solver,
        "seeds": list(seeds),
        "result": sol.result.name,
        "rel_l2": errors.tolist(),
        "estimate": estimates.tolist(),
        "unexplained": [d["unexplained"] for d in details],
        # the estimate's own convergence in the Chebyshev degree (`refine`, on by default)
        "estimate_degree": [d["degree"] for d in details],
        "resolved": [d.get("resolved") for d in details],
        "ratio": (estimates / errors).tolist(),
        "wall_s": wall,
        "estimate_s_per_seed": estimate_s,
        "steps": sol.stats["steps"],
        # each phase's training time and compilation (Adam, then L-BFGS)
        "phase_s": {
            k: {"wall_s": v["wall_s"], "compile_s": v["compile_s"]}
            for k, v in sol.stats["phases"].items()
            if isinstance(v, dict)
        },
    }
    for n in pde.ZOO_LEARN.get(name, ()):
        value = np.asarray(sol.params[n])
        row[n] = (value if ensemble else value[None]).tolist()
    return row


def run_sequential(
    name, solver, seeds, steps, n_gaussians, lever="none", mlp=None, lbfgs_steps=None
):
    """`run` seed by seed: the rows' per-seed lists joined, the wall times kept per seed."""
    rows = [
        run(name, solver, [s], steps, n_gaussians, lever, mlp, False, lbfgs_steps) for s in seeds
    ]
    out = dict(rows[0], seeds=list(seeds))
    for k in ("rel_l2", "estimate", "unexplained", "estimate_degree", "resolved", "ratio"):
        out[k] = [v for r in rows for v in r[k]]
    out["wall_s_per_seed"] = [r["wall_s"] for r in rows]
    out["phase_s"] = [r["phase_s"] for r in rows]
    out["wall_s"] = sum(out["wall_s_per_seed"])
    out["estimate_s_per_seed"] = float(np.mean([r["estimate_s_per_seed"] for r in rows]))
    out["result"] = ",".join(r["result"] for r in rows)
    for n in pde.ZOO_LEARN.get(name, ()):
        out[n] = [v for r in rows for v in r[n]]
    return out


def table(paths, target=1e-2):
    """The markdown table of the rows in `paths` (result files of this script), one row per
    problem and solver (a later file's row replaces an earlier one's), and the summary the
    issue asks for: fits at or below `target`, and how the estimate tracks the truth."""
    rows = {}
    for path in paths:
        for r in json.loads(open(path).read())["rows"]:
            rows[(r["problem"], r["solver"])] = r | {"file": path.split("/")[-1]}
    lines = [
        "| problem | solver | rel. L2 per seed | seeds <= 1e-2 | estimate / true "
        "| wall s (3 seeds) | file |",
        "|---|---|---|---|---|---|---|",
    ]
    fits = ok = within10 = under3_failed = failed = 0
    for (name, solver), r in sorted(rows.items()):
        err, est = np.asarray(r["rel_l2"]), np.asarray(r["estimate"])
        ratio = est / err
        fits += len(err)
        ok += int(np.sum(err <= target))
        within10 += int(np.sum((ratio >= 0.1) & (ratio <= 10)))
        failed += int(np.sum(err > target))
        under3_failed += int(np.sum((err > target) & (ratio < 1 / 3)))
        lines.append(
            f"| {name} | {solver} | {' / '.join(f'{e:.2e}' for e in err)} "
            f"| {int(np.sum(err <= target))}/{len(err)} | {ratio.min():.2f}-{ratio.max():.2f} "
            f"| {r['wall_s']:.0f} | {r['file']} |"
        )
    lines.append("")
    lines.append(
        f"{len(rows)} rows, {fits} fits: {ok} at or below {target:g}; rows with every seed "
        f"there: {sum(all(np.asarray(r['rel_l2']) <= target) for r in rows.values())}; the "
        f"estimate within 10x of the truth on {within10}/{fits}, below a third of it on "
        f"{under3_failed} of the {failed} fits above {target:g}."
    )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=None, help="Adam steps (default: solve's)")
    ap.add_argument(
        "--lbfgs-steps", type=int, default=None, help="L-BFGS steps (default: solve's rule)"
    )
    ap.add_argument("--solvers", default="mlp")
    ap.add_argument("--problems", default=",".join(sorted(pde.ZOO)))
    ap.add_argument("--n-gaussians", type=int, default=256)
    ap.add_argument("--variant", default="")
    ap.add_argument("--lever", default="none", choices=sorted(LEVERS))
    ap.add_argument(
        "--resume",
        action="store_true",
        help="keep the rows already in the result file (same variant) and run the others",
    )
    ap.add_argument("--table", nargs="+", metavar="FILE", help="print the table of FILEs, run none")
    ap.add_argument("--sequential", action="store_true", help="seeds one after another")
    ap.add_argument("--mlp-width", type=int, default=None, help="MLP width (default: MLP's)")
    ap.add_argument("--mlp-depth", type=int, default=None, help="MLP depth (default: MLP's)")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    path = result_path("pinn/zoo", args.variant)
    if args.resume and path.exists():
        rows = json.loads(path.read_text())["rows"]
    done = {(r["problem"], r["solver"]) for r in rows}
    for name in args.problems.split(","):
        for solver in args.solvers.split(","):
            if solver == "pig" and pde.get_problem(name).n_outputs or (name, solver) in done:
                continue
            solve = run_sequential if args.sequential else run
            mlp = {
                k: v
                for k, v in (("width", args.mlp_width), ("depth", args.mlp_depth))
                if v is not None
            }
            row = solve(
                name,
                solver,
                seeds,
                args.steps,
                args.n_gaussians,
                args.lever,
                mlp,
                lbfgs_steps=args.lbfgs_steps,
            )
            if solver.startswith("mlp"):
                row["mlp"] = mlp
            rows.append(row)
            print(json.dumps(row), flush=True)
            write_result("pinn/zoo", {"args": vars(args), "rows": rows}, variant=args.variant)


if __name__ == "__main__":
    main()
