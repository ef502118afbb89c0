"""Sequential digits: scikit-learn's bundled 8 x 8 handwritten digits (1797 images, UCI) read
pixel by pixel as sequences of length 64, classified by an S4D sequence model. A real-data smoke
task for `jaxsci.ssm` (small and short-range; the long-range result is `ssm_copying.py`).

    python experiments/ssm_digits.py                 # 3 seeds, 2000 steps
    python experiments/ssm_digits.py --steps 300     # quick

Pixels are scaled to [0, 1]; the split is a fixed stratified 80/20 (`train_test_split`,
random_state 0: 1437 training, 360 test images). The model's per-step logits are mean-pooled
over the sequence. Training is `jaxsci.train.fit` on random minibatches of the training set;
the test accuracy is that of the final parameters. Needs scikit-learn (the `test` extra has it).
Prints a table and writes experiments/results/ssm_digits.json.
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


def digits_split():
    """`(x_train, y_train, x_test, y_test)`: sequences `(n, 64, 1)` in [0, 1], labels 0..9."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(
        images / 16.0, labels, test_size=0.2, random_state=0, stratify=labels
    )
    seq = lambda a: jnp.asarray(a, jnp.float32)[:, :, None]
    return seq(xtr), jnp.asarray(ytr), seq(xte), jnp.asarray(yte)


def logits(model, x):
    return jax.vmap(lambda s: model(s).mean(axis=0))(x)


def train(key, data, *, steps, batch=64, lr=3e-3, hidden=64, depth=2, state_size=64, log=True):
    """Train on minibatches; return the final-iterate test accuracy, wall time and model."""
    xtr, ytr, xte, yte = data
    k_model, k_run = jr.split(key)
    model = ssm.SequenceModel(1, 10, hidden, depth, layer="s4d", state_size=state_size, key=k_model)
    sched = optax.warmup_cosine_decay_schedule(0.0, lr, min(100, steps // 10 + 1), steps, lr * 0.05)
    opt = optax.adamw(sched, weight_decay=0.01)

    def loss_fn(model, extra, k):
        idx = jr.choice(k, xtr.shape[0], (batch,), replace=False)
        out = logits(model, xtr[idx])
        loss = optax.softmax_cross_entropy_with_integer_labels(out, ytr[idx]).mean()
        return loss, {"accuracy": jnp.mean(jnp.argmax(out, -1) == ytr[idx])}

    run = fit(loss_fn, model, opt, steps=steps, key=k_run, chunk_size=min(500, steps), progress=log)
    model = run.params
    test_acc = float(jnp.mean(jnp.argmax(eqx.filter_jit(logits)(model, xte), -1) == yte))
    res = dict(
        test_accuracy=test_acc,
        final_train_loss=float(run.history["loss"][-1]),
        wall_s=run.stats["wall_s"],
        failed_step=run.stats["failed_step"],
    )
    return res, model


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--state-size", type=int, default=64)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "results", "ssm_digits.json")
    )
    a = p.parse_args()
    data = digits_split()
    setup = {k: getattr(a, k) for k in ("steps", "batch", "lr", "hidden", "depth", "state_size")}
    rows = run_seeds(lambda key: train(key, data, **setup), a.seeds, "test_accuracy")
    # context, not a peer: a classifier that sees the whole image at once
    from sklearn.linear_model import LogisticRegression

    flat = lambda x: np.asarray(x)[:, :, 0]
    logreg = LogisticRegression(max_iter=5000).fit(flat(data[0]), np.asarray(data[1]))
    logreg_acc = float(logreg.score(flat(data[2]), np.asarray(data[3])))
    print(f"logistic regression on whole images (context): test accuracy {logreg_acc:.4f}")
    write_summary(
        a.out,
        rows,
        "test_accuracy",
        task="sequential digits (sklearn load_digits, length 64)",
        n_train=int(data[0].shape[0]),
        n_test=int(data[2].shape[0]),
        layer="s4d",
        **setup,
        logistic_regression_test_accuracy=logreg_acc,
    )


if __name__ == "__main__":
    main()
