"""Kernel training and grid evaluation of `jaxsci.gp` (BENCHMARKS.md: "Grid evaluation,
kernel training").

    python -m experiments.gp.kernel_training

Training: `u = sin 30x` on [0, 2 pi], 100 points, a spectral mixture whose frequency is the true
one scaled by 1.05, with and without two spurious components, 300 steps of
`train=gp.TrainKernel("exact")` and of `"adam"` (the paper's). Evaluation: the Q2 solution on
the plot's 201 x 201 grid by the Kronecker path against the dense one. float64. Writes
`experiments/results/gp/kernel_training.json`.
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from experiments._harness import write_result  # noqa: E402
from jaxsci import gp, pde  # noqa: E402


def _p1_low():
    exact = lambda x, p: jnp.sin(30 * x[0])  # noqa: E731
    op = pde.LinearOperator.laplacian(1)
    return pde.Problem(
        pde.Interval(0.0, 2 * np.pi),
        operator=op,
        source=lambda x, p: op(lambda y: exact(y, p), x),
        conditions=[pde.Dirichlet(exact)],
        exact=exact,
        name="p1_low",
    )


def bench_training():
    """Kernel training from a deliberately wrong kernel (u = sin 30x on [0, 2 pi], 100 points):
    the frequency 30 / 2 pi scaled by 1.05, envelope 0.3, with and without two spurious
    components; `exact` (Adam on the kernel around the exact solve) and `adam` (the paper)."""
    out = []
    prob = _p1_low()
    true = 30 / (2 * np.pi)
    for extra in [(), (2.0, 8.0)]:
        mu = [0.0, 1.05 * true, *extra]
        kernel = gp.SpectralMixture(jnp.ones(len(mu)), jnp.asarray(mu), 0.3)
        right = gp.SpectralMixture(jnp.ones(len(mu)), jnp.asarray([0.0, true, *extra]), 0.3)
        base = float(gp.solve(prob, kernel, grid=100).error())
        ref = float(gp.solve(prob, right, grid=100).error())
        for mode, steps in [("exact", 300), ("adam", 300)]:
            t = time.perf_counter()
            sol = gp.solve(prob, kernel, grid=100, train=gp.TrainKernel(mode, steps=steps))
            row = dict(
                components=len(mu),
                mode=mode,
                steps=steps,
                error_untrained=base,
                error_right_frequency=ref,
                error_trained=float(sol.error()),
                wall_s=time.perf_counter() - t,
                frequencies=sol.stats["frequencies"][0].round(3).tolist(),
                weights=sol.stats["weights"][0].round(3).tolist(),
                scales=sol.stats["scales"][0].round(3).tolist(),
            )
            out.append(row)
            print(
                f"{len(mu)} comps {mode:5s} untrained {base:.2e} right-freq {ref:.2e} "
                f"trained {row['error_trained']:.2e} ({row['wall_s']:.1f} s) "
                f"freqs {row['frequencies']} weights {row['weights']}",
                flush=True,
            )
    return out


def bench_evaluation():
    """`GPSolution.__call__` on a 201 x 201 grid (what the solution plot evaluates): the
    Kronecker path against the dense one (timed on 2000 scattered points, scaled)."""
    prob = pde.get_problem("gp_q2")
    sol = gp.solve(prob, grid=200)
    pts = prob.domain.grid((201, 201), jnp.float64)
    t = time.perf_counter()
    grid_vals = jax.block_until_ready(sol(pts))
    t_grid = time.perf_counter() - t
    sub = pts[:: 201 * 201 // 2000][:2000][::-1]  # reversed: not a C-order grid, dense path
    t = time.perf_counter()
    dense = jax.block_until_ready(sol(sub))
    t_dense = (time.perf_counter() - t) * pts.shape[0] / sub.shape[0]
    diff = float(jnp.max(jnp.abs(dense[::-1] - grid_vals[:: 201 * 201 // 2000][:2000])))
    row = dict(grid_s=t_grid, dense_s_scaled=t_dense, max_abs_diff=diff, points=pts.shape[0])
    print(
        f"eval 201^2 on Q2 (200^2 grid): Kronecker {t_grid:.2f} s, dense ~{t_dense:.0f} s "
        f"(scaled from 2000 points), max diff {diff:.1e}",
        flush=True,
    )
    return row


def main():
    formatter = argparse.RawDescriptionHelpFormatter
    argparse.ArgumentParser(description=__doc__, formatter_class=formatter).parse_args()
    print("== kernel training, grid evaluation")
    write_result(
        "gp/kernel_training", dict(training=bench_training(), evaluation=bench_evaluation())
    )


if __name__ == "__main__":
    main()
