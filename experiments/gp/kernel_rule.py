"""The default kernel's envelopes chosen per problem: `gp.DefaultKernel(spread="auto")` (issue 25).

    python -m experiments.gp.kernel_rule                          # the rule's decision per row
    python -m experiments.gp.kernel_rule --solve --rows PO1 HH2   # solve rows with kernels
    python -m experiments.gp.kernel_rule --solve --rows PO1 --spread none 3 auto

    python -m experiments.gp.kernel_rule --sweep                  # bumps and layers, 1D

The decision (no solve): for every row of `experiments.gp.spectrum.ROWS` the kernel that
`spread="auto"` builds, whether it is the wide one (`spread=3`) or the narrow one
(`spread=None`), the two quantities the rule bounds (`_envelopes._smoothness`, rows with a
source: per dimension the fraction of the solution spectrum estimate's energy past the reach
`3 * 10 / (pi sqrt 2 L)`, at most 1e-4 for smooth; the operator's layer half width over the
wide zero component's band, at most 1), the errors `spectrum_spread.json` measured with the
two kernels, and the warm cost of building each kernel (the best of 3 after one call, in
seconds) beside the solve's time in that file. Writes `experiments/results/gp/kernel_rule.json`.

`--solve`: `gp.solve(problem, DefaultKernel(spread=s), grid=n, throw=False)` for each `s` of
`--spread` (errors are final relative L2 on the 300-per-dimension test grid, float64); writes
`experiments/results/gp/kernel_rule_solve[_<variant>].json` after every row.

`--solve --rows K-ZDD2 K-ZMS2 K-ZNL2 K-ZP3`: the Kronecker table's rows (200 per dimension,
100^3) whose kernel the rule changes; `K-N2 K-R2`: Neumann and Robin faces at 60^2.
`--gauss-newton-steps N`: the solves with `gp.GaussNewton(steps=N)` (zoo_nonlinear_2d at 24^2
meets Gauss-Newton's step limit, 20, with the wide kernel).

`--sweep`: problems nobody tuned the rule on, across the border it draws: `-u'' = f` on
`[0, 1]` with `u` a Gaussian bump of width 0.2 ... 0.03 at x = 0.6 (100 points), and
`zoo_boundary_layer(eps)` for eps 0.3 ... 0.01 (160 points), each with the three kernels
(`kernel_rule_sweep.json`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from experiments._harness import write_result  # noqa: E402
from experiments.gp.spectrum import ROWS  # noqa: E402
from jaxsci import gp, pde  # noqa: E402
from jaxsci.gp._envelopes import _AUTO_SPREAD, _smoothness  # noqa: E402
from jaxsci.gp._grid import grid_axes, mesh  # noqa: E402
from jaxsci.gp._spectrum import _axis_spectrum, _operator_terms  # noqa: E402

KERNELS = {"none": None, "3": 3.0, "auto": "auto"}
MEASURED = Path(__file__).resolve().parents[1] / "results" / "gp" / "spectrum_spread.json"


def _scales(kernel):
    return [np.exp(np.asarray(k.log_scales)) for k in kernel.kernels]


def _best_of(fn, repeat=3):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def decision(rid, name, n, measured):
    prob = pde.get_problem(name)
    axes = grid_axes(prob, n)
    auto = gp.default_kernel(prob, axes, spread="auto")
    narrow = gp.default_kernel(prob, axes)
    wide = any(not np.allclose(a, b) for a, b in zip(_scales(auto), _scales(narrow), strict=True))
    found = [np.asarray(k.frequencies)[1:] for k in narrow.kernels]
    lengths = [float(a[-1] - a[0]) for a in axes]
    beyond = layer = None
    f = None
    if prob.source is not None:
        f = np.asarray(jax.vmap(lambda x: prob.source(x, prob.params))(mesh(axes)))
        f = f.reshape(tuple(len(a) for a in axes))
    # the source branch's quantities (not advection's, a source at rounding: the library
    # reads its boundary data there)
    if f is not None and np.max(np.abs(f)) > 1e-10:
        op = _operator_terms(prob)
        np_axes = [np.asarray(a) for a in axes]
        spectra = [_axis_spectrum(f, np_axes, i, op)[1:3] for i in range(len(axes))]
        b, ly = _smoothness(spectra, found, lengths, op, 10.0, _AUTO_SPREAD)
        beyond, layer = b.tolist(), ly.tolist()
    cost_auto = _best_of(lambda: gp.default_kernel(prob, axes, spread="auto"))
    cost_none = _best_of(lambda: gp.default_kernel(prob, axes))
    errors = {m["spread"]: m for m in measured if m["id"] == rid}
    err_none = errors.get("none", {}).get("error")
    # spectrum_spread.json's "default" column was spread=3
    wide_row = errors.get("default", {})
    err_wide = wide_row.get("error")
    if wide and wide_row.get("scales") is not None:  # the same kernel as measured there
        same = all(
            np.allclose(a, b, rtol=2e-3, atol=2e-3)
            for a, b in zip(_scales(auto), wide_row["scales"], strict=True)
        )
    else:
        same = None
    row = dict(
        id=rid,
        problem=name,
        grid=n,
        choice="wide" if wide else "narrow",
        beyond_reach=beyond,
        layer_over_band=layer,
        error_narrow=err_none,
        error_wide=err_wide,
        error_rule=err_wide if wide else err_none,
        wide_kernel_matches_measured=same,
        kernel_s_auto=cost_auto,
        kernel_s_narrow=cost_none,
        solve_s_measured=errors.get("none", {}).get("solve_s"),
    )

    def fmt(x):
        return "-" if x is None else f"{x:.2e}"

    print(
        f"{rid:8s} {name:26s} {n:4d} {row['choice']:6s} beyond {beyond} layer {layer} "
        f"narrow {fmt(err_none)} wide {fmt(err_wide)} rule {fmt(row['error_rule'])} "
        f"kernel auto {cost_auto:.3f} s narrow {cost_none:.3f} s",
        flush=True,
    )
    return row


def bump_1d(width):
    """`-u'' = f` on `[0, 1]`, `u = exp(-(x - 0.6)^2 / (2 width^2))`, Dirichlet from `u`."""
    import jax.numpy as jnp

    op = -pde.LinearOperator.laplacian(1)

    def exact(x, p):
        return jnp.exp(-((x[0] - 0.6) ** 2) / (2 * width**2))

    return pde.Problem(
        pde.Interval(0.0, 1.0),
        operator=op,
        source=lambda x, p: op(lambda y: exact(y, p), x),
        conditions=[pde.Dirichlet(exact)],
        exact=exact,
        name=f"bump_1d_{width}",
    )


SWEEP = [(f"B{w}", lambda w=w: bump_1d(w), 100) for w in (0.2, 0.1, 0.07, 0.05, 0.03)] + [
    (f"L{e}", lambda e=e: pde.zoo_boundary_layer(e), 160) for e in (0.3, 0.1, 0.05, 0.02, 0.01)
]


# the rows of the Kronecker table (BENCHMARKS.md, `experiments.gp.kronecker`, 200 per
# dimension) whose kernel the rule changes (`--solve --rows K-ZDD2 ...`)
LARGE = [
    ("K-ZDD2", "zoo_dirichlet_data_2d", 200),
    ("K-ZMS2", "zoo_multiscale_2d", 200),
    ("K-ZNL2", "zoo_nonlinear_2d", 200),
    ("K-ZP3", "zoo_poisson_3d", 100),
    # Neumann / Robin faces past the dense size (the Kronecker path's faces)
    ("K-N2", "gp_neumann_2d", 60),
    ("K-R2", "gp_robin_2d", 60),
]


def solve_row(rid, name, n, spread, steps=None):
    prob = name() if callable(name) else pde.get_problem(name)
    name = prob.name
    solver = None if steps is None else gp.GaussNewton(steps=steps)
    t = time.perf_counter()
    kernel = gp.DefaultKernel(spread=KERNELS[spread])
    sol = gp.solve(prob, kernel, grid=n, solver=solver, throw=False)
    err = float(sol.error())
    total = time.perf_counter() - t
    row = dict(
        id=rid,
        problem=name,
        grid=n,
        spread=spread,
        error=err,
        result=str(sol.result),
        steps=sol.stats["steps"],
        solve_s=sol.stats["wall_s"],
        total_s=total,
        scales=[s.round(3).tolist() for s in _scales(sol.kernel)],
    )
    print(
        f"{rid:8s} {name:26s} spread {spread:5s} grid {n:>4d}^{prob.dim} error {err:9.2e} "
        f"{row['result']} solve {row['solve_s']:6.2f} s total {total:6.2f} s "
        f"envelopes {row['scales']}",
        flush=True,
    )
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", nargs="+", help="row ids (default: all)")
    ap.add_argument("--solve", action="store_true", help="solve the rows (else: decisions)")
    ap.add_argument("--sweep", action="store_true", help="1D bumps and layers, three kernels")
    ap.add_argument("--spread", nargs="+", choices=sorted(KERNELS), default=["auto"])
    ap.add_argument("--variant", default="", help="suffix of the result file")
    ap.add_argument("--gauss-newton-steps", type=int, help="--solve with gp.GaussNewton(steps)")
    args = ap.parse_args()
    rows = [r for r in ROWS if not args.rows or r[0] in args.rows]
    out = []
    if args.sweep:
        for rid, make, n in SWEEP:
            for spread in ("none", "3", "auto"):
                out.append(solve_row(rid, make, n, spread))
                write_result("gp/kernel_rule_sweep", dict(args=vars(args), rows=out))
        return
    if args.solve:
        name = "gp/kernel_rule_solve"
        rows += [r for r in LARGE if args.rows and r[0] in args.rows]
        for rid, problem, n in rows:
            for spread in args.spread:
                out.append(solve_row(rid, problem, n, spread, args.gauss_newton_steps))
                write_result(name, dict(args=vars(args), rows=out), variant=args.variant)
        return
    measured = json.loads(MEASURED.read_text())["rows"]
    for rid, problem, n in rows:
        out.append(decision(rid, problem, n, measured))
    write_result("gp/kernel_rule", dict(args=vars(args), rows=out), variant=args.variant)


if __name__ == "__main__":
    main()
