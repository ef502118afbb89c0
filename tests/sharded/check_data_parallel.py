"""Run in its own process with 4 forced host devices (see tests/test_sharding.py): training on a
mesh of 1, 2 and 4 devices gives the one-device result up to reduction order, for a plain fit,
an ensemble and a PINN solve. Prints one JSON line of the largest differences."""

import json
import os

assert "--xla_force_host_platform_device_count=4" in os.environ.get("XLA_FLAGS", "")

import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

jax.config.update("jax_enable_x64", True)
from jaxsci import pde, pinn, train  # noqa: E402

assert jax.device_count() == 4


def leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(tree, eqx.is_array))]


def max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(leaves(a), leaves(b), strict=True))


out = {}

# a regression: the data live in `extra` and are split across devices
key = jax.random.key(0)
x = jax.random.normal(key, (512, 3))
y = jnp.sin(x @ jnp.array([1.0, -2.0, 0.5]))
model = eqx.nn.MLP(3, "scalar", 16, 2, key=jax.random.key(1))


def loss(m, extra, k):
    pred = jax.vmap(m)(extra["x"])
    return jnp.mean((pred - extra["y"]) ** 2), {}


runs = {}
for n in (1, 2, 4):
    r = train.fit(
        loss,
        model,
        optax.adam(1e-2),
        steps=30,
        key=key,
        extra={"x": x, "y": y},
        loop=train.Loop(chunk_size=10, mesh=train.data_mesh(n)),
    )
    assert r.state.extra["x"].sharding.num_devices == n, r.state.extra["x"].sharding
    runs[n] = r
out["fit"] = max(max_diff(runs[1].params, runs[n].params) for n in (2, 4))
out["fit_loss_change"] = float(runs[1].history["loss"][0] - runs[1].history["loss"][-1])

# an ensemble of 4 PINNs, one member per device, against the unsharded ensemble
problem = pde.poisson_1d()
keys = jax.random.split(jax.random.key(2), 4)
fields = eqx.filter_vmap(lambda k: pinn.MLP(1, width=8, depth=2, key=k))(keys)
common = dict(
    key=keys,
    steps=20,
    lbfgs=pinn.LBFGSPhase(steps=0),
    sampling=pinn.Sampling(n_interior=64),
    ensemble=True,
)
plain = pinn.solve(problem, fields, **common, loop=train.Loop(chunk_size=10))
sharded = pinn.solve(
    problem, fields, **common, loop=train.Loop(chunk_size=10, mesh=train.data_mesh(4))
)
out["ensemble"] = max_diff(plain.field, sharded.field)
# with an L-BFGS phase: unsharded, the members run one after another inside the step
# (`lax.map`, a line search per member); split over devices, they stay vmapped
common["lbfgs"] = pinn.LBFGSPhase(steps=5)
plain = pinn.solve(problem, fields, **common, loop=train.Loop(chunk_size=10))
sharded = pinn.solve(
    problem, fields, **common, loop=train.Loop(chunk_size=10, mesh=train.data_mesh(4))
)
out["ensemble_lbfgs"] = max_diff(plain.field, sharded.field)

# one PINN (its default L-BFGS phase included), its collocation points split over 1 and 4 devices
field = pinn.MLP(1, width=16, depth=2, key=jax.random.key(3))
sols = {
    n: pinn.solve(
        problem,
        field,
        key=jax.random.key(4),
        steps=30,
        sampling=pinn.Sampling(n_interior=256),
        loop=train.Loop(chunk_size=10, mesh=train.data_mesh(n)),
    )
    for n in (1, 4)
}
out["pinn"] = max_diff(sols[1].field, sols[4].field)
# Koopman: a streamed Gram fit with each block's rows split over 4 devices
from jaxsci import dynamics as dy  # noqa: E402
from jaxsci import koopman as kp  # noqa: E402

xk = jax.random.uniform(jax.random.key(5), (4000, 2), jnp.float64, 0.0, 2 * np.pi)
yk = jax.vmap(dy.StandardMap(strength=0.8).step)(xk)
fourier = kp.Fourier(2, 3)
one = kp.gram_matrices(fourier, kp.blocks_of(xk, yk, 1000))
four = kp.gram_matrices(fourier, kp.blocks_of(xk, yk, 1000), mesh=train.data_mesh(4))
out["koopman_gram"] = max_diff((one.g, one.a, one.ax), (four.g, four.a, four.ax))

# the pseudospectrum grid split over 4 devices (41 points: padded to 44)
data = kp.residual_data(fourier, xk, yk)
grid = jnp.linspace(-1.2, 1.2, 41) + 0.3j
out["pseudospectrum"] = float(
    np.max(
        np.abs(
            kp.pseudospectrum(data, grid) - kp.pseudospectrum(data, grid, mesh=train.data_mesh(4))
        )
    )
)

# an SSM trained on the copying task with each batch split over 4 devices (float32)
from jaxsci import runs as jruns  # noqa: E402
from jaxsci.runs._ssm import train_seed  # noqa: E402

ssm_cfg = [
    "task.gap=20",
    "train.steps=20",
    "train.chunk_size=10",
    "train.batch=8",
    "model.hidden=8",
    "model.state_size=8",
    "task.eval_batches=1",
]
with jax.enable_x64(False):
    ssm_runs = [
        train_seed(jruns.load_config({"solver": "ssm"}, [*ssm_cfg, f"mesh.data={n}"]), 0)
        for n in (1, 4)
    ]
out["ssm_loss"] = float(
    np.max(np.abs(ssm_runs[0][2]["loss"] - ssm_runs[1][2]["loss"]) / ssm_runs[0][2]["loss"])
)

# a config chooses the mesh (`--set mesh.data=4`) and the run directory records it
import tempfile  # noqa: E402

from jaxsci import cli  # noqa: E402

config = os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "configs")
errors = {}
with tempfile.TemporaryDirectory() as tmp:
    for n in (1, 4):
        args = ["run", os.path.join(config, "poisson_1d.toml"), "--quiet", "--out", f"{tmp}/{n}"]
        for o in (
            "train.steps=30",
            "lbfgs.steps=0",
            "sampling.n_interior=128",
            "train.seeds=[0]",
            f"mesh.data={n}",
        ):
            args += ["--set", o]
        assert cli.main(args) == 0
        with open(f"{tmp}/{n}/metrics.json") as f:
            m = json.load(f)
        assert m["mesh"] == {"data": n} and m["versions"]["device_count"] == 4
        errors[n] = m["rel_l2"]
out["cli_rel_l2_change"] = abs(errors[4] - errors[1]) / errors[1]
print(json.dumps(out))
