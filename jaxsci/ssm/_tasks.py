"""Sequence tasks for training and benchmarking SSMs: the copying task (generated on the fly)
and sequential digits (scikit-learn's bundled 8 x 8 images, read pixel by pixel)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._checks import check_int

COPY_SYMBOLS, COPY_LENGTH, COPY_TOKENS = 8, 10, 10


def copying_batch(
    key: PRNGKeyArray, batch: int, gap: int
) -> tuple[Float[Array, "batch length 10"], Int[Array, "batch 10"]]:
    """A batch of the copying task (Arjovsky, Shah, Bengio 2016; HiPPO, Gu et al. 2020, Sec. 4).

    Remember 10 random symbols over a gap of blanks and replay them after a delimiter. Tokens:
    0 blank, 1-8 symbols, 9 delimiter, one-hot. The first 10 positions hold the symbols,
    position `10 + gap - 1` the delimiter; the model must output the symbols at the last 10
    positions (chance accuracy 1/8).

    **Returns:** `(inputs, targets)`: one-hot inputs `(batch, gap + 20, 10)` and the symbols
    `(batch, 10)` in 0..7.
    """
    check_int(batch, "batch", "copying_batch")
    check_int(gap, "gap", "copying_batch")
    length = gap + 2 * COPY_LENGTH
    symbols = jr.randint(key, (batch, COPY_LENGTH), 0, COPY_SYMBOLS)
    tokens = jnp.zeros((batch, length), jnp.int32)
    tokens = tokens.at[:, :COPY_LENGTH].set(symbols + 1)
    tokens = tokens.at[:, length - COPY_LENGTH - 1].set(COPY_TOKENS - 1)
    return jax.nn.one_hot(tokens, COPY_TOKENS), symbols


def digits_split():
    """Sequential digits: `(x_train, y_train, x_test, y_test)` with sequences `(n, 64, 1)` of
    pixels in [0, 1] and labels 0..9; a fixed stratified 80/20 split (`random_state=0`: 1437
    training, 360 test images) of scikit-learn's `load_digits` (needs scikit-learn)."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ImportError(
            "digits_split needs scikit-learn (`pip install scikit-learn`, or the `test` extra)"
        ) from None

    images, labels = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(
        images / 16.0, labels, test_size=0.2, random_state=0, stratify=labels
    )
    seq = lambda a: jnp.asarray(a, jnp.float32)[:, :, None]
    return seq(xtr), jnp.asarray(ytr), seq(xte), jnp.asarray(yte)
