"""Weak and strong scaling of the data-parallel PINN step
(`pinn.solve(..., loop=train.Loop(mesh=...))`).

    export XLA_FLAGS=--xla_force_host_platform_device_count=4
    python -m experiments.pinn.data_parallel_scaling
    python -m experiments.pinn.data_parallel_scaling --devices 1 2 4 8   # on a machine with 8 GPUs

The README's Helmholtz network (2-[64]x4-1 tanh, hard Dirichlet), Adam only, float32. Strong
scaling: 8192 points in total over 1, 2, 4 devices; weak scaling: 4096 points per device.
Steps per second exclude the first (compiling) chunk. `--largest P` adds one row with P points
over all devices (a few steps) and the process's peak resident memory after it (on CPU every
device's buffers live in that one process; on a GPU the per-device peak from `memory_stats`).
On forced host devices all "devices" share the same CPU cores, so these rows measure the
sharded step's overhead against XLA's use of the cores: one CPU device runs its element-wise
work on one core, so 2 host devices on 2 cores can be faster than 1. Writes
`experiments/results/pinn/data_parallel_scaling[_VARIANT].json` (on a GPU `..._gpu.json`).
"""

import argparse
import resource

import equinox as eqx
import jax

from experiments._harness import write_result
from jaxsci import pde, pinn, train


def rate(n_points, n_devices, steps, chunk):
    """Adam steps per second of `pinn.solve` on `n_points` split over `n_devices`."""
    problem = eqx.tree_at(lambda p: p.conditions, pde.helmholtz_2d(), ())
    field = pinn.Constrained(
        pinn.MLP(2, width=64, depth=4, key=jax.random.key(0)),
        pinn.dirichlet_transform(problem.domain),
    )
    sol = pinn.solve(
        problem,
        field,
        key=jax.random.key(1),
        steps=steps,
        sampling=pinn.Sampling(n_interior=n_points),
        lbfgs=pinn.LBFGSPhase(steps=0),
        loop=train.Loop(chunk_size=chunk, mesh=train.data_mesh(n_devices)),
    )
    return sol.stats["steps_per_s"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--total", type=int, default=8192, help="points, strong scaling")
    p.add_argument("--per-device", type=int, default=4096, help="points, weak scaling")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--largest", type=int, default=0, help="points, one row on every device")
    p.add_argument("--variant", default="", help="result file suffix")
    a = p.parse_args()
    chunk = a.steps // 3
    rows = []
    for n in a.devices:
        for kind, points in (("strong", a.total), ("weak", a.per_device * n)):
            r = rate(points, n, a.steps, chunk)
            rows.append(dict(scaling=kind, devices=n, points=points, steps_per_s=r))
            print(f"{kind:6s} devices {n}  points {points:6d}  {r:8.1f} steps/s", flush=True)
    if a.largest:
        n = max(a.devices)
        r = rate(a.largest, n, 6, 3)
        peak = [d.memory_stats() or {} for d in jax.devices()[:n]]
        rows.append(
            dict(
                scaling="largest",
                devices=n,
                points=a.largest,
                steps_per_s=r,
                peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
                peak_bytes_per_device=[m.get("peak_bytes_in_use") for m in peak],
            )
        )
        print(f"largest devices {n}  points {a.largest}  {r:8.3f} steps/s  {rows[-1]}", flush=True)
    write_result("pinn/data_parallel_scaling", dict(args=vars(a), rows=rows), variant=a.variant)


if __name__ == "__main__":
    main()
