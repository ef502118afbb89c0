"""`until_stalled`: a line-search optimiser that stops moving once its loss stops going down."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from .._checks import check_float, check_int


class StallState(NamedTuple):
    """`until_stalled`'s state: the inner optimiser's, the loss at the last improvement
    (`anchor`), the steps since (`since`), the steps taken (`count`) and `stalled_at`: the
    step after which the updates stopped, `-1` while they go on."""

    inner: optax.OptState
    anchor: Array
    since: Array
    count: Array
    stalled_at: Array


def until_stalled(
    optimizer: optax.GradientTransformation, patience: int, rtol: float = 1e-4
) -> optax.GradientTransformationExtraArgs:
    """`optimizer` (one with a line search that keeps the loss at the point it accepted,
    `optax.lbfgs`) until `patience` steps in a row have not lowered the loss below
    `(1 - rtol)` times its value at the last step that did; from then on every update is zero
    and the line search does not run (a skipped step costs no evaluation).

    For a deterministic loss on fixed points (`pinn.solve`'s L-BFGS phase): once the search
    fails at float precision it spends its 20 evaluations a step to move nothing (BENCHMARKS.md,
    "Where the L-BFGS phase's time goes"). Until it stalls, the iterates are the optimiser's
    (the same arithmetic, compiled inside a `lax.cond`: equal to rounding). `stalled_at` in the
    state (`optax.tree.get(state, "stalled_at")`) says when.
    """
    check_int(patience, "patience", "until_stalled")
    check_float(rtol, "rtol", "until_stalled", positive=True)
    inner = optax.with_extra_args_support(optimizer)

    def init(params):
        state = inner.init(params)
        value = optax.tree.get(state, "value")
        if value is None:
            raise ValueError(
                "until_stalled: `optimizer` must keep its line search's `value` in its state "
                "(optax.lbfgs, optax.scale_by_zoom_linesearch)"
            )
        zero = jnp.zeros((), jnp.int32)
        inf = jnp.full((), jnp.inf, jnp.asarray(value).dtype)
        return StallState(state, inf, zero, zero, zero - 1)

    def update(updates, state: StallState, params=None, **extra):
        def step(_):
            new, inner_state = inner.update(updates, state.inner, params, **extra)
            value = optax.tree.get(inner_state, "value")  # the loss where it went
            anchor = state.anchor  # inf before the first step
            bar = jnp.where(jnp.isfinite(anchor), anchor - rtol * jnp.abs(anchor), anchor)
            better = value < bar
            since = jnp.where(better, 0, state.since + 1)
            stalled = jnp.where(since >= patience, state.count + 1, -1)
            anchor = jnp.where(better, value, state.anchor).astype(state.anchor.dtype)
            return new, StallState(inner_state, anchor, since, state.count + 1, stalled)

        def rest(_):
            searched = optax.tree.get(state.inner, "num_linesearch_steps")
            inner_state = state.inner
            if searched is not None:  # this step searched nothing
                inner_state = optax.tree.set(inner_state, num_linesearch_steps=0 * searched)
            zero = jax.tree_util.tree_map(jnp.zeros_like, updates)
            return zero, state._replace(inner=inner_state, count=state.count + 1)

        return jax.lax.cond(state.stalled_at >= 0, rest, step, None)

    return optax.GradientTransformationExtraArgs(init, update)
