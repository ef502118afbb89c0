"""The pure training step `TrainState -> (TrainState, metrics)` and the state it carries."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax
from jaxtyping import Array, Key, PRNGKeyArray, PyTree

LossFn = Callable[[PyTree, PyTree, PRNGKeyArray], tuple[Array, dict[str, Array]]]
UpdateFn = Callable[[PyTree, PyTree, PRNGKeyArray, Array], PyTree]
# one key, or one per ensemble member (`fit(..., ensemble=True)`)
Keys = PRNGKeyArray | Key[Array, " ensemble"]


class TrainState(eqx.Module):
    """Everything a training run carries from one step to the next.

    - `params`: the trainable PyTree (a model, or `(model, learned problem parameters)`).
    - `opt_state`: the optax state.
    - `extra`: non-trained state (collocation points, adaptive loss weights).
    - `step`: number of steps taken.
    - `failed_step`: `-1`, or the first step whose loss or update was not finite.
    - `key`: the run's base key; step `k` uses `fold_in(key, k)`.
    """

    params: PyTree
    opt_state: PyTree
    extra: PyTree
    step: Array
    failed_step: Array
    key: Keys


def _finite(tree) -> Array:
    leaves = [
        jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree) if eqx.is_inexact_array(x)
    ]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


class Step(eqx.Module):
    """The pure step `TrainState -> (TrainState, metrics)` used by `fit` (exposed for users who
    drive their own loop). `optimizer` may need the loss value (L-BFGS): it gets `value`,
    `grad` and `value_fn` through optax's extra-args protocol. With a line search
    (`optax.lbfgs`) the metrics hold `linesearch_steps`: the loss and gradient evaluations
    the step's search made.

    With `reuse_linesearch=True` the step takes the loss and gradient at the current parameters
    from the optimiser's state, where its line search left them at the point it accepted
    (`optax.value_and_grad_from_state`; the metrics cost one forward pass), instead of
    evaluating them again: an L-BFGS step then costs its line search alone (about one
    evaluation instead of two). Valid only for a deterministic loss on a fixed `extra` (no
    `update_extra`), and the state must hold the value at its parameters: `fit` primes it at
    the start of every chunk (`prime_linesearch` in a loop of your own).

    A `Step` is a PyTree: jitted functions taking it recompile only when its static parts change
    (the loss function, optimiser or update rule objects), not on every `fit` call."""

    loss_fn: LossFn
    optimizer: optax.GradientTransformation
    update_extra: UpdateFn | None = None
    reuse_linesearch: bool = eqx.field(static=True, default=False)

    def __call__(self, state: TrainState, count: Array | None = None):
        """One step. `count`: the step number `update_extra` sees (default `state.step`); an
        ensemble passes its members' common count from outside its `vmap`, so that an
        every-N-steps update stays a `lax.cond` instead of both branches at every step."""
        optimizer = optax.with_extra_args_support(self.optimizer)
        kloss, kextra = _step_keys(state)
        params, static = eqx.partition(state.params, eqx.is_inexact_array)

        def scalar_loss(p):
            return self.loss_fn(eqx.combine(p, static), state.extra, kloss)

        if self.reuse_linesearch:
            loss = optax.tree.get(state.opt_state, "value")
            grads = optax.tree.get(state.opt_state, "grad")
            metrics = scalar_loss(params)[1]  # one forward pass
        else:
            (loss, metrics), grads = jax.value_and_grad(scalar_loss, has_aux=True)(params)
        updates, opt_state = optimizer.update(
            grads,
            state.opt_state,
            params,
            value=loss,
            grad=grads,
            value_fn=lambda p: scalar_loss(p)[0],
        )
        new_params = optax.apply_updates(params, updates)
        ok = jnp.isfinite(loss) & _finite(grads) & _finite(new_params) & (state.failed_step < 0)
        pick = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, old)
        params = pick(new_params, params)
        opt_state = pick(opt_state, state.opt_state)
        full = eqx.combine(params, static)
        extra = state.extra
        if self.update_extra is not None:
            at = state.step if count is None else count
            extra = pick(self.update_extra(full, state.extra, kextra, at), state.extra)
        failed = jnp.where((state.failed_step < 0) & ~ok, state.step, state.failed_step)
        new_state = TrainState(
            full, opt_state, extra, state.step + ok.astype(state.step.dtype), failed, state.key
        )
        searched = _linesearch_steps(opt_state)
        if searched is not None:  # what the step cost: about one evaluation per search step
            metrics = {**metrics, "linesearch_steps": searched}
        return new_state, {"loss": loss, **metrics}


def _linesearch_steps(opt_state) -> Array | None:
    """The step count of the line search in `opt_state` (optax's `num_linesearch_steps`), or
    `None` without one (or with several)."""
    try:
        steps = optax.tree.get(opt_state, "num_linesearch_steps")
    except KeyError:  # more than one line search in a chain of the user's
        return None
    return None if steps is None else jnp.asarray(steps, jnp.int32)


def _step_keys(state: TrainState):
    """The keys of the loss and of the `extra` update at `state.step`."""
    return jr.split(jr.fold_in(state.key, state.step))


def holds_linesearch_values(opt_state) -> bool:
    """Whether an optimiser state keeps its line search's `value` and `grad` (optax.lbfgs)."""
    return (
        optax.tree.get(opt_state, "value") is not None
        and optax.tree.get(opt_state, "grad") is not None
    )


def make_step(loss_fn: LossFn, optimizer, update_extra: UpdateFn | None = None) -> Step:
    """The `Step` for a loss, optimiser and optional per-step update of `extra`."""
    return Step(loss_fn, optimizer, update_extra)


def _prime(step: Step, state: TrainState, ensemble: bool) -> TrainState:
    """`state` with the loss and gradient at its parameters stored as the line search's."""

    def one(s: TrainState) -> TrainState:
        params, static = eqx.partition(s.params, eqx.is_inexact_array)
        kloss = _step_keys(s)[0]
        value, grad = jax.value_and_grad(
            lambda p: step.loss_fn(eqx.combine(p, static), s.extra, kloss)[0]
        )(params)
        stored = optax.tree.get(s.opt_state, "value")
        opt_state = optax.tree.set(s.opt_state, value=value.astype(stored.dtype), grad=grad)
        return eqx.tree_at(lambda t: t.opt_state, s, opt_state)

    return eqx.filter_vmap(one)(state) if ensemble else one(state)


@eqx.filter_jit
def prime_linesearch(step: Step, state: TrainState, ensemble: bool = False) -> TrainState:
    """`state` with the loss and gradient at its parameters stored where the optimiser's line
    search keeps them (`value`, `grad`), for a `Step` with `reuse_linesearch=True` in a loop of
    your own (`fit` primes at the start of each chunk)."""
    return _prime(step, state, ensemble)


def init_state(params, optimizer, *, key: Keys, extra: PyTree = None) -> TrainState:
    """The state at step 0."""
    opt_state = optax.with_extra_args_support(optimizer).init(
        eqx.filter(params, eqx.is_inexact_array)
    )
    # optax.lbfgs's line search info holds weakly typed scalars
    opt_state = _strongly_typed(opt_state)
    return TrainState(
        params, opt_state, extra, jnp.asarray(0, jnp.int32), jnp.asarray(-1, jnp.int32), key
    )


def _strongly_typed(tree: PyTree) -> PyTree:
    """`tree` with every array strongly typed: a weakly typed leaf (`jnp.full(shape, 0.5)`, a
    scalar in an optimiser's state) comes back strongly typed from the first step, and the
    second chunk would compile again."""
    return jax.tree_util.tree_map(
        lambda x: jnp.asarray(x, dtype=x.dtype) if eqx.is_array(x) else x, tree
    )
