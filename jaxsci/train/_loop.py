"""The training loop every jaxsci model uses.

One jitted step, scanned `chunk_size` times with `jax.lax.scan`; the host only runs between
chunks (progress, history, checkpoints). The step is pure: `TrainState -> TrainState`, with the
PRNG key of step `k` derived as `fold_in(key, k)`, so a run split into chunks, or interrupted and
resumed from a checkpoint, follows exactly the same path as an uninterrupted one.

A step whose loss, gradients or updated parameters are not finite is rejected: the state keeps
the last good parameters, records the step in `failed_step`, and every later step is a no-op.
The host sees the flag at the end of the chunk and stops; the result's `result` code says so
and `stats["failed_step"]` names the step (`throw=True` raises `SolveFailed` holding it).

A checkpoint (`Loop.checkpoint`) is written after every chunk, atomically, with a header that
lets a resume refuse a truncated, corrupted or foreign file (`_checkpoint.py`). When a stop is
requested (`jaxsci run` does on SIGINT and SIGTERM, `_interrupt.py`), the loop stops at the end
of the running chunk, after its checkpoint, and raises `Interrupted`; a SIGKILL loses at most
the running chunk, since the last chunk's checkpoint is on disk.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Key, PRNGKeyArray, PyTree

from .._checks import check_int
from .._results import RESULTS, raise_if_failed
from ._checkpoint import load_checkpoint, save_checkpoint
from ._flat import _Flat, _OnTree
from ._interrupt import Interrupted, _Deferring, stop_requested
from ._options import Loop
from ._sharding import shard_state, to_local

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


class TrainResult(eqx.Module):
    """What `fit` returns: the final state, the per-step history, run statistics and the
    `result` code (`jaxsci.RESULTS`: `successful`, or `nonfinite` when training stopped at a
    non-finite step).

    `history` maps `"loss"` and each metric name to a NumPy array with one entry per step (the
    value *before* that step's update). `stats` has `steps`, `wall_s` (training time, compile
    included), `compile_s`, `steps_per_s` (steady state, excluding the first chunk) and
    `failed_step` (`None` when training finished)."""

    state: TrainState
    history: dict[str, np.ndarray]
    stats: dict[str, Any]
    result: RESULTS = eqx.field(static=True, default=RESULTS.successful)

    @property
    def params(self) -> PyTree:
        return self.state.params


def _finite(tree) -> Array:
    leaves = [
        jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(tree) if eqx.is_inexact_array(x)
    ]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


class Step(eqx.Module):
    """The pure step `TrainState -> (TrainState, metrics)` used by `fit` (exposed for users who
    drive their own loop). `optimizer` may need the loss value (L-BFGS): it gets `value`,
    `grad` and `value_fn` through optax's extra-args protocol.

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

    def __call__(self, state: TrainState):
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
            extra = pick(self.update_extra(full, state.extra, kextra, state.step), state.extra)
        failed = jnp.where((state.failed_step < 0) & ~ok, state.step, state.failed_step)
        new_state = TrainState(
            full, opt_state, extra, state.step + ok.astype(state.step.dtype), failed, state.key
        )
        return new_state, {"loss": loss, **metrics}


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


@eqx.filter_jit
def _run_chunk(step: Step, state: TrainState, n: int, ensemble: bool):
    if step.reuse_linesearch:
        # one evaluation per chunk, inside the chunk's program: a separate jitted priming
        # call cost a compilation of its own (0.67 s of a 10 s Poisson run)
        state = _prime(step, state, ensemble)
    fn = eqx.filter_vmap(step) if ensemble else step
    dyn, stat = eqx.partition(state, eqx.is_array)

    def body(d, _):
        new, metrics = fn(eqx.combine(d, stat))
        return eqx.partition(new, eqx.is_array)[0], metrics

    dyn, metrics = jax.lax.scan(body, dyn, None, length=n)
    return eqx.combine(dyn, stat), metrics


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


def fit(
    loss_fn: LossFn,
    params: PyTree,
    optimizer: optax.GradientTransformation,
    *,
    steps: int,
    key: Keys,
    extra: PyTree = None,
    update_extra: UpdateFn | None = None,
    loop: Loop = Loop(),
    ensemble: bool = False,
    reuse_linesearch: bool = False,
    flat: bool = False,
    throw: bool = True,
) -> TrainResult:
    """Minimise `loss_fn` over `params` with an optax optimiser, in scanned jitted chunks.

    **Arguments:**

    - `loss_fn`: `loss_fn(params, extra, key) -> (loss, metrics)`, `metrics` a dict of scalars.
    - `params`: initial trainable PyTree (non-float leaves are kept static).
    - `optimizer`: any optax transformation, including `optax.lbfgs()`.
    - `steps`: total number of steps (a resumed run counts the steps already taken).
    - `key`: PRNG key for the run.
    - `extra`, `update_extra`: non-trained state and its per-step update
      `update_extra(params, extra, key, step) -> extra` (adaptive sampling, loss weights).
    - `loop`: a `Loop`: chunk size, checkpoint and resume, progress bar, callback, device mesh.
    - `ensemble`: `params`, `extra` and `key` carry a leading ensemble axis (e.g. from
      `eqx.filter_vmap(init)(keys)`); every member trains independently in one vmapped step.
    - `reuse_linesearch`: for an optimiser with a line search (`optax.lbfgs`) on a
      deterministic loss with a fixed `extra` (no `update_extra`): each step takes the loss and
      gradient the line search computed at the point it accepted instead of evaluating them
      again (see `Step`), which halves the evaluations of an L-BFGS step. Same iterates.
    - `flat`: the optimiser works on one vector holding every floating-point parameter (one
      per member) instead of the PyTree's leaves; the loss, `update_extra` and `callback`
      still see the PyTree. The same arithmetic, in a few long array operations instead of
      many short ones per leaf: an optimiser with much bookkeeping per leaf (L-BFGS's two-loop
      recursion and line-search state) compiles and runs faster on a small model. Leaves of
      mixed precision are held in their common dtype. A checkpoint holds the flat state.
    - `throw`: raise `jaxsci.SolveFailed` (holding this result as `.solution`) when training
      stops at a non-finite step; `False` returns the result with its `result` code.

    Calling `fit` again with the same `loss_fn`, `optimizer` and `update_extra` objects and
    the same shapes reuses the compiled chunk (no retracing); so does every chunk of a run.

    **Returns:** a `TrainResult`. If a step produced a NaN or inf (in every member, for an
    ensemble), training stops after that chunk: `result` is `RESULTS.nonfinite`,
    `stats["failed_step"]` names the step and `state.params` are the last good ones. When a
    stop was requested (`jaxsci run` on SIGINT/SIGTERM), `fit` raises `train.Interrupted` after
    the running chunk and its checkpoint (its `.solution` holds the result at that step).
    """
    check_int(steps, "steps", "fit", minimum=0)
    if not isinstance(loop, Loop):
        raise TypeError(f"fit: `loop` must be a train.Loop, got {type(loop).__name__}")
    if reuse_linesearch and update_extra is not None:
        raise ValueError(
            "fit: `reuse_linesearch=True` needs a fixed `extra` (no `update_extra`): a value "
            "stored by the line search would be stale once `extra` changes"
        )
    params = _strongly_typed(params)
    to_tree = None
    if flat:
        flattened, params = _Flat.of(params, ensemble)
        loss_fn = _OnTree(loss_fn, flattened)
        if update_extra is not None:
            update_extra = _OnTree(update_extra, flattened)
        to_tree = lambda v: flattened.trees(v, ensemble)  # noqa: E731
    step = Step(loss_fn, optimizer, update_extra, reuse_linesearch)
    state, history = _initial(step, params, extra, key, loop, ensemble)
    state, history, stats = _chunks(step, state, history, steps, loop, ensemble, to_tree)
    if to_tree is not None:
        state = eqx.tree_at(lambda s: s.params, state, to_tree(state.params))
    hist = {k: np.concatenate(v, axis=-1) for k, v in history.items()} if history else {}
    failed = stats["failed_step"]
    if stats["interrupted"] is not None:
        code = RESULTS.interrupted
    else:
        code = RESULTS.successful if failed is None else RESULTS.nonfinite
    result = TrainResult(state, hist, stats, code)
    if stats["interrupted"] is not None:
        raise Interrupted(stats["interrupted"], _steps_done(state), loop.checkpoint, result)
    return raise_if_failed("fit", result.result, f"first at step {failed}", result, throw)


def _initial(step: Step, params, extra, key, loop: Loop, ensemble: bool):
    """The state at step 0 (or the checkpoint's, resuming) and the history so far."""
    init = lambda p, e, k: init_state(p, step.optimizer, key=k, extra=e)  # noqa: E731
    state = (eqx.filter_vmap(init) if ensemble else init)(params, extra, key)
    if step.reuse_linesearch and not holds_linesearch_values(state.opt_state):
        raise ValueError(
            "fit: `reuse_linesearch=True` needs an optimiser whose state stores the line "
            "search's `value` and `grad` (optax.lbfgs, optax.scale_by_zoom_linesearch)"
        )
    history: dict[str, list[np.ndarray]] = {}
    if loop.resume and os.path.exists(loop.checkpoint):
        state, history = load_checkpoint(loop.checkpoint, state)
    if loop.mesh is not None:
        state = shard_state(state, loop.mesh, ensemble=ensemble)
    return state, history


def _chunks(step: Step, state, history, steps: int, loop: Loop, ensemble: bool, to_tree):
    """Run chunks until `steps` are done, every member has failed, or a stop was requested
    (`_interrupt.request_stop`: then after the running chunk and its checkpoint); the host
    reports, calls back and checkpoints between chunks. Returns the state, history and stats."""
    done = _steps_done(state)
    t_start = time.perf_counter()
    t_first = None
    steady_steps, steady_time = 0, 0.0
    failed = _failed(state, ensemble)  # a resumed run may have stopped at a non-finite step
    interrupted = None
    bar = _progress_bar(done, steps) if loop.progress and done < steps else None
    with _Deferring():
        while done < steps and failed is None:
            interrupted = stop_requested()
            if interrupted is not None:
                break
            n = min(loop.chunk_size, steps - done)
            t0 = time.perf_counter()
            state, metrics = _run_chunk(step, state, n, ensemble)
            metrics = jax.tree_util.tree_map(np.asarray, to_local(metrics))
            dt = time.perf_counter() - t0
            if t_first is None:
                t_first = dt
            else:
                steady_steps, steady_time = steady_steps + n, steady_time + dt
            for name, values in metrics.items():
                history.setdefault(name, []).append(
                    np.moveaxis(values, 0, -1) if ensemble else values
                )
            done += n
            failed = _failed(state, ensemble)
            if bar is not None:
                bar.update(n)
                bar.set_postfix_str(_loss_text(np.asarray(metrics["loss"])[-1]), refresh=True)
            # the callback before the checkpoint: what it records for this chunk (an error
            # curve) is on disk before the checkpoint that a resumed run continues from
            if loop.callback is not None:
                local = to_local(state.params)
                loop.callback(done, local if to_tree is None else to_tree(local))
            if loop.checkpoint is not None:
                # every process: `to_local` gathers split arrays (a collective), and each
                # process resumes from its own file (one run directory per process)
                save_checkpoint(loop.checkpoint, to_local(state), history)
    if bar is not None:
        bar.close()
    if loop.mesh is not None:
        state = to_local(state)
    wall = time.perf_counter() - t_start
    fs = np.asarray(state.failed_step)
    stats = {
        "steps": int(np.max(np.asarray(state.step))),
        "wall_s": wall,
        "compile_s": t_first if t_first is not None else 0.0,
        "steps_per_s": steady_steps / steady_time
        if steady_time > 0
        else (done / wall if wall > 0 else math.nan),
        "failed_step": failed,
        "failed_members": [int(i) for i in np.flatnonzero(fs >= 0)] if ensemble else None,
        "interrupted": interrupted,
    }
    return state, history, stats


def _failed(state: TrainState, ensemble: bool) -> int | None:
    """The first non-finite step, once training has stopped (every member, for an ensemble)."""
    fs = np.asarray(to_local(state.failed_step))
    if np.any(fs >= 0) and (not ensemble or np.all(fs >= 0)):
        return int(np.min(fs[fs >= 0]))
    return None


def _progress_bar(done: int, steps: int):
    """A tqdm bar on stderr: steps, rate, time remaining and the loss (updated per chunk)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=steps, initial=done, unit="step", file=sys.stderr, dynamic_ncols=True, leave=True
    )


def _loss_text(loss: np.ndarray) -> str:
    """`loss 1.234e-05`, or the mean and range over an ensemble, in scientific notation."""
    loss = np.asarray(loss, np.float64)
    if loss.ndim == 0:
        return f"loss {float(loss):.3e}"
    return f"loss {np.mean(loss):.3e} (members {np.min(loss):.2e}..{np.max(loss):.2e})"


def _steps_done(state: TrainState) -> int:
    return int(np.max(np.asarray(state.step) + (np.asarray(state.failed_step) >= 0)))
