"""One process of a two-process data-parallel PINN run (tests/test_sharding.py starts two of
these on loopback, and one with `--single` for the reference). Prints one JSON line."""

import json
import sys

import jax

from jaxsci import pde, pinn, train

mode = sys.argv[1]
if mode != "--single":
    train.initialize(f"127.0.0.1:{sys.argv[2]}", 2, int(mode))
jax.config.update("jax_enable_x64", True)

problem = pde.poisson_1d()
field = pinn.MLP(1, width=16, depth=2, key=jax.random.key(3))
sol = pinn.solve(
    problem,
    field,
    key=jax.random.key(4),
    steps=30,
    hard_dirichlet=False,
    lbfgs=pinn.LBFGSPhase(steps=0),
    sampling=pinn.Sampling(n_interior=256),
    loop=train.Loop(chunk_size=10, mesh=train.data_mesh()),
)
print(
    json.dumps(
        {
            "devices": jax.device_count(),
            "process": jax.process_index(),
            "loss": [float(v) for v in sol.history["loss"]],
            "weight": sol.field.layers[0].weight.ravel().tolist(),
            "error": sol.error(),
        }
    )
)
