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
import os
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from jaxsci import ssm
from jaxsci.train import fit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seeds import run_seeds, write_summary  # noqa: E402

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
    """Train on fresh batches with `jaxsci.train.fit` (one jitted step scanned in chunks of
    `log_every` steps); return the final-iterate evaluation, the wall time and the model."""
    k_model, k_data, k_eval = jr.split(key, 3)
    model = make_model(k_model, length=gap + 2 * N_COPY, **model_kwargs)
    sched = optax.warmup_cosine_decay_schedule(0.0, lr, min(100, steps // 10 + 1), steps, lr * 0.05)
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(sched, weight_decay=0.0))

    def loss_fn(model, extra, k):
        loss, acc = loss_and_accuracy(model, *copying_batch(k, batch, gap))
        return loss, {"accuracy": acc}

    run = fit(loss_fn, model, opt, steps=steps, key=k_data, chunk_size=log_every, progress=verbose)
    # a non-finite step stops training; `run.params` are then the last good ones
    model, wall, failed = run.params, run.stats["wall_s"], run.stats["failed_step"]
    loss, acc = run.history["loss"], run.history["accuracy"]
    history = [(i, float(loss[i]), float(acc[i])) for i in range(0, len(loss), log_every)]

    @eqx.filter_jit
    def evaluate(model, k):
        x, y = copying_batch(k, 64, gap)
        return loss_and_accuracy(model, x, y)

    accs = [float(evaluate(model, k)[1]) for k in jr.split(k_eval, eval_batches)]
    res = dict(accuracy=float(np.mean(accs)), wall_s=wall, failed_step=failed, history=history)
    return res, model


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
    names = ("gap", "steps", "batch", "lr", "layer", "hidden", "depth", "state_size")
    setup = {k: getattr(a, k) for k in names}
    rows = run_seeds(lambda key: train(key, **setup), a.seeds, "accuracy")
    write_summary(a.out, rows, "accuracy", task="copying", length=a.gap + 20, **setup)


if __name__ == "__main__":
    main()
