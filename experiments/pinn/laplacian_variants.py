"""Ways to put a Laplacian into a PINN loss, timed on the loss gradient (value_and_grad).

    python -m experiments.pinn.laplacian_variants              # 4096 points
    python -m experiments.pinn.laplacian_variants --points 1024

The Helmholtz benchmark network (2 -> 64 x 4 tanh -> 1) and residual `Lap u + u - f`, on one
fixed set of points; each variant is one jitted function, median of 10 calls after a warm-up.
Variants: `pde.laplacian` (forward-over-forward, one unrolled pass per axis), the same passes
vmapped over the directions, a hand-written forward Laplacian for this MLP (value, Jacobian and
Laplacian carried through the layers), the trace of `jax.hessian`, Taylor mode (`jax.experimental
.jet`), and `pde.laplacian` with the residual evaluated in blocks by `lax.map`. Writes
`experiments/results/pinn/laplacian_variants[_POINTS].json` (the points when not 4096).
"""

import argparse

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.experimental import jet

from experiments._harness import timed, write_result
from jaxsci import pde, pinn


def vmapped(u, x):
    def second(e):
        first = lambda y: jax.jvp(u, (y,), (e,))[1]
        return jax.jvp(first, (x,), (e,))[1]

    return jnp.sum(jax.vmap(second)(jnp.eye(x.shape[0], dtype=x.dtype)))


def hessian_trace(u, x):
    return jnp.trace(jax.hessian(u)(x))


def taylor(u, x):
    def second(e):
        return jet.jet(u, (x,), ((e, jnp.zeros_like(e)),))[1][1]

    return jnp.sum(jax.vmap(second)(jnp.eye(x.shape[0], dtype=x.dtype)))


def forward_laplacian(mlp, x):
    """Laplacian of a tanh `pinn.MLP` (no embedding) by carrying `(h, dh/dx, Lap h)`."""
    h, jac, lap = x, jnp.eye(x.shape[0], dtype=x.dtype), jnp.zeros_like(x)
    for layer in mlp.layers[:-1]:
        z, zj, zl = layer(h), layer.weight @ jac, layer.weight @ lap
        t = jnp.tanh(z)
        d1 = 1 - t * t
        h, jac, lap = t, d1[:, None] * zj, d1 * zl - 2 * t * d1 * jnp.sum(zj * zj, axis=1)
    return (mlp.layers[-1].weight @ lap)[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--points", type=int, default=4096)
    a = p.parse_args()
    problem = pde.helmholtz_2d()
    field = pinn.MLP(2, width=64, depth=4, key=jax.random.key(0))
    xs = problem.domain.sample(jax.random.key(1), a.points)
    src = jax.vmap(lambda x: problem.residual(lambda y: 0.0 * y[0], x, problem.params))(xs)

    def loss_with(lap, block=None):
        def loss(m):
            u = lambda y: m(y).reshape(())
            r = lambda x: lap(m, u, x) + u(x)
            vals = jax.vmap(r)(xs) if block is None else jax.lax.map(r, xs, batch_size=block)
            return jnp.mean((vals + src) ** 2)

        return eqx.filter_jit(eqx.filter_value_and_grad(loss))

    variants = {
        "pde.laplacian (unrolled forward-over-forward)": loss_with(
            lambda m, u, x: pde.laplacian(u, x)
        ),
        "forward-over-forward vmapped over directions": loss_with(lambda m, u, x: vmapped(u, x)),
        "hand-written forward Laplacian (MLP only)": loss_with(
            lambda m, u, x: forward_laplacian(m, x)
        ),
        "trace of jax.hessian": loss_with(lambda m, u, x: hessian_trace(u, x)),
        "Taylor mode (jet)": loss_with(lambda m, u, x: taylor(u, x)),
    }
    for block in (256, 1024):
        if block < a.points:
            variants[f"pde.laplacian, lax.map blocks of {block}"] = loss_with(
                lambda m, u, x: pde.laplacian(u, x), block
            )
    ref = variants["pde.laplacian (unrolled forward-over-forward)"](field)
    rows = []
    for name, f in variants.items():
        val, _ = f(field)
        ms = timed(f, field, repeats=10) * 1e3
        rows.append(dict(variant=name, ms=ms, loss=float(val)))
        print(f"{name:48s} {ms:8.2f} ms   loss {float(val):.6e}", flush=True)
        assert jnp.allclose(val, ref[0], rtol=1e-3), (name, val, ref[0])  # same loss
    variant = "" if a.points == 4096 else str(a.points)
    write_result("pinn/laplacian_variants", dict(points=a.points, rows=rows), variant=variant)


if __name__ == "__main__":
    main()
