"""Why does the L-BFGS chunk take longer to compile than the Adam chunk?

One PINN loss (MLP 2 -> 32 x 4 -> 1, tanh, `-Lap u = 1` by `jax.hessian` at 2000 points), and a
`lax.while_loop` of training steps compiled three ways: Adam (the loss's value and gradient
once per step), optax's documented L-BFGS loop (`value_and_grad_from_state` and the zoom line
search: the gradient appears in three `lax.cond` branches), and the same with the loss wrapped
in `jax.jit` (a call XLA could compile once, if it did not inline it). Prints the seconds of
XLA compilation and the optimised program's size (HLO lines, fusions) of each, best of
`--repeats` fresh compilations.

    python -m experiments.pinn.compile_copies

Writes `experiments/results/pinn/compile_copies.json`.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

from experiments._harness import write_result


def pinn_loss(width: int, points: int):
    mlp = eqx.nn.MLP(2, "scalar", width, 4, activation=jnp.tanh, key=jr.key(0))
    x = jr.uniform(jr.key(1), (points, 2))
    params, static = eqx.partition(mlp, eqx.is_inexact_array)

    def loss(p):
        u = lambda z: eqx.combine(p, static)(z)  # noqa: E731
        lap = jax.vmap(lambda xi: jnp.trace(jax.hessian(u)(xi)))(x)
        return jnp.mean((lap + 1.0) ** 2)

    return loss, params


def adam_loop(loss):
    opt = optax.adam(1e-3)

    def run(p, n):
        def body(c):
            i, p, s = c
            g = jax.grad(loss)(p)
            up, s = opt.update(g, s, p)
            return i + 1, optax.apply_updates(p, up), s

        return jax.lax.while_loop(lambda c: c[0] < n, body, (0, p, opt.init(p)))[1]

    return run


def lbfgs_loop(loss):
    search = optax.scale_by_zoom_linesearch(10, initial_guess_strategy="one")
    opt = optax.lbfgs(memory_size=100, linesearch=search)
    value_and_grad = optax.value_and_grad_from_state(loss)

    def run(p, n):
        def body(c):
            i, p, s = c
            v, g = value_and_grad(p, state=s)
            up, s = opt.update(g, s, p, value=v, grad=g, value_fn=loss)
            return i + 1, optax.apply_updates(p, up), s

        return jax.lax.while_loop(lambda c: c[0] < n, body, (0, p, opt.init(p)))[1]

    return run


def compiled(run, params, repeats: int) -> dict:
    best = None
    for _ in range(repeats):
        lowered = jax.jit(run).lower(params, 5)  # a new function object: compiled afresh
        t0 = time.perf_counter()
        text = lowered.compile().as_text()
        seconds = time.perf_counter() - t0
        best = seconds if best is None else min(best, seconds)
        run = _fresh(run)
    return {"compile_s": best, "hlo_lines": text.count("\n"), "fusions": text.count("fusion(")}


def _fresh(fn):
    return lambda *a: fn(*a)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    loss, params = pinn_loss(args.width, args.points)
    rows = {
        "adam": compiled(adam_loop(loss), params, args.repeats),
        "lbfgs": compiled(lbfgs_loop(loss), params, args.repeats),
        "lbfgs_jit_loss": compiled(lbfgs_loop(jax.jit(loss)), params, args.repeats),
    }
    for name, row in rows.items():
        print(
            f"{name:15s} compile {row['compile_s']:6.2f} s  "
            f"HLO lines {row['hlo_lines']:6d}  fusions {row['fusions']:5d}"
        )
    write_result("pinn/compile_copies", {"args": vars(args), "rows": rows}, out=args.out)


if __name__ == "__main__":
    main()
