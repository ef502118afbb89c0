"""Training rate of jaxsci against DeepXDE (PyTorch backend) on Helmholtz (a1=1, a2=4), one run.

Both sides train the same problem with the same network (2 -> 64 x 4 tanh -> 1, Glorot-normal),
the same points (`--points` interior + 256 boundary, fixed), the same loss (mean squared residual
+ mean squared Dirichlet misfit, soft constraint) and the same optimiser (Adam, lr 1e-3), in
float32 on the same machine, in this one process. Each rate is the steady state (compilation and
warm-up excluded), the median of `--repeats` interleaved timings so that a load change on the
machine hits both libraries alike. The jaxsci error after the timed steps is printed beside it.

Errors at equal recipes (final iterates, 3 seeds, six problems) are measured by
`experiments.peers.deepxde_accuracy`.

DeepXDE is a peer for benchmarks only; install it in a separate environment:

    python3 -m venv /work/peers-pinn && /work/peers-pinn/bin/pip install torch==2.13.0 deepxde
    /work/peers-pinn/bin/pip install -e .
    /work/peers-pinn/bin/python -m experiments.peers.deepxde_rate

Writes `experiments/results/peers/deepxde_rate[_VARIANT].json`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("DDEBACKEND", "pytorch")

import jax
import numpy as np
import optax

from experiments._harness import write_result
from jaxsci import pde, pinn, train

WIDTH, DEPTH, N_BOUNDARY, LR = 64, 4, 256, 1e-3


def jaxsci_rate(n_points: int, steps: int, seed: int) -> tuple[float, float]:
    """Steady-state steps per second of `pinn.solve` and the final relative L2 error."""
    problem = pde.helmholtz_2d()
    field = pinn.MLP(2, width=WIDTH, depth=DEPTH, key=jax.random.key(seed))
    # Two chunks: the first compiles, `steps_per_s` is measured on the second alone.
    sol = pinn.solve(
        problem,
        field,
        optax.adam(LR),
        key=jax.random.key(seed + 1),
        steps=2 * steps,
        sampling=pinn.Sampling(n_interior=n_points, n_boundary=N_BOUNDARY),
        loop=train.Loop(chunk_size=steps),
    )
    return sol.stats["steps_per_s"], sol.error()


A1, A2, K2 = 1.0, 4.0, 1.0  # Helmholtz (a1, a2) with wavenumber^2 = 1


def residual(x, u):
    """DeepXDE's Helmholtz residual: u_xx + u_yy + k^2 u - q, q from the exact solution."""
    import deepxde as dde
    import torch

    u_xx = dde.grad.hessian(u, x, i=0, j=0)
    u_yy = dde.grad.hessian(u, x, i=1, j=1)
    exact = torch.sin(A1 * np.pi * x[:, 0:1]) * torch.sin(A2 * np.pi * x[:, 1:2])
    return u_xx + u_yy + K2 * u - (K2 - (A1 * np.pi) ** 2 - (A2 * np.pi) ** 2) * exact


def deepxde_rate(n_points: int, steps: int, seed: int) -> float:
    import deepxde as dde

    dde.config.set_random_seed(seed)
    geom = dde.geometry.Rectangle([-1.0, -1.0], [1.0, 1.0])

    bc = dde.icbc.DirichletBC(geom, lambda x: 0.0, lambda _, on_boundary: on_boundary)
    data = dde.data.PDE(
        geom,
        residual,
        bc,
        num_domain=n_points,
        num_boundary=N_BOUNDARY,
        num_test=256,
        train_distribution="pseudo",
    )
    net = dde.nn.FNN([2] + [WIDTH] * DEPTH + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=LR)
    model.train(iterations=10, display_every=10**9, verbose=0)  # warm-up
    t = time.perf_counter()
    model.train(iterations=steps, display_every=10**9, verbose=0)
    return steps / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default="1024,4096")
    ap.add_argument("--steps", type=int, default=200, help="timed steps per repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variant", default="", help="result file suffix")
    args = ap.parse_args()
    import deepxde  # noqa: F401  (fail before any timing when the peer is missing)
    import torch

    rows = []
    for n in [int(s) for s in args.points.split(",")]:
        ours, theirs, errs = [], [], []
        for r in range(args.repeats):
            rate, err = jaxsci_rate(n, args.steps, r)
            ours.append(rate)
            errs.append(err)
            theirs.append(deepxde_rate(n, args.steps, r))
            print(
                f"points {n} repeat {r}: jaxsci {ours[-1]:.1f} steps/s, "
                f"DeepXDE {theirs[-1]:.1f} steps/s",
                flush=True,
            )
        rows.append(
            {
                "points": n,
                "jaxsci_steps_per_s": statistics.median(ours),
                "deepxde_steps_per_s": statistics.median(theirs),
                "ratio": statistics.median(ours) / statistics.median(theirs),
                "jaxsci_all": ours,
                "deepxde_all": theirs,
                "jaxsci_rel_l2": errs,
            }
        )
    print(f"\ntorch threads: {torch.get_num_threads()}, CPUs: {os.cpu_count()}\n")
    print(
        f"| interior points | jaxsci steps/s | DeepXDE steps/s | ratio | jaxsci rel. L2 after "
        f"{2 * args.steps} steps |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['points']} | {r['jaxsci_steps_per_s']:.1f} | {r['deepxde_steps_per_s']:.1f} "
            f"| {r['ratio']:.2f}x | {np.median(r['jaxsci_rel_l2']):.2e} |"
        )
    write_result(
        "peers/deepxde_rate",
        {"torch_threads": torch.get_num_threads(), "args": vars(args), "rows": rows},
        variant=args.variant,
        packages=("deepxde", "torch"),
    )


if __name__ == "__main__":
    main()
