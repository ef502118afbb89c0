"""Levers on the field a user passes, at the short budget (issue 27: the rows that fail).

For each problem and seed, the short-budget `pinn.solve` call of `experiments.pinn.lbfgs_phase`
(MLP 32 x 4, 2000 Adam + 1250 L-BFGS steps, every other setting default, `learn=` for the
inverse problem; `--width 64 --steps 5000` is the full default budget) with one change to
the field or the weighting:

- `ff<scale>`: `pinn.MLP(..., embedding=pinn.FourierFeatures(dim, 64, scale, key=...))`, the
  frequencies drawn from `fold_in(field key, 7)`; `ffd`: scale `1 / sqrt(dim)` (the
  default); `ffx<scale>` with `include_input=True` (the point beside its features),
  `ff<scale>n<k>` with `k` features instead of 64;
- `periodic`: `embedding=pinn.PeriodicEmbedding(dim, axes=[0], periods=[2 pi])` (the
  convection rows' period);
- `norm`: the field evaluated at the point mapped affinely onto `[-1, 1]^d` from the domain;
  `unit`: onto `[0, 1]^d` (with `ffd`, `ffd_unit`: the features' scale per domain side, the
  same field as `ffd` on a unit box); `side`: the features' own `lengths=` (the domain's
  sides; `ffd_side` is `ffd_unit` up to a phase of each feature where the box does not start
  at 0);
- `domain`: `pinn.MLP(problem.domain, ...)`, the MLP given the domain: its default
  embedding, features per side at scale `1 / sqrt(dim)` from `fold_in(field key, 7)`, so the
  same field as `ffd_side`, built by the library;
- `causal`: `Weighting(causal=pinn.CausalWeighting())`; `nobal`: `Weighting(balancing=None)`;
- `lr<x>`: Adam's learning rate `x` (`pinn.Adam(learning_rate=x)`; default 1e-3): a user's
  step too large, to see what the estimate says of a fit that blew up;
- `hardic`: the initial value imposed exactly (`pinn.Constrained(field,
  pinn.initial_transform(problem))`, trained without its `InitialValue` condition; the
  estimate on the whole problem);
- `cont<k>`: `pinn.continuation` along the row's parameter (`PATHS`: `beta` from 10 for
  convection) through `k` evenly spaced values below the row's own (`cont2` on
  `zoo_convection_30`: 10, 20, then 30); each of the `k + 1` stages gets `1 / (k + 1)` of the
  Adam and of the L-BFGS steps, so the total is the plain call's.

Variants combine by underscore (`periodic_nobal`). The error is recorded after every chunk
(500 steps; the step count restarts at each stage of a `cont` path), with the seconds since
the call (compilation included); at the end `PINNSolution.error_estimate()` (`estimate`, not
in the seconds; rows run before it was recorded have none).

    python -m experiments.pinn.field_levers --problems zoo_two_tone_1d --seeds 0,1,2 \\
        --variants ff1 --name two_tone

Writes `experiments/results/pinn/field_levers[_<name>].json`. `--table FILE...` prints, a
problem and variant a line, each seed's final error, its error at the last mark within 120 s
of the call (compilation included) and its seconds; with `--plain FILE...` (the plain calls'
`lbfgs_phase` files, the same seeds) the same three beside them, and the count of rows at or
below 1e-2, at the end and by 120 s, seed by seed; `--rename OLD=NEW` counts variant OLD's
rows as NEW's (the seed-0 2D rows at `ff0.707` as `ffd`); `--plain-zoo FILE...` takes the
plain calls from `experiments.pinn.zoo` result files instead (the full default budget: each
seed's final error, no marks, the ensemble's seconds per seed). `--table FILE... --peer
FILE...` prints instead, for each variant, `lbfgs_phase`'s equal-wall-time table against
DeepXDE's zoo rows (`experiments/results/peers/deepxde_zoo*.json`): each seed's error at the
last mark within the fastest DeepXDE seed's seconds on that row.

    python -m experiments.pinn.field_levers --table \
        experiments/results/pinn/field_levers_ffd3*.json \
        experiments/results/pinn/field_levers_ffd_2d*.json --rename ff0.707=ffd \
        --plain $(ls experiments/results/pinn/lbfgs_phase_short_[a-z]*.json | grep -v 2core)
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from experiments._harness import write_result
from experiments.pinn.lbfgs_phase import _at, first_cap_rows, peer_table
from jaxsci import pde, pinn, train
from jaxsci.pinn._estimate import correction


class _Normalised(pinn.AbstractField):
    """`x -> field(2 (x - lower) / (upper - lower) - 1)`, or with `unit`, `x -> field((x -
    lower) / (upper - lower))`."""

    field: pinn.AbstractField
    lower: tuple[float, ...] = eqx.field(static=True)
    upper: tuple[float, ...] = eqx.field(static=True)
    unit: bool = eqx.field(static=True, default=False)

    def __call__(self, x):
        lo, hi = jnp.asarray(self.lower, x.dtype), jnp.asarray(self.upper, x.dtype)
        z = (x - lo) / (hi - lo)
        return self.field(z if self.unit else 2 * z - 1)


# the parameter a curriculum follows, and where its path starts
PATHS = {"zoo_convection_30": ("beta", 10.0), "zoo_convection_50": ("beta", 10.0)}


def run(name, variant, seed, width=32, depth=4, steps=2000, lbfgs_steps=1250, estimate=True):
    problem = pde.get_problem(name)
    kf, ks = jax.random.split(jax.random.key(seed))
    embedding = None
    if "periodic" in variant:
        embedding = pinn.PeriodicEmbedding(problem.dim, axes=[0], periods=[2 * jnp.pi])
    if "ff" in variant:
        include, scale, n = re.search(r"ff(x?)([0-9.]+|d)(?:n(\d+))?", variant).groups()
        embedding = pinn.FourierFeatures(
            problem.dim,
            int(n or 64),
            scale=problem.dim**-0.5 if scale == "d" else float(scale),
            include_input=bool(include),
            lengths=np.subtract(problem.domain.upper, problem.domain.lower)
            if "side" in variant
            else None,
            key=jax.random.fold_in(kf, 7),
        )
    out = problem.n_outputs or "scalar"
    field = pinn.MLP(
        problem.domain if "domain" in variant else problem.dim,
        out_size=out,
        width=width,
        depth=depth,
        key=kf,
        embedding=embedding,
    )
    trained = problem
    if "hardic" in variant:
        field = pinn.Constrained(field, pinn.initial_transform(problem))
        kept = tuple(c for c in problem.conditions if not isinstance(c, pde.InitialValue))
        trained = eqx.tree_at(lambda p: p.conditions, problem, kept)
    if "norm" in variant or "unit" in variant:
        box = tuple(problem.domain.lower), tuple(problem.domain.upper)
        field = _Normalised(field, *box, unit="unit" in variant)
    kw = {}
    if "causal" in variant:
        kw["weighting"] = pinn.Weighting(causal=pinn.CausalWeighting())
    if "nobal" in variant:
        kw["weighting"] = pinn.Weighting(balancing=None)
    if lr := re.search(r"lr([0-9.e-]+)", variant):
        kw["optimizer"] = pinn.Adam(learning_rate=float(lr.group(1)))
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
        trained,
        field,
        key=ks,
        steps=steps,
        lbfgs=pinn.LBFGSPhase(steps=lbfgs_steps),
        learn=pde.ZOO_LEARN.get(name, ()),
        throw=False,
        loop=train.Loop(callback=record),
        **kw,
    )
    seconds = time.perf_counter() - t0
    weights = sol.stats.get("weights")
    return {
        "name": name,
        "variant": variant,
        "seed": seed,
        "err": float(sol.error()),
        "s": seconds,
        "estimate": float(correction(problem, sol.field, sol.params)["estimate"])
        if estimate
        else None,
        "result": str(sol.result),
        "w": None if weights is None else [float(w) for w in jnp.ravel(weights)],
        "stages": [
            {"value": st["value"], "steps": st["steps"], "wall_s": st["wall_s"]}
            for st in sol.stats.get("stages", [])
        ],
        "marks": marks,
    }


def _ratios(rows):
    """Each run's `error_estimate()` over its true error, `-` where none was recorded."""
    return " / ".join(
        "-" if r.get("estimate") is None else f"{r['estimate'] / r['err']:.2f}" for r in rows
    )


def zoo_rows(files):
    """The MLP rows of `experiments.pinn.zoo` result files as `first_cap_rows` gives its own:
    `{problem: {seed: {"rel_l2", "marks", "wall_s"}}}`, a later file's row replacing an earlier
    one's. A zoo row records no marks, and its seeds ran as one ensemble: `wall_s` is the
    ensemble's time over its seeds."""
    rows = {}
    for f in files:
        for r in json.loads(Path(f).read_text())["rows"]:
            if r["solver"] != "mlp":
                continue
            per_seed = r["wall_s"] / len(r["seeds"])
            rows[r["problem"]] = {
                s: {"rel_l2": e, "marks": [], "wall_s": per_seed}
                for s, e in zip(r["seeds"], r["rel_l2"], strict=True)
            }
    return rows


def _variant_rows(files, rename=()):
    """`{(problem, variant): {seed: row}}` of field_levers result files, a later file's row
    replacing an earlier one's; `rename`: `"OLD=NEW"` strings, variant OLD counted as NEW."""
    alias = dict(r.split("=", 1) for r in rename)
    rows = {}
    for f in files:
        for r in json.loads(Path(f).read_text())["rows"]:
            variant = alias.get(r["variant"], r["variant"])
            rows.setdefault((r["name"], variant), {})[r["seed"]] = r
    return rows


def peer(files, peer_files, rename=()):
    """For each variant in `files`, `lbfgs_phase.peer_table`: its error per seed at DeepXDE's
    fastest seed's seconds on the row (the peer's zoo files). Returns `{variant: (rows at or
    below the peer, rows compared)}`."""
    by_variant = {}
    for (name, variant), by_seed in _variant_rows(files, rename).items():
        by_variant.setdefault(variant, {})[name] = {
            s: {"rel_l2": r["err"], "marks": r["marks"], "wall_s": r["s"]}
            for s, r in by_seed.items()
        }
    out = {}
    for variant, mine in sorted(by_variant.items()):
        print(f"\n{variant}:\n")
        out[variant] = peer_table(mine, peer_files)
    return out


def table(files, plain_files=(), rename=(), seconds=120.0, target=1e-2, plain_zoo=()):
    """The table of `--table` (see the module's docstring); returns the counts it prints.
    `rename`: `"OLD=NEW"` strings, rows of variant OLD counted as NEW; `plain_zoo`: zoo result
    files, the plain call at the full default budget (`zoo_rows`)."""
    rows = _variant_rows(files, rename)
    plain = first_cap_rows(plain_files)
    for name, by_seed in zoo_rows(plain_zoo).items():
        plain.setdefault(name, {}).update(by_seed)

    def cell(values, digits=2):
        return " / ".join("-" if v is None else f"{v:.{digits}e}" for v in values)

    estimates = any(r.get("estimate") is not None for by in rows.values() for r in by.values())
    print(
        f"| problem | variant | rel. L2 per seed | at {seconds:.0f} s | s | "
        f"plain rel. L2 | plain at {seconds:.0f} s | plain s |"
        + (" estimate / true |" if estimates else "")
    )
    print("|---|---|---|---|---|---|---|---|" + ("---|" if estimates else ""))
    counts = {}
    for (name, variant), by_seed in sorted(rows.items()):
        seeds = sorted(by_seed)
        mine = [by_seed[s] for s in seeds]
        base = [plain.get(name, {}).get(s) for s in seeds]
        ends = [r["err"] for r in mine]
        early = [_at(r["marks"], seconds=seconds) for r in mine]
        p_ends = [None if b is None else b["rel_l2"] for b in base]
        p_early = [None if b is None else _at(b["marks"], seconds=seconds) for b in base]
        for s, e, a, pe, pa in zip(seeds, ends, early, p_ends, p_early, strict=True):
            c = counts.setdefault((variant, s), [0, 0, 0, 0, 0])
            c[0] += 1
            c[1] += e <= target
            c[2] += a is not None and a <= target
            c[3] += pe is not None and pe <= target
            c[4] += pa is not None and pa <= target
        print(
            f"| {name} | {variant} | {cell(ends)} | {cell(early)} | "
            f"{' / '.join(str(round(r['s'])) for r in mine)} | {cell(p_ends)} | "
            f"{cell(p_early)} | "
            + " / ".join("-" if b is None else f"{b['wall_s']:.0f}" for b in base)
            + " |"
            + (f" {_ratios(mine)} |" if estimates else "")
        )
    print()
    for (variant, s), (n, end, early, p_end, p_early) in sorted(counts.items()):
        print(
            f"{variant}, seed {s}: {end} of {n} rows at or below {target:g} at the end, "
            f"{early} by {seconds:.0f} s (plain: {p_end}, {p_early})"
        )
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="zoo_two_tone_1d")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--variants", default="ff1")
    ap.add_argument("--width", type=int, default=32, help="the MLP's width (depth 4)")
    ap.add_argument("--steps", type=int, default=2000, help="Adam steps")
    ap.add_argument("--lbfgs-steps", type=int, default=1250)
    ap.add_argument("--name", default="")
    ap.add_argument("--table", nargs="+", metavar="FILE", help="print the table of FILEs, run none")
    ap.add_argument("--plain", nargs="+", default=(), metavar="FILE", help="with --table")
    ap.add_argument(
        "--plain-zoo", nargs="+", default=(), metavar="FILE", help="with --table: zoo files"
    )
    ap.add_argument(
        "--rename", nargs="+", default=(), metavar="OLD=NEW", help="with --table: count OLD as NEW"
    )
    ap.add_argument(
        "--peer",
        nargs="+",
        default=(),
        metavar="FILE",
        help="with --table: instead, each variant at DeepXDE's wall time (its zoo files)",
    )
    args = ap.parse_args(argv)
    if args.table and args.peer:
        peer(args.table, args.peer, args.rename)
        return
    if args.table:
        table(args.table, args.plain, args.rename, plain_zoo=args.plain_zoo)
        return
    rows = []
    for name in args.problems.split(","):
        for variant in args.variants.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                rows.append(
                    run(
                        name,
                        variant,
                        seed,
                        width=args.width,
                        steps=args.steps,
                        lbfgs_steps=args.lbfgs_steps,
                    )
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
