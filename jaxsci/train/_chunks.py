"""Running `fit`'s steps: one compiled program, called in pieces, and the host loop around it.

The program (`_run_steps`) takes `count` steps in a `lax.while_loop` whose body is the step, as a
`lax.scan` of `count` steps would, and returns their metrics in buffers of `MAX_PIECE` entries:
`count` is an argument, not a static length, so every piece, a run's last short chunk, a chunk
resumed half way and any chunk size reuse one compiled program (and the persistent compilation
cache's copy of it).

The host runs a chunk (`chunk_size` steps, aligned on multiples of it whatever step a run resumed
at, so reports, callbacks and checkpoints fall on the same steps) as pieces of about
`JAXSCI_STOP_CHECK_S` seconds (default 2: a piece boundary cost ~0.1 s on the SSM copying recipe,
20% of its steps at 0.5 s pieces, none measurable at 2 s), and between two pieces looks for a stop
request (`_interrupt.request_stop`, made by `jaxsci run` on SIGINT and SIGTERM). On one, it runs no
further piece and checkpoints the state at its exact step: a stop takes effect within one piece and
loses nothing. A piece boundary costs 0.6 to 1.1 ms of host time on the Poisson 2D recipe (a loaded
2-core machine), 0.1 to 0.2% of a piece. A host callback polled inside the program (`io_callback`)
could stop between two steps, but a program holding one is never written to JAX's persistent
compilation cache, and the chunk is the costliest program to compile. With several processes a chunk
is one piece (every process must call the same programs): a stop waits for its end.
"""

from __future__ import annotations

import math
import os
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checkpoint import save_checkpoint
from ._interrupt import _Deferring, stop_requested
from ._options import Loop
from ._sharding import to_local
from ._step import Step, TrainState, _prime, holds_linesearch_values

STOP_CHECK_ENV = "JAXSCI_STOP_CHECK_S"
MAX_PIECE = 4096  # steps: the metrics buffers' length (16 kB a float32 metric)


@eqx.filter_jit
def _run_steps(
    step: Step, state: TrainState, count, prime, ensemble: bool, split_members: bool = False
):
    """`count` (at most `MAX_PIECE`) steps from `state`; the metrics of step `i` at index `i`
    of buffers of `MAX_PIECE` entries. With `step.reuse_linesearch`, `prime` (a chunk's first piece)
    stores the loss and gradient at the parameters first. `split_members`: an ensemble's members
    are split across devices (`_ensemble_step`)."""
    dyn, stat = eqx.partition(state, eqx.is_array)
    if step.reuse_linesearch:
        # one evaluation per chunk, inside the program: a separate jitted priming call cost a
        # compilation of its own (0.67 s of a 10 s Poisson run). Not on a chunk resumed half
        # way: its checkpoint holds the line search's values, which an unbroken run uses there
        primed = lambda d: eqx.partition(_prime(step, eqx.combine(d, stat), ensemble), eqx.is_array)
        dyn = jax.lax.cond(prime, lambda d: primed(d)[0], lambda d: d, dyn)
    fn = _ensemble_step(step, split_members) if ensemble else step

    def one(d):
        new, metrics = fn(eqx.combine(d, stat))
        return eqx.partition(new, eqx.is_array)[0], metrics

    # traced once: its output shapes size the buffers, its jaxpr is the loop's body
    one = eqx.filter_closure_convert(one, dyn)
    buffers = jax.tree_util.tree_map(
        lambda s: jnp.zeros((MAX_PIECE, *s.shape), s.dtype), one.out_struct[1]
    )

    def body(carry):
        i, d, buf = carry
        d, metrics = one(d)
        put = lambda b, m: jax.lax.dynamic_update_index_in_dim(b, m, i, 0)
        return i + 1, d, jax.tree_util.tree_map(put, buf, metrics)

    start = (jnp.asarray(0, jnp.int32), dyn, buffers)
    _, dyn, buffers = jax.lax.while_loop(lambda c: c[0] < count, body, start)
    return eqx.combine(dyn, stat), buffers


def _ensemble_step(step: Step, split_members: bool = False):
    """`step` over an ensemble's members, with the step count its `update_extra` sees taken
    outside the members (the live members' common count; a member stopped at a non-finite
    step keeps its state whatever the update does), so that an every-N-steps update
    (resampling, NTK weights) is a `lax.cond` that runs when due, not a `select` of both
    branches at every step. Each member's keys still come from its own state.

    The members are vmapped, except with a line-search optimiser (its state holds the line
    search's `value`: `optax.lbfgs`), whose members run one after another inside the step
    (`lax.map`): under `vmap` the line search's `while_loop` runs until its slowest member is
    done and every `cond` in it becomes a `select` evaluating both branches, so each member
    paid for every branch and every member's evaluations. The default L-BFGS phase of a
    3-member ensemble (the zoo's bump, MLP 32 x 4, one core) took 263 ms a step vmapped
    against 68 ms for three separate calls (BENCHMARKS.md, "Ensembles, the line search and a
    32-wide MLP").
    With the members split across devices (`split_members`, a `Loop.mesh` of several) they
    stay vmapped: a loop over the split axis would gather it on every device."""

    def fn(state: TrainState):
        count = jnp.max(state.step)
        member = lambda s: step(s, count)  # noqa: E731
        if holds_linesearch_values(state.opt_state) and not split_members:
            dyn, stat = eqx.partition(state, eqx.is_array)

            def one(d):  # as `_run_steps`: the state's static part is the step's invariant
                new, metrics = member(eqx.combine(d, stat))
                return eqx.partition(new, eqx.is_array)[0], metrics

            dyn, metrics = jax.lax.map(one, dyn)
            return eqx.combine(dyn, stat), metrics
        return eqx.filter_vmap(member)(state)

    return fn


class _Pace:
    """The length of the next piece: `seconds` of steps at the pace the last piece ran (at
    most 4 times its length: a piece too short to time well does not make the next one long).
    With several processes, pieces of `MAX_PIECE` steps (the same on every process)."""

    def __init__(self):
        self.seconds = float(os.environ.get(STOP_CHECK_ENV, "2"))
        self.whole_chunks = jax.process_count() > 1
        self.next = 1

    @property
    def stops_inside(self) -> bool:
        """Whether a chunk may stop between two pieces (not with several processes, which
        must all take the same steps)."""
        return not self.whole_chunks

    def length(self, left: int) -> int:
        return min(left, MAX_PIECE) if self.whole_chunks else min(left, self.next, MAX_PIECE)

    def ran(self, length: int, seconds: float):
        fits = length * self.seconds / max(seconds, 1e-6)
        self.next = max(1, min(4 * length, int(fits)))


def _run_chunk(
    step: Step, state, start: int, n: int, size: int, ensemble: bool, pace: _Pace, split: bool
):
    """Steps `start` to `start + n` (inside one chunk of `size`) as pieces, until they are done
    or a stop is requested. Returns the state, the metrics of the steps taken and their number."""
    taken, pieces = 0, []
    while taken < n and not (taken and pace.stops_inside and stop_requested() is not None):
        length = pace.length(n - taken)
        prime = taken == 0 and start % size == 0
        t0 = time.perf_counter()
        state, metrics = _run_steps(
            step, state, jnp.asarray(length, jnp.int32), jnp.asarray(prime), ensemble, split
        )  # returns once the piece has run (filter_jit waits for it)
        pieces.append({k: np.asarray(m)[:length] for k, m in to_local(metrics).items()})
        pace.ran(length, time.perf_counter() - t0)
        taken += length
    return state, {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}, taken


def _chunks(step: Step, state, history, steps: int, loop: Loop, ensemble: bool, to_tree):
    """Run chunks until `steps` are done, every member has failed, or a stop was requested
    (then at the end of the running piece, with its checkpoint); the host reports, calls
    back and checkpoints between chunks. Returns the state, history and stats."""
    done = _steps_done(state)
    t_start = time.perf_counter()
    t_first = None
    steady_steps, steady_time = 0, 0.0
    failed = _failed(state, ensemble)  # a resumed run may have stopped at a non-finite step
    interrupted = None
    pace = _Pace()
    split = ensemble and loop.mesh is not None and loop.mesh.size > 1  # members over devices
    bar = _progress_bar(done, steps) if loop.progress and done < steps else None
    with _Deferring():
        while done < steps and failed is None and interrupted is None:
            interrupted = stop_requested()
            if interrupted is not None:
                break
            n = min(loop.chunk_size - done % loop.chunk_size, steps - done)
            t0 = time.perf_counter()
            state, metrics, taken = _run_chunk(
                step, state, done, n, loop.chunk_size, ensemble, pace, split
            )
            dt = time.perf_counter() - t0
            if t_first is None:
                t_first = dt
            else:
                steady_steps, steady_time = steady_steps + taken, steady_time + dt
            earlier = list(history.get("loss", ()))
            for name, values in metrics.items():
                if name not in history and earlier:
                    # a metric the checkpoint's chunks lack (written by an older jaxsci): 0
                    # over their steps, so that every column keeps one entry per step
                    history[name] = [np.zeros_like(np.concatenate(earlier, -1), int)]
                history.setdefault(name, []).append(
                    np.moveaxis(values, 0, -1) if ensemble else values
                )
            done += taken
            failed = _failed(state, ensemble)
            if bar is not None:
                bar.update(taken)
                bar.set_postfix_str(_loss_text(np.asarray(metrics["loss"])[-1]), refresh=True)
            # the callback before the checkpoint: what it records for this chunk (an error
            # curve) is on disk before the checkpoint that a resumed run continues from. Not
            # for a chunk stopped half way: the resumed run calls it at the chunk's end
            if loop.callback is not None and taken == n:
                local = to_local(state.params)
                loop.callback(done, local if to_tree is None else to_tree(local))
            if loop.checkpoint is not None:
                # every process: `to_local` gathers split arrays (a collective), and each
                # process resumes from its own file (one run directory per process)
                save_checkpoint(loop.checkpoint, to_local(state), history)
            if taken < n:
                interrupted = stop_requested()
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
