"""L-BFGS per iteration: PyTorch's `torch.optim.LBFGS` against `optax.lbfgs` from the same point
on the same loss (issue 13's open lead: on Helmholtz, DeepXDE's L-BFGS gained more per iteration).

The Adam phase of the Helmholtz main job (64 x 4 tanh MLP, exact Dirichlet, 4096 Halton points,
3000 Adam steps) runs once in jaxsci. From its end point both optimisers minimise the *same*
function: the mean squared residual on the same points, computed by the same jitted JAX code
(PyTorch's L-BFGS receives the loss and gradient of a flat float32 parameter vector through its
closure). Only the optimiser differs, so any gap per iteration is the optimiser's. Each variant
records the loss after every iteration, the loss/gradient evaluations it spent, and the error
against the exact solution every `--every` iterations.

    /work/peers-pinn/bin/python -m experiments.peers.lbfgs_torch_vs_optax --seeds 0  # needs torch

Writes `experiments/results/peers/lbfgs_torch_vs_optax[_VARIANT].json`.
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from experiments._harness import write_result
from jaxsci import pde, pinn


def start(seed: int, adam_steps: int, n_interior: int):
    problem = pde.helmholtz_2d()
    k1, k2 = jr.split(jr.key(seed))
    sol = pinn.solve(
        problem,
        pinn.MLP(2, width=64, depth=4, key=k1),
        key=k2,
        steps=adam_steps,
        sampling=pinn.Sampling(n_interior=n_interior),
        lbfgs=pinn.LBFGSPhase(steps=0),
    )
    return problem, sol


def make_loss(problem, sol):
    params, static = eqx.partition(sol.field, eqx.is_inexact_array)
    flat0, unravel = ravel_pytree(params)
    points = sol.points
    grid = sol.evaluation_points()
    exact = jax.vmap(lambda x: problem.exact(x, problem.params))(grid).reshape(-1)

    def loss(flat):
        u = eqx.combine(unravel(flat), static)
        r = jax.vmap(lambda x: problem.residual(u, x, problem.params))(points)
        return jnp.mean(r**2)

    @jax.jit
    def error(flat):
        u = eqx.combine(unravel(flat), static)
        pred = jax.vmap(u)(grid).reshape(-1)
        return jnp.linalg.norm(pred - exact) / jnp.linalg.norm(exact)

    return flat0, jax.jit(loss), jax.jit(jax.value_and_grad(loss)), error


def run_torch(flat0, value_and_grad, error, iters, every, history=100):
    """As DeepXDE runs it: `every` iterations per `step()` call with at most 1.25 evaluations per
    iteration on average (DeepXDE's `maxfun`), the state carried from call to call."""
    import torch

    torch.set_num_threads(1)  # the work is in JAX; idle torch threads only contend
    x = torch.nn.Parameter(torch.from_numpy(np.asarray(flat0).copy()))
    opt = torch.optim.LBFGS(
        [x],
        lr=1.0,
        max_iter=every,
        max_eval=every * 5 // 4,
        tolerance_grad=1e-8,  # DeepXDE's gtol
        tolerance_change=0.0,  # DeepXDE's ftol
        history_size=history,
        line_search_fn="strong_wolfe",
    )
    evals = [0]

    def closure():
        opt.zero_grad()
        v, g = value_and_grad(jnp.asarray(x.detach().numpy()))
        x.grad = torch.from_numpy(np.array(g))
        evals[0] += 1
        return torch.tensor(float(v))

    losses, n_evals, errors, iters_done = [], [], {}, []
    t0 = time.perf_counter()
    for _ in range(0, iters, every):
        opt.step(closure)
        flat = jnp.asarray(x.detach().numpy())
        n = int(opt.state[x]["n_iter"])
        losses.append(float(value_and_grad(flat)[0]))
        n_evals.append(evals[0])
        iters_done.append(n)
        errors[n] = float(error(flat))
    wall = time.perf_counter() - t0
    return dict(
        losses=losses,
        evals=n_evals,
        iters=iters_done,
        errors=errors,
        wall_s=wall,
        final_loss=losses[-1],
    )


def run_optax(flat0, loss, error, iters, every, opt, recycle: bool):
    """`recycle`: take the value and gradient the line search already computed at the accepted
    point (`optax.value_and_grad_from_state`) instead of evaluating them again."""
    vg = optax.value_and_grad_from_state(loss) if recycle else jax.value_and_grad(loss)

    @jax.jit
    def step(carry, _):
        x, state = carry
        v, g = vg(x, state=state) if recycle else vg(x)
        updates, state = opt.update(g, state, x, value=v, grad=g, value_fn=loss)
        x = optax.apply_updates(x, updates)
        n_ls = optax.tree_utils.tree_get(state, "num_linesearch_steps")
        return (x, state), (v, n_ls)

    @jax.jit
    def chunk(x, state):
        (x, state), (vs, nls) = jax.lax.scan(step, (x, state), None, length=every)
        return x, state, vs, nls

    x, state = flat0, opt.init(flat0)
    losses, n_evals, errors = [], [], {}
    total = 0
    t0 = time.perf_counter()
    for i in range(0, iters, every):
        x, state, vs, nls = chunk(x, state)
        # per iteration: the line search's trial evaluations (each a value and a gradient) plus
        # the evaluation at the accepted point when it is not recycled
        for v, n in zip(np.asarray(vs), np.asarray(nls), strict=True):
            total += int(n) + (0 if recycle else 1)
            losses.append(float(v))
            n_evals.append(total)
        errors[i + every] = float(error(x))
    wall = time.perf_counter() - t0
    # losses[i] is the loss *before* iteration i here; shift to "after" as for torch
    final_loss = float(loss(x))
    losses = losses[1:] + [final_loss]
    return dict(losses=losses, evals=n_evals, errors=errors, wall_s=wall, final_loss=final_loss)


VARIANTS = {
    "optax.lbfgs(100), jaxsci's phase": lambda: (optax.lbfgs(memory_size=100), False),
    "optax.lbfgs(100), recycled value/grad": lambda: (optax.lbfgs(memory_size=100), True),
    "optax.lbfgs(100), zoom max 25, no approx. Wolfe": lambda: (
        optax.lbfgs(
            memory_size=100,
            linesearch=optax.scale_by_zoom_linesearch(
                max_linesearch_steps=25, approx_dec_rtol=None, initial_guess_strategy="one"
            ),
        ),
        True,
    ),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--adam-steps", type=int, default=3000)
    ap.add_argument("--iters", type=int, default=1500)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--n-interior", type=int, default=4096)
    ap.add_argument("--float64", action="store_true")
    ap.add_argument("--variant", default="", help="result file suffix")
    args = ap.parse_args()
    if args.float64:
        jax.config.update("jax_enable_x64", True)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        problem, sol = start(seed, args.adam_steps, args.n_interior)
        flat0, loss, value_and_grad, error = make_loss(problem, sol)
        base = {"seed": seed, "start_loss": float(loss(flat0)), "start_error": float(error(flat0))}
        print(
            f"seed {seed}: after Adam loss {base['start_loss']:.3e} error {base['start_error']:.3e}"
        )
        results = {
            "torch.optim.LBFGS(100, strong_wolfe)": run_torch(
                flat0, value_and_grad, error, args.iters, args.every
            )
        }
        for name, make in VARIANTS.items():
            opt, recycle = make()
            results[name] = run_optax(flat0, loss, error, args.iters, args.every, opt, recycle)
        for name, r in results.items():
            errs = r["errors"]
            print(
                f"  {name:48s} loss {r['final_loss']:.3e} error {errs[max(errs)]:.3e} "
                f"evals {r['evals'][-1]:5d} wall {r['wall_s']:.1f} s  "
                + " ".join(f"{k}:{v:.1e}" for k, v in errs.items() if k % 500 == 0),
                flush=True,
            )
        rows.append({**base, "variants": results})
    write_result(
        "peers/lbfgs_torch_vs_optax",
        {"args": vars(args), "rows": rows},
        variant=args.variant,
        packages=("torch",),
    )


if __name__ == "__main__":
    main()
