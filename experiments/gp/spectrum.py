"""The default kernel's frequencies: read from the solution's spectrum, not the source's (issue 25).

    python -m experiments.gp.spectrum                       # every row, the current picker
    python -m experiments.gp.spectrum --variant before      # label a run (e.g. the old picker)
    python -m experiments.gp.spectrum --rows TT TS2         # some rows
    python -m experiments.gp.spectrum --kronecker-limit     # what limits gp_two_scale_2d

Every row is `gp.solve(problem, grid=n)` with the library's defaults (no kernel, no frequency
set by hand): the paper's rows of `experiments.gp.problems` (which must not get worse), the
`gp_unpicked` row, and the two problems of issue 25 (`gp_two_tone`: a strong high tone and a
weak low one in 1D; `gp_two_scale_2d`: 10 and 1.5 cycles per unit per axis). Errors are
final-iterate relative L2 (`GPSolution.error()`, 300 per dimension test grid), float64.
Writes `experiments/results/gp/spectrum[_<variant>].json`.

`--kronecker-limit` takes the 2D problem apart on the Kronecker (fast-diagonalisation) path
that `gp.solve` uses past 2500 points: the Sylvester solve for the grid values and the
values-to-coefficients interpolation, each at several Tikhonov and nugget levels, with the
default kernel and with the true frequencies (writes `spectrum_kronecker_limit.json`).
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

from experiments._harness import write_result  # noqa: E402
from jaxsci import gp, pde  # noqa: E402

# id, problem, grid
ROWS = [
    ("P1", "gp_p1", 400),
    ("P2", "gp_p2", 200),
    ("P3", "gp_p3", 400),
    ("P4", "gp_p4", 900),
    ("P5", "gp_p5", 200),
    ("A1", "gp_a1", 400),
    ("A2", "gp_a2", 400),
    ("Q1", "gp_q1", 400),
    ("Q2", "gp_q2", 200),
    ("AC2", "gp_ac2", 200),
    ("ADV", "gp_advection", 200),
    ("UNP", "gp_unpicked", 400),
    ("TT", "gp_two_tone", 400),
    ("TS2-120", "gp_two_scale_2d", 120),
    ("TS2-160", "gp_two_scale_2d", 160),
    ("TS2", "gp_two_scale_2d", 200),
    # few periods on the domain (the low-frequency rows of `experiments.gp.conditions`, the
    # zoo at the finest grid of `experiments.gp.estimate`): the envelopes' `spread` rule
    ("N1", "gp_neumann_1d", 100),
    ("R1", "gp_robin_1d", 100),
    ("V1", "gp_variable_1d", 100),
    ("VA1", "gp_variable_advection_1d", 100),
    ("N2", "gp_neumann_2d", 30),
    ("R2", "gp_robin_2d", 30),
    ("M2", "gp_mixed_2d", 30),
    ("V2", "gp_variable_2d", 24),
    ("ZM2", "zoo_mixed_2d", 30),
    ("ZB2", "zoo_bump_2d", 36),
    ("ZBL", "zoo_boundary_layer", 160),
    ("ZTT", "zoo_two_tone_1d", 100),
    ("ZMS2", "zoo_multiscale_2d", 36),
    ("ZDD2", "zoo_dirichlet_data_2d", 36),
    ("ZIL2", "zoo_interior_layer_2d", 48),
    ("ZNL2", "zoo_nonlinear_2d", 24),
    ("ZP3", "zoo_poisson_3d", 6),
    ("PO1", "poisson_1d", 24),
    ("MS1", "multiscale_poisson_1d", 100),
    ("PO2", "poisson_2d", 16),
    ("HH2", "helmholtz_2d", 27),
]

# `--spread`: the default kernel's `spread` (`gp.DefaultKernel`); "none" is every component at
# the envelope, "3" the envelopes from the spectrum's extent (`spectrum_spread.json` calls it
# "default": it was the default while that table was measured), "auto" (the default now) the
# one of the two `experiments.gp.kernel_rule` measures
SPREADS = {
    "default": None,
    "none": gp.DefaultKernel(spread=None),
    "3": gp.DefaultKernel(spread=3.0),
    "auto": gp.DefaultKernel(spread="auto"),
}


def run_rows(ids=None, spreads=("default",), save=None):
    """Every row (of `ids`) with every kernel of `spreads`; `save(rows)` after each row."""
    out = []
    for rid, name, n in ROWS:
        if ids and rid not in ids:
            continue
        for spread in spreads:
            out.append(run_row(rid, name, n, spread))
            if save is not None:
                save(out)
    return out


def run_row(rid, name, n, spread):
    prob = pde.get_problem(name)
    t = time.perf_counter()
    sol = gp.solve(prob, SPREADS[spread], grid=n)
    err = float(sol.error())
    total = time.perf_counter() - t
    freqs = [np.asarray(f).round(3).tolist() for f in sol.stats["frequencies"]]
    scales = [np.exp(np.asarray(k.log_scales)).round(3).tolist() for k in sol.kernel.kernels]
    row = dict(
        id=rid,
        problem=name,
        spread=spread,
        scales=scales,
        grid=n,
        error=err,
        solve_s=sol.stats["wall_s"],
        total_s=total,
        steps=sol.stats["steps"],
        method=sol.stats["method"],
        result=str(sol.result),
        frequencies=freqs,
    )
    print(
        f"{rid:8s} {name:16s} {spread:8s} grid {n:>4d}^{prob.dim} error {err:9.2e} "
        f"solve {row['solve_s']:6.2f} s total {total:6.2f} s  frequencies {freqs} "
        f"envelopes {scales}",
        flush=True,
    )
    return row


def kronecker_limit():
    """Grid-value and off-grid errors of `gp_two_scale_2d` on the Kronecker path, by stage."""
    import jax.numpy as jnp

    from jaxsci.gp._grid import grid_axes, mesh
    from jaxsci.gp._kernels import Product, SpectralMixture, gram
    from jaxsci.gp._sylvester import dim_operator, sylvester_solve

    prob = pde.get_problem("gp_two_scale_2d")

    def values(points):
        return np.asarray(jax.vmap(lambda x: prob.exact(x, prob.params))(points))

    def rel(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    test = [jnp.linspace(0.0, 1.0, 157)] * 2
    exact_test = values(mesh(test)).reshape(157, 157)
    out = []
    for n in (120, 200):
        axes = grid_axes(prob, n)
        pts = mesh(axes)
        exact = values(pts).reshape(n, n)
        f = np.asarray(jax.vmap(lambda x: prob.source(x, prob.params))(pts)).reshape(n, n)
        true = Product(
            [SpectralMixture(jnp.ones(2), jnp.asarray(m), 10.0) for m in ([0.0, 10.0], [0.0, 1.5])]
        )
        kernels = {"default": gp.default_kernel(prob, axes), "true frequencies": true}
        for label, kernel in kernels.items():
            for reg in (1e-13, 1e-12, 1e-11):
                for nugget in (1e-8, 1e-10):
                    ops = [
                        dim_operator(k, a, [(2, 1.0)], reg, nugget)
                        for k, a in zip(kernel.kernels, axes, strict=True)
                    ]
                    u = exact.copy()
                    u[1:-1, 1:-1] = sylvester_solve(*ops[0][:2], *ops[1][:2], f[1:-1, 1:-1], exact)
                    alpha = ops[0][2] @ u @ ops[1][2].T
                    kx, ky = (
                        np.asarray(gram(k, t, a))
                        for k, t, a in zip(kernel.kernels, test, axes, strict=True)
                    )
                    row = dict(
                        grid=n,
                        kernel=label,
                        regularisation=reg,
                        nugget=nugget,
                        grid_values=rel(u, exact),
                        off_grid=rel(kx @ alpha @ ky.T, exact_test),
                    )
                    out.append(row)
                    print(
                        f"{n:4d}^2 {label:17s} regularisation {reg:.0e} nugget {nugget:.0e}: "
                        f"grid values {row['grid_values']:.2e}, "
                        f"off the grid {row['off_grid']:.2e}",
                        flush=True,
                    )
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", nargs="+", help="row ids to run (default: all)")
    ap.add_argument("--variant", default="", help="suffix of the result file")
    ap.add_argument("--kronecker-limit", action="store_true", help="the 2D diagnosis only")
    ap.add_argument(
        "--spread",
        nargs="+",
        choices=sorted(SPREADS),
        default=["default"],
        help="the default kernel's envelopes: 'default' (DefaultKernel()), 'none' "
        "(DefaultKernel(spread=None): every component at the envelope), '3' (spread=3), "
        "'auto' (spread='auto')",
    )
    args = ap.parse_args()
    if args.kronecker_limit:
        rows = kronecker_limit()
        write_result("gp/spectrum", dict(args=vars(args), rows=rows), variant="kronecker_limit")
        return

    def save(rows):
        write_result("gp/spectrum", dict(args=vars(args), rows=rows), variant=args.variant)

    run_rows(args.rows, args.spread, save)


if __name__ == "__main__":
    main()
