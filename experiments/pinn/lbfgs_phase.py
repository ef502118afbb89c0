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
linesearch=optax.scale_by_zoom_linesearch(N, initial_guess_strategy="one"))`). Several caps,
`--max-linesearch 10,20`: the first runs the whole solve with a checkpoint; each further cap
resumes it (the Adam phase is done, so the same Adam iterate to the bit) and runs its own
L-BFGS phase, and only where the first cap's run had a step at its cap (elsewhere a larger cap
takes the same path). Its `wall_s` and marks add the first run's seconds to the end of Adam.
`--steps S --lbfgs-steps L`: the budget (default 5000 + 1250, `solve`'s before issue 27 made it
2000 + 1250, as every command recorded here ran it).

    python -m experiments.pinn.lbfgs_phase --problems zoo_heat --seeds 0,1,2 --width 32 \
        --steps 2000 --lbfgs-steps 1250 --max-linesearch 10,20 --variant V
    python -m experiments.pinn.lbfgs_phase --table experiments/results/pinn/lbfgs_phase_V*.json

`--table FILE...` prints one line a problem: each seed's final error, the error at the last
chunk within 120 s of the solve's start (what a user who stopped there would have), the
solve's seconds, the error after Adam, the L-BFGS evaluations, and a second cap's final error
("same": the first cap was never reached, so the second takes the same path; "not run": one
cap given). With `--peer FILE...` (DeepXDE's zoo rows, `experiments/results/peers/
deepxde_zoo_full*.json`) it prints instead, a problem a line, jaxsci's error at the peer's wall
time: at the last mark within the peer's fastest seed's seconds.

Writes `experiments/results/pinn/lbfgs_phase[_<variant>].json`.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from experiments._harness import write_result
from jaxsci import pde, pinn, train


def probe(
    name,
    seed,
    width,
    depth,
    chunk,
    max_linesearch=20,
    steps=5000,
    lbfgs_steps=1250,
    checkpoint=None,
):
    """One solve; with a `checkpoint` path, a first phase already there is resumed (a second
    cap's L-BFGS phase then starts from the same Adam iterate, to the bit)."""
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
        steps=steps,
        learn=pde.ZOO_LEARN.get(name, ()),
        loop=train.Loop(
            chunk_size=chunk, callback=record, checkpoint=checkpoint, resume=checkpoint is not None
        ),
        lbfgs=pinn.LBFGSPhase(steps=lbfgs_steps, max_linesearch=max_linesearch),
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
        "max_linesearch": max_linesearch,
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


def _at(marks, *, step=None, seconds=None):
    """The error at the last mark at or before `step` (or before `seconds` into the run)."""
    seen = [
        e for n, t, e in marks if (step is None or n <= step) and (seconds is None or t <= seconds)
    ]
    return seen[-1] if seen else None


def table(files, seconds=120.0):
    """One line per problem: each seed's final error at the first cap, the error at the last
    mark within `seconds` of the solve's start (compilation included), the whole solve's
    seconds, the error at the end of Adam, the L-BFGS evaluations (steps at the cap) and,
    where a second cap ran, its final error (evaluations)."""
    rows = []
    for f in files:
        data = json.loads(Path(f).read_text())
        ran = str(data["args"].get("max_linesearch", 20)).split(",")
        rows += [{"max_linesearch": int(ran[0]), "caps_run": len(ran), **r} for r in data["rows"]]
    caps = sorted({r["max_linesearch"] for r in rows})
    second_cap = f"cap {caps[-1]}" if len(caps) > 1 else "a second cap"

    def fmt(e):
        return "-" if e is None else f"{e:.2e}"

    def cells(r):
        return (
            fmt(r["rel_l2"]),
            fmt(_at(r["marks"], seconds=seconds)),
            f"{r['wall_s']:.0f}",
            fmt(_at(r["marks"], step=r["adam_steps"])),
            f"{r['linesearch_evals']} ({r['at_cap']})",
        )

    print(
        f"| problem | rel. L2 per seed, cap {caps[0]} | at {seconds:.0f} s | s a seed | "
        f"after Adam | evaluations (at the cap) | {second_cap}, where cap {caps[0]} was hit |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in sorted({r["problem"] for r in rows}):
        mine = [r for r in rows if r["problem"] == name]
        first = sorted((r for r in mine if r["max_linesearch"] == caps[0]), key=lambda r: r["seed"])
        other = {r["seed"]: r for r in mine if r["max_linesearch"] != caps[0]}
        columns = zip(*(cells(r) for r in first), strict=True)
        second = (
            f"{fmt(other[r['seed']]['rel_l2'])} ({other[r['seed']]['linesearch_evals']})"
            if r["seed"] in other
            else ("same" if r["caps_run"] > 1 else "not run")
            for r in first
        )
        print(
            f"| {name} | "
            + " | ".join(" / ".join(c) for c in columns)
            + " | "
            + " / ".join(second)
            + " |"
        )


def first_cap_rows(files) -> dict:
    """`{problem: {seed: row}}` of the rows at each file's first line-search cap."""
    rows = {}
    for f in files:
        data = json.loads(Path(f).read_text())
        first = int(str(data["args"].get("max_linesearch", 20)).split(",")[0])
        for r in data["rows"]:
            if r["max_linesearch"] == first:
                rows.setdefault(r["problem"], {})[r["seed"]] = r
    return rows


def peer_table(mine, peer_files):
    """One line per problem in both: the peer's error and seconds per seed (DeepXDE's usual
    recipe, `experiments/peers/deepxde_zoo.py`), and jaxsci's error per seed at the last mark
    within the peer's fastest seed's seconds (compilation included: what a user who stopped
    jaxsci there would have), with the ratio of the means (above 1: jaxsci lower). `mine`:
    jaxsci's runs as `first_cap_rows` gives them. Returns `(rows at or below the peer, rows
    compared)`."""
    peer = {}
    for f in peer_files:
        for r in json.loads(Path(f).read_text())["rows"]:
            peer[r["problem"]] = r
    print(
        "| problem | peer rel. L2 per seed | peer s / seed | jaxsci at the peer's fastest "
        "seed's seconds, per seed | jaxsci final (s / seed) | mean peer / jaxsci at equal time |"
    )
    print("|---|---|---|---|---|---|")
    lower = 0
    for name in sorted(set(peer) & set(mine)):
        p, seeds = peer[name], [mine[name][s] for s in sorted(mine[name])]
        cut = min(p["wall_s"])
        at = [_at(r["marks"], seconds=cut) for r in seeds]
        ratio = float(np.mean(p["rel_l2"]) / np.mean(at)) if None not in at else float("nan")
        lower += ratio >= 1
        print(
            f"| {name} | {' / '.join(f'{e:.2e}' for e in p['rel_l2'])} | "
            f"{min(p['wall_s']):.0f}-{max(p['wall_s']):.0f} | "
            + " / ".join("-" if e is None else f"{e:.2e}" for e in at)
            + " | "
            + " / ".join(f"{r['rel_l2']:.2e}" for r in seeds)
            + f" ({min(r['wall_s'] for r in seeds):.0f}-{max(r['wall_s'] for r in seeds):.0f})"
            + f" | {ratio:.2f} |"
        )
    print(
        f"\njaxsci at or below the peer on the mean, at equal time: {lower} of "
        f"{len(set(peer) & set(mine))} rows"
    )
    return lower, len(set(peer) & set(mine))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="zoo_bump_2d")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=125)
    ap.add_argument("--steps", type=int, default=5000, help="Adam steps")
    ap.add_argument("--lbfgs-steps", default="1250", help="LBFGSPhase(steps): an int or auto")
    ap.add_argument(
        "--max-linesearch",
        default="20",
        help="LBFGSPhase(max_linesearch): the zoom line search's most steps (optax's 20); "
        "several, comma-separated: each after the first runs its L-BFGS phase from the first "
        "run's Adam iterate (resumed from its checkpoint), and only where the first run had a "
        "step at its cap (elsewhere a larger cap takes the same steps)",
    )
    ap.add_argument("--variant", default="")
    ap.add_argument("--table", nargs="+", metavar="FILE", help="print the table of FILEs, run none")
    ap.add_argument(
        "--peer",
        nargs="+",
        metavar="FILE",
        help="with --table: compare with the peer's rows in FILEs at the peer's wall time",
    )
    args = ap.parse_args(argv)
    if args.table:
        return peer_table(first_cap_rows(args.table), args.peer) if args.peer else table(args.table)
    caps = [int(c) for c in args.max_linesearch.split(",")]
    lbfgs_steps = args.lbfgs_steps if args.lbfgs_steps == "auto" else int(args.lbfgs_steps)
    rows = []
    for name in args.problems.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                ckpt = os.path.join(tmp, "run.eqx")
                for i, cap in enumerate(caps):
                    if i and not rows[-i]["at_cap"]:
                        break  # no step reached the first cap: a larger one takes the same
                    if i:
                        os.remove(ckpt.replace(".eqx", "_lbfgs.eqx"))
                    r = probe(
                        name,
                        seed,
                        args.width,
                        args.depth,
                        args.chunk,
                        cap,
                        args.steps,
                        lbfgs_steps,
                        ckpt if len(caps) > 1 else None,
                    )
                    if i:  # Adam was the first run's: its seconds to the Adam iterate added
                        adam_end = max(t for n, t, _ in rows[-i]["marks"] if n <= args.steps)
                        r["branched_from_cap"] = caps[0]
                        r["marks"] = [m for m in rows[-i]["marks"] if m[0] <= args.steps] + [
                            (n, adam_end + t, e) for n, t, e in r["marks"]
                        ]
                        r["wall_s"] += adam_end
                    rows.append(r)
                    print(
                        f"{name} seed {seed} cap {cap}: err {r['rel_l2']:.3g}, "
                        f"{r['wall_s']:.0f} s {r['phase_s']}, L-BFGS {r['lbfgs_steps']} steps "
                        f"{r['linesearch_evals']} evals, {r['at_cap']} at the cap (first "
                        f"{r['first_at_cap']}), settled at {r['lbfgs_settled_step']}",
                        flush=True,
                    )
                    write_result(
                        "pinn/lbfgs_phase",
                        {"args": vars(args), "rows": rows},
                        variant=args.variant,
                    )
    short = [{k: v for k, v in r.items() if k not in ("marks", "lbfgs_loss")} for r in rows]
    print(json.dumps(short, indent=1))


if __name__ == "__main__":
    main()
