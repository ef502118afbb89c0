"""Copying task (Arjovsky, Shah, Bengio 2016; HiPPO, Gu et al. 2020, Sec. 4): remember 10 random
symbols over a gap of T blanks and replay them after a delimiter. Generated on the fly.

    python experiments/ssm_copying.py                       # T = 1000 (length 1020), S4D
    python experiments/ssm_copying.py --gap 100 --steps 300 # small

Input at position i is one of 10 tokens (0 blank, 1-8 symbols, 9 delimiter), one-hot; the
first 10 positions hold the symbols, position 10 + gap - 1 the delimiter, and the model must
output the symbols at the last 10 positions. Accuracy is per copied symbol on fresh sequences
(chance: 1/8). The loss is cross-entropy on the last 10 positions. Prints a table and writes
JSON to experiments/results/ssm_copying.json.
"""

import argparse
import json
import os
import platform
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from jaxsci import ssm

N_SYMBOLS, N_COPY, N_TOKENS = 8, 10, 10


def copying_batch(key, batch, gap):
    """`(inputs (batch, length, 10) one-hot, targets (batch, 10) in 0..7)`, length = gap + 20."""
    length = gap + 2 * N_COPY
    symbols = jr.randint(key, (batch, N_COPY), 0, N_SYMBOLS)
    tokens = jnp.zeros((batch, length), jnp.int32)
    tokens = tokens.at[:, :N_COPY].set(symbols + 1)
    tokens = tokens.at[:, length - N_COPY - 1].set(N_TOKENS - 1)
    return jax.nn.one_hot(tokens, N_TOKENS), symbols


def make_model(key, *, layer="s4d", hidden=64, depth=2, state_size=64, length=None, dt_max=1e-1):
    kwargs = dict(state_size=state_size, dt_min=1e-3, dt_max=dt_max)
    if layer == "s4":
        kwargs["length"] = length
    return ssm.SequenceModel(N_TOKENS, N_SYMBOLS, hidden, depth, layer=layer, key=key, **kwargs)


def loss_and_accuracy(model, x, y):
    logits = jax.vmap(model)(x)[:, -N_COPY:]
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, jnp.mean(jnp.argmax(logits, -1) == y)


def train(
    key,
    *,
    gap,
    steps,
    batch=32,
    lr=3e-3,
    log_every=100,
    eval_batches=8,
    verbose=True,
    **model_kwargs,
):
    """Train on fresh batches; return the final-iterate evaluation and the wall time."""
    k_model, k_data, k_eval = jr.split(key, 3)
    model = make_model(k_model, length=gap + 2 * N_COPY, **model_kwargs)
    sched = optax.warmup_cosine_decay_schedule(0.0, lr, min(100, steps // 10 + 1), steps, lr * 0.05)
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(sched, weight_decay=0.0))
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(model, state, k):
        x, y = copying_batch(k, batch, gap)
        (loss, acc), grads = eqx.filter_value_and_grad(loss_and_accuracy, has_aux=True)(model, x, y)
        updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_inexact_array))
        return eqx.apply_updates(model, updates), state, loss, acc

    @eqx.filter_jit
    def evaluate(model, k):
        x, y = copying_batch(k, 64, gap)
        return loss_and_accuracy(model, x, y)

    t0 = time.perf_counter()
    history = []
    for i, k in enumerate(jr.split(k_data, steps)):
        model, state, loss, acc = step(model, state, k)
        if verbose and (i % log_every == 0 or i == steps - 1):
            history.append((i, float(loss), float(acc), time.perf_counter() - t0))
            print(
                f"step {i:5d}  loss {float(loss):.4f}  acc {float(acc):.3f}  "
                f"{time.perf_counter() - t0:7.1f} s",
                flush=True,
            )
    jax.block_until_ready(model)
    wall = time.perf_counter() - t0
    accs = [float(evaluate(model, k)[1]) for k in jr.split(k_eval, eval_batches)]
    return dict(accuracy=float(np.mean(accs)), wall_s=wall, history=history), model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gap", type=int, default=1000)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--layer", default="s4d", choices=["s4", "s4d", "s5"])
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--state-size", type=int, default=64)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "results", "ssm_copying.json")
    )
    a = p.parse_args()
    rows = []
    for seed in range(a.seeds):
        res, _ = train(
            jr.key(seed),
            gap=a.gap,
            steps=a.steps,
            batch=a.batch,
            lr=a.lr,
            layer=a.layer,
            hidden=a.hidden,
            depth=a.depth,
            state_size=a.state_size,
        )
        rows.append(dict(seed=seed, **res))
        print(
            f"seed {seed}: final accuracy {res['accuracy']:.4f}  wall {res['wall_s']:.1f} s",
            flush=True,
        )
    accs = np.array([r["accuracy"] for r in rows])
    summary = dict(
        task="copying",
        gap=a.gap,
        length=a.gap + 20,
        layer=a.layer,
        hidden=a.hidden,
        depth=a.depth,
        state_size=a.state_size,
        steps=a.steps,
        batch=a.batch,
        lr=a.lr,
        accuracy_mean=float(accs.mean()),
        accuracy_std=float(accs.std()),
        wall_s_mean=float(np.mean([r["wall_s"] for r in rows])),
        device=str(jax.devices()[0].device_kind),
        machine=platform.processor() or platform.machine(),
        runs=rows,
    )
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=1))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
