"""Weak and strong scaling of the data-parallel PINN step (`pinn.solve(..., mesh=...)`).

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python experiments/pinn_scaling.py
    python experiments/pinn_scaling.py --devices 1 2 4 8      # on a machine with 8 GPUs

The README's Helmholtz network (2-[64]x4-1 tanh, hard Dirichlet), Adam, float32. Strong
scaling: 8192 points in total over 1, 2, 4 devices; weak scaling: 4096 points per device.
Steps per second exclude the first (compiling) chunk. On forced host devices all "devices"
share the same CPU cores, so these rows measure the overhead of the sharded step (partitioning,
all-reduce), not a speed-up. Writes experiments/results/pinn_scaling_<backend>.json.
"""

import argparse
import json
import os

import equinox as eqx
import jax

from jaxsci import pde, pinn, train


def rate(n_points, n_devices, steps, chunk):
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
        n_interior=n_points,
        chunk_size=chunk,
        mesh=train.data_mesh(n_devices),
    )
    return sol.stats["steps_per_s"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--total", type=int, default=8192, help="points, strong scaling")
    p.add_argument("--per-device", type=int, default=4096, help="points, weak scaling")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    chunk = a.steps // 3
    rows = []
    for n in a.devices:
        for kind, points in (("strong", a.total), ("weak", a.per_device * n)):
            r = rate(points, n, a.steps, chunk)
            rows.append(dict(scaling=kind, devices=n, points=points, steps_per_s=r))
            print(f"{kind:6s} devices {n}  points {points:6d}  {r:8.1f} steps/s", flush=True)
    backend = jax.default_backend()
    out = dict(
        backend=backend,
        device=str(jax.devices()[0].device_kind),
        device_count=jax.device_count(),
        cpu_count=os.cpu_count(),
        rows=rows,
    )
    path = a.out or os.path.join(
        os.path.dirname(__file__), "results", f"pinn_scaling_{backend}.json"
    )
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
