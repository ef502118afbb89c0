"""Agreement figures of the `jaxsci.pde` reference solvers.

Prints a table and writes `experiments/results/tools/reference_check.json` (the write-up with
every figure is `reference_check.md` beside it).

    python -m experiments.tools.reference_check   # ~30 s on 2 cores

Published data is read from `$JAXSCI_REFERENCE_DIR` or `../shared/reference` relative to the
repository; rows that need it are skipped when it is absent.
"""

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import scipy.io
import scipy.linalg

from experiments._harness import REPOSITORY, write_result
from jaxsci.pde._allen_cahn import allen_cahn_solution
from jaxsci.pde._burgers import burgers_solution, burgers_steepest_slope
from jaxsci.pde._schrodinger import barrier_well_levels, finite_well_levels, infinite_well_levels

REFERENCE = Path(os.environ.get("JAXSCI_REFERENCE_DIR", REPOSITORY.parent / "shared" / "reference"))


def relative_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def fd_levels(lo, hi, n_interior, k, inside, value, outside):
    # 3-point FD with cell-averaged potential, jumps on nodes (O(h^2)); see the tests.
    h = (hi - lo) / (n_interior + 1)
    x = lo + h * np.arange(1, n_interior + 1)
    overlap = np.clip(np.minimum(x + h / 2, inside[1]) - np.maximum(x - h / 2, inside[0]), 0, None)
    potential = outside + (value - outside) * overlap / h
    return scipy.linalg.eigh_tridiagonal(
        2 / h**2 + potential,
        -np.ones(n_interior - 1) / h**2,
        select="i",
        select_range=(0, k - 1),
        eigvals_only=True,
    )


def main():
    formatter = argparse.RawDescriptionHelpFormatter
    argparse.ArgumentParser(description=__doc__, formatter_class=formatter).parse_args()
    start = time.perf_counter()
    rows = []

    def add(name, value, note=""):
        rows.append({"check": name, "value": value, "note": note})

    burgers = REFERENCE / "burgers_shock.mat"
    if burgers.is_file():
        d = scipy.io.loadmat(burgers)
        x, t, usol = d["x"].ravel(), d["t"].ravel(), d["usol"]
        u = burgers_solution(t[None, :], x[:, None])
        add("burgers: rel L2 vs burgers_shock.mat (256x100 grid)", relative_l2(u, usol))
        add("burgers: max abs error vs burgers_shock.mat", float(np.max(np.abs(u - usol))))
        u400 = burgers_solution(t[None, :], x[:, None], n_quad=400)
        add("burgers: rel L2 change, n_quad 200 -> 400", relative_l2(u, u400))
    slope = burgers_steepest_slope()
    add("burgers: steepest slope u_x(1.6037/pi, 0)", slope, "Basdevant et al.: -152.00516")
    add("burgers: steepest slope rel error", abs(slope / -152.00516 - 1))

    ac = REFERENCE / "AC.mat"
    if ac.is_file():
        d = scipy.io.loadmat(ac)
        t, uu = d["tt"].ravel(), d["uu"]
        u = allen_cahn_solution(t)
        add("allen-cahn: rel L2 vs AC.mat at t=1", relative_l2(u[:, -1], uu[:, -1]))
        add("allen-cahn: rel L2 vs AC.mat, all 201 times", relative_l2(u, uu))
        fine = allen_cahn_solution(t, n_modes=1024, dt=5e-5)[::2]
        add(
            "allen-cahn: self-convergence (512->1024 modes, dt 1e-4->5e-5), all t",
            relative_l2(u, fine),
        )
        add("allen-cahn: self-convergence at t=1", relative_l2(u[:, -1], fine[:, -1]))
        add(
            "allen-cahn: dt 1e-4 -> 5e-5 alone, t=1",
            relative_l2(u[:, -1], allen_cahn_solution(1.0, dt=5e-5)),
        )

    levels = finite_well_levels(50.0, 1.0)
    add(
        "finite well V0=50,a=1: number of bound states",
        len(levels),
        f"ceil(2 a sqrt(V0)/pi) = {math.ceil(2 * math.sqrt(50) / math.pi)}",
    )
    cells = math.ceil(14 / math.sqrt(50 - levels[-1]))
    errors = []
    for per_a in (200, 400, 800):
        fd = fd_levels(
            -(1 + cells), 1 + cells, 2 * (1 + cells) * per_a - 1, len(levels), (-1, 1), 0.0, 50.0
        )
        errors.append(float(np.max(np.abs(fd - levels))))
    add(
        "finite well: max |E_fd - E| at h = 1/200, 1/400, 1/800",
        errors,
        f"ratios {errors[0] / errors[1]:.3f}, {errors[1] / errors[2]:.3f}",
    )
    deep = finite_well_levels(1e8, 0.5)[:4]
    add(
        "finite well V0=1e8, a=1/2: max rel diff to infinite well (4 levels)",
        float(np.max(np.abs(deep / infinite_well_levels(4) - 1))),
    )
    barrier = barrier_well_levels(6, 100.0, 0.2)
    errors = []
    for cells_box in (2000, 4000, 8000):
        fd = fd_levels(0.0, 1.0, cells_box - 1, 6, (0.4, 0.6), 100.0, 0.0)
        errors.append(float(np.max(np.abs(fd - barrier))))
    add(
        "barrier V0=100,w=0.2: max |E_fd - E| (6 levels) at h = 1/2000,1/4000,1/8000",
        errors,
        f"ratios {errors[0] / errors[1]:.3f}, {errors[1] / errors[2]:.3f}",
    )
    add("barrier V0=100,w=0.2: levels", [float(e) for e in barrier])

    width = max(len(r["check"]) for r in rows)
    for r in rows:
        v = r["value"]
        text = (
            ", ".join(f"{e:.3e}" for e in v)
            if isinstance(v, list)
            else f"{v:.10g}"
            if isinstance(v, float)
            else str(v)
        )
        print(f"{r['check']:<{width}}  {text}  {r['note']}")
    wall = time.perf_counter() - start
    print(f"wall time {wall:.1f} s")
    write_result("tools/reference_check", {"wall_s": wall, "rows": rows})


if __name__ == "__main__":
    main()
