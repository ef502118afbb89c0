"""Where a short PINN recipe's wall time goes: every XLA compilation of one `pinn.solve` run,
with the line of jaxsci (or of this benchmark) that triggered it.

    python -m experiments.tools.compile_time                    # Poisson 2D, the DeepXDE recipe
    python -m experiments.tools.compile_time --problem heat_1d

The run is `experiments.peers.deepxde_accuracy.jaxsci_run` (the recipe of the DeepXDE comparison,
Hammersley points, errors recorded every 250 steps; jaxsci's side only, DeepXDE is not needed).
Compilation times come from JAX's own log (`jax_log_compiles`); they are grouped by compiled
function and call site. Writes `experiments/results/tools/compile_time_<problem>.json`.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import re
import time
import traceback

import jax
import numpy as np

from experiments._harness import write_result
from experiments.peers import deepxde_accuracy as bench


class _Compilations(logging.Handler):
    """Collects `(seconds, function, call site)` from JAX's "Finished XLA compilation" lines."""

    pattern = re.compile(r"Finished XLA compilation of (.*) in ([0-9.e-]+) sec")

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        m = self.pattern.search(record.getMessage())
        if m is None:
            return
        ours = [
            f
            for f in traceback.extract_stack()
            if "site-packages" not in f.filename
            and "<frozen" not in f.filename
            and not f.filename.endswith(("logging/__init__.py", "compile_time.py"))
        ]
        site = " <- ".join(f"{os.path.basename(f.filename)}:{f.lineno}" for f in ours[::-1][:3])
        self.records.append((float(m.group(2)), m.group(1), site))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--problem", default="poisson_2d", choices=sorted(bench.RECIPES))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    handler = _Compilations()
    log = logging.getLogger("jax")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    jax.config.update("jax_log_compiles", True)

    recipe = bench.RECIPES[args.problem]
    problem = getattr(bench.pde, recipe.problem)()
    points = bench.eval_points(problem, recipe.grid)
    truth = np.asarray(problem.exact_values(points), np.float64).ravel()
    t0 = time.perf_counter()
    trajectory = bench.jaxsci_run(recipe, args.seed, points, truth, 250, sampler="hammersley")
    wall = time.perf_counter() - t0

    groups = collections.defaultdict(lambda: [0, 0.0])
    for seconds, name, site in handler.records:
        groups[(name, site)][0] += 1
        groups[(name, site)][1] += seconds
    rows = sorted(
        ({"function": k[0], "site": k[1], "count": n, "s": s} for k, (n, s) in groups.items()),
        key=lambda r: -r["s"],
    )
    total = sum(r["s"] for r in rows)
    print(
        f"{args.problem}: wall {wall:.2f} s (the run's own clock: {trajectory[-1][1]:.2f} s), "
        f"final rel. L2 {trajectory[-1][2]:.3e}"
    )
    print(f"XLA compilation: {total:.2f} s in {sum(r['count'] for r in rows)} compilations")
    for r in rows[:15]:
        print(f"  {r['s']:6.3f} s  x{r['count']:<3d} {r['function'][:30]:30s} {r['site']}")
    data = {
        "problem": args.problem,
        "wall_s": wall,
        "compile_s": total,
        "final": trajectory[-1],
        "compilations": rows,
    }
    write_result("tools/compile_time", data, variant=args.problem)


if __name__ == "__main__":
    main()
