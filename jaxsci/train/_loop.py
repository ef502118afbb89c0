"""The training loop every jaxsci model uses.

One jitted step (`_step.py`), run `chunk_size` steps at a time by one compiled program; the
host only runs between chunks (progress, history, callback, checkpoints; `_chunks.py`). The
step is pure: `TrainState -> TrainState`, with the PRNG key of step `k` derived as
`fold_in(key, k)`, so a run split into chunks, or interrupted and resumed from a checkpoint,
follows exactly the same path as an uninterrupted one.

A step whose loss, gradients or updated parameters are not finite is rejected: the state keeps
the last good parameters, records the step in `failed_step`, and every later step is a no-op.
The host sees the flag at the end of the chunk and stops; the result's `result` code says so
and `stats["failed_step"]` names the step (`throw=True` raises `SolveFailed` holding it).

A checkpoint (`Loop.checkpoint`) is written after every chunk, atomically, with a header that
lets a resume refuse a truncated, corrupted or foreign file (`_checkpoint.py`). When a stop is
requested (`jaxsci run` does on SIGINT and SIGTERM, `_interrupt.py`), the loop stops within a
fraction of a second, at whatever step the running chunk has reached, checkpoints that step
and raises `Interrupted`; the resumed run goes on from there to the uninterrupted run's result.
A SIGKILL loses at most the running chunk, since the last chunk's checkpoint is on disk.
"""

from __future__ import annotations

import os
from typing import Any

import equinox as eqx
import numpy as np
import optax
from jaxtyping import PyTree

from .._checks import check_int
from .._precision import full_precision
from .._results import RESULTS, raise_if_failed
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import save_checkpoint as save_checkpoint
from ._chunks import _chunks, _steps_done
from ._flat import _Flat, _OnTree
from ._interrupt import Interrupted
from ._options import Loop
from ._sharding import shard_state
from ._step import Keys as Keys
from ._step import LossFn as LossFn
from ._step import Step as Step
from ._step import TrainState as TrainState
from ._step import UpdateFn as UpdateFn
from ._step import _strongly_typed
from ._step import holds_linesearch_values as holds_linesearch_values
from ._step import init_state as init_state
from ._step import make_step as make_step
from ._step import prime_linesearch as prime_linesearch


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


@full_precision
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
    """Minimise `loss_fn` over `params` with an optax optimiser, in jitted chunks.

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
    stop was requested (`jaxsci run` on SIGINT/SIGTERM), `fit` raises `train.Interrupted`
    within a fraction of a second, once the step reached is checkpointed (its `.solution`
    holds the result at that step).
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
