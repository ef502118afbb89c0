"""`solve`: train a neural field on a `Problem` by minimising its physics-informed loss."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from .._checks import check_bool, check_int
from .._precision import full_precision
from .._results import raise_if_failed
from ..pde import AbstractPointCondition, Dirichlet, Problem
from ..train import Loop, fit
from ..train._loop import Keys, holds_linesearch_values
from ._fields import AbstractField, Constrained, dirichlet_transform
from ._loss import _Objective, _Update
from ._options import Adam, LBFGSPhase, Sampling, Weighting
from ._solution import PINNSolution
from ._strategies import NTKWeighting, ResidualDensityResampling


def _check_key(key, ensemble):
    """Refuse what is not a PRNG key (e.g. `key=0`) before JAX's "invalid PRNG key data"."""
    is_typed = hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    is_raw = (
        hasattr(key, "dtype") and key.dtype == jnp.uint32 and key.ndim >= 1 and key.shape[-1] == 2
    )
    if not (is_typed or is_raw):
        got = (
            f"{type(key).__name__} {key!r}"
            if not hasattr(key, "shape")
            else (f"an array of dtype {key.dtype} and shape {key.shape}")
        )
        raise TypeError(
            f"solve: `key` must be a PRNG key, e.g. `key=jax.random.key(0)` (for an ensemble, "
            f"a batch of keys: `jax.random.split(jax.random.key(0), n)`); got {got}"
        )
    if ensemble and jnp.ndim(key) == (0 if is_typed else 1):
        raise ValueError(
            "solve: `ensemble=True` needs a batch of keys for `key`, one per member "
            "(`jax.random.split(jax.random.key(0), n)`), got a single key"
        )


def constrained(
    problem: Problem, field: AbstractField, hard_dirichlet: bool | str = "auto"
) -> tuple[AbstractField, Problem]:
    """The field and problem `solve` trains: with `hard_dirichlet` on (or `"auto"` and the
    problem allows it: a `Dirichlet(0.0)` condition on every spatial face, no `faces`, no
    `component`, a field not already `Constrained`), the field becomes
    `Constrained(field, dirichlet_transform(domain))`, exactly zero on the spatial boundary,
    and that condition leaves the problem. On Poisson 2D the exact condition alone lowers the
    error 120x (a soft one at weight 1 leaves a boundary-limited error)."""
    if hard_dirichlet not in ("auto", True, False):
        raise ValueError(
            f"solve: `hard_dirichlet` must be 'auto', True or False, got {hard_dirichlet!r}"
        )
    exact_face = _zero_dirichlet(problem) if not isinstance(field, Constrained) else None
    if hard_dirichlet is True and exact_face is None:
        raise ValueError(
            f"solve: `hard_dirichlet=True` needs a `Dirichlet(0.0)` condition on every spatial "
            f"face (no `faces`, no `component`) and a field that is not already "
            f"`Constrained`; problem {problem.name!r} has none"
        )
    if exact_face is None or hard_dirichlet is False:
        return field, problem
    kept = tuple(c for i, c in enumerate(problem.conditions) if i != exact_face)
    return (
        Constrained(field, dirichlet_transform(problem.domain)),
        eqx.tree_at(lambda p: p.conditions, problem, kept),
    )


def _zero_dirichlet(problem: Problem) -> int | None:
    """The index of a condition `Dirichlet(0.0)` on every spatial face (every domain is an
    axis-aligned box, so `dirichlet_transform` applies), or None."""
    for i, c in enumerate(problem.conditions):
        if (
            type(c) is Dirichlet
            and c.faces is None
            and c.component is None
            and not callable(c.value)
            and float(c.value) == 0.0
        ):
            return i
    return None


def _learned_names(problem: Problem, learn: Sequence[str]) -> tuple[str, ...]:
    """`learn` with an eigenproblem's eigenvalue added, checked against `problem.params`."""
    learn = tuple(learn)
    if problem.eigenvalue is not None and problem.eigenvalue not in learn:
        learn = learn + (problem.eigenvalue,)
    if learn and not isinstance(problem.params, dict):
        raise ValueError("solve: `learn` needs `problem.params` to be a dict")
    unknown = [n for n in learn if n not in problem.params]
    if unknown:
        raise ValueError(
            f"solve: `learn` names unknown parameter(s) {unknown}; problem {problem.name!r} has "
            f"{sorted(problem.params) if isinstance(problem.params, dict) else []}"
        )
    return learn


def _check(problem, field, key, ensemble, sampling, weighting, lbfgs, loop) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"solve: `problem` must be a Problem, got {type(problem).__name__}")
    if not isinstance(field, AbstractField):
        raise TypeError(f"solve: `field` must be an AbstractField, got {type(field).__name__}")
    in_size = getattr(field, "in_size", None)
    if in_size is not None and in_size != problem.dim:
        raise ValueError(
            f"solve: `field` takes points of dim {in_size}, but problem {problem.name!r} has dim "
            f"{problem.dim}"
        )
    check_bool(ensemble, "ensemble", "solve")
    _check_key(key, ensemble)
    for name, value, cls in [
        ("sampling", sampling, Sampling),
        ("weighting", weighting, Weighting),
        ("lbfgs", lbfgs, LBFGSPhase),
        ("loop", loop, Loop),
    ]:
        if not isinstance(value, cls):
            raise TypeError(
                f"solve: `{name}` must be a {cls.__name__}, got {type(value).__name__} {value!r}"
            )
    if weighting.causal is not None and not problem.domain.time_dependent:
        raise ValueError("solve: `weighting.causal` needs a time-dependent problem")
    adaptive = sampling.adaptive
    if (
        isinstance(adaptive, ResidualDensityResampling)
        and adaptive.n_candidates < sampling.n_interior
    ):
        raise ValueError(
            f"solve: `sampling.adaptive.n_candidates` ({adaptive.n_candidates}) must be at "
            f"least `sampling.n_interior` ({sampling.n_interior}) for ResidualDensityResampling"
        )


@full_precision
def solve(
    problem: Problem,
    field: AbstractField,
    optimizer: optax.GradientTransformation | Adam | None = None,
    *,
    key: Keys,
    steps: int = 2000,
    sampling: Sampling = Sampling(),
    weighting: Weighting = Weighting(),
    lbfgs: LBFGSPhase = LBFGSPhase(),
    hard_dirichlet: bool | str = "auto",
    learn: Sequence[str] = (),
    ensemble: bool = False,
    loop: Loop = Loop(),
    throw: bool = True,
) -> PINNSolution:
    """Train `field` to solve `problem` with a physics-informed loss.

    The loss is `weighting.residual * mean |residual|^2` over `sampling.n_interior`
    collocation points plus, for each condition, `weight * condition loss` over
    `sampling.n_boundary` points of its own. Training is `steps` of `optimizer`, then an
    L-BFGS phase on the same points (`lbfgs`).

    **Arguments:**

    - `problem`: the `Problem`.
    - `field`: an `AbstractField` with `in_size == problem.dim` (for an `ensemble`, a batch
      of fields from `eqx.filter_vmap(make_field)(keys)`).
    - `optimizer`: `pinn.Adam(...)` (the default, `None`: learning rate 1e-3 decaying by 0.9
      every 1000 steps) or any optax transformation (`optax.lbfgs()` works too).
    - `key`: PRNG key (a batch of keys for an ensemble).
    - `steps`: training steps of `optimizer`.
    - `sampling`: a `Sampling`: point counts, sampler, resampling, adaptive refinement
      (`AdaptiveResampling`, `ResidualDensityResampling`).
    - `weighting`: a `Weighting`: the residual's weight, balancing (`NTKWeighting`, the
      default, `GradientBalancing` or `None`), weights from the data's magnitude, causal
      weighting. With a balancing or magnitude, `stats["weights"]` holds the term weights
      training ended with; with causal weighting, `stats["causal_weights"]` the slab weights
      the L-BFGS phase held fixed (the first phase's last: a line search needs a loss whose
      gradient is the gradient of its value).
    - `lbfgs`: an `LBFGSPhase`: its steps (`"auto"`: `5 * steps // 8` after `Adam`, so 1250
      after the default 2000; none after an optax transformation of your own) and history.
    - `hard_dirichlet`: `"auto"` (default), `True` or `False`: impose a zero Dirichlet
      condition on every spatial face exactly (see `constrained`); the returned `field` is
      then the constrained one. `True` insists (error if not possible); `False` keeps every
      condition a loss term.
    - `learn`: names of `problem.params` entries to learn (inverse problems); an eigenproblem's
      eigenvalue is always learned.
    - `ensemble`: train a batch of independent fields at once (one vmapped step).
    - `loop`: a `train.Loop`: chunk size, checkpoint (the L-BFGS phase writes its own, with
      `_lbfgs` before the extension), resume, progress, `callback(steps_done, field)` after
      every chunk of either phase, and a device mesh (the collocation points split over it).
    - `throw`: raise `jaxsci.SolveFailed` (its `.solution` holds this solution) when training
      stopped at a non-finite step; `False` returns the solution with its `result`.

    Why these defaults: measured in BENCHMARKS.md, "What a bare `pinn.solve` gives" (Poisson 2D
    from 6.4e-2 to 1e-5 with the exact Dirichlet condition, Halton points and the L-BFGS
    phase together), "NTK weights become the default" (the zoo of user problems), "The
    defaults since issue 27" (the budget: 2000 + 1250 steps, and the MLP's width), and in the
    docstrings of `Sampling`, `Weighting`, `LBFGSPhase` and `constrained`.

    **Returns:** a `PINNSolution` (`stats["phases"]` holds each phase's own stats).
    """
    _check(problem, field, key, ensemble, sampling, weighting, lbfgs, loop)
    check_int(steps, "steps", "solve", minimum=0)
    learn = _learned_names(problem, learn)
    given_problem = problem
    field, problem = constrained(problem, field, hard_dirichlet)
    optimizer = Adam() if optimizer is None else optimizer
    lbfgs_steps = lbfgs.steps_after(steps, optimizer)
    transformation = optimizer.transformation() if isinstance(optimizer, Adam) else optimizer

    base_weights = jnp.asarray(
        [weighting.residual] + [c.weight for c in problem.conditions], jnp.result_type(float)
    )
    objective = _Objective(problem, learn, weighting.causal)
    update = _Update(
        objective, sampling, _balancing(weighting, problem), base_weights, weighting.magnitude
    )
    learned0 = {n: jnp.asarray(problem.params[n], jnp.result_type(float)) for n in learn}
    if ensemble:
        keys = jnp.asarray(key)
        kx = jax.vmap(lambda k: jr.split(k)[0])(keys)
        kr = jax.vmap(lambda k: jr.split(k)[1])(keys)
        extra = eqx.filter_vmap(update.init_extra)(kx, field)
        learned0 = jax.tree_util.tree_map(
            lambda v: jnp.broadcast_to(v, (kx.shape[0],) + v.shape), learned0
        )
    else:
        kx, kr = jr.split(key)
        extra = update.init_extra(kx, field)
    result, phases, history = _phases(
        objective,
        update,
        (field, learned0),
        transformation,
        steps,
        lbfgs,
        lbfgs_steps,
        extra,
        kr,
        ensemble,
        loop,
    )
    trained_field, learned = result.params
    params = objective.all_params(learned)
    solved = given_problem if not learn else eqx.tree_at(lambda p: p.params, given_problem, params)
    stats = _merged_stats(phases)
    if weighting.balancing is not None or weighting.magnitude is not None:
        # the term weights training ended with (residual first, then each condition)
        stats["weights"] = np.asarray(result.state.extra["weights"])
    if "causal" in result.state.extra:
        # the causal slab weights the L-BFGS phase held (earliest slab first): near 0 where
        # the first phase had not yet reached a slab
        stats["causal_weights"] = np.asarray(result.state.extra["causal"])
    solution = PINNSolution(
        trained_field,
        params,
        solved,
        result.state.extra["interior"],
        history,
        stats,
        learn,
        int(kx.shape[0]) if ensemble else None,
        result.result,
    )
    failed = solution.stats["failed_step"]
    return raise_if_failed("solve", result.result, f"first at step {failed}", solution, throw)


def _phases(
    objective, update, params, optimizer, steps, lbfgs, lbfgs_steps, extra, key, ensemble, loop
):
    """The first phase (`optimizer`, moving points if `update` asks), then the L-BFGS one on
    the points it ended with. Returns the last phase's `TrainResult`, every phase's stats and
    the joined history."""
    # the loss is deterministic: on fixed points, a line-search optimiser's step can take the
    # value and gradient its line search left at the accepted point (train.fit). L-BFGS runs
    # on one flat parameter vector (`train.fit(flat=True)`): its two-loop recursion and
    # line-search state are a few long array operations instead of a few per leaf. Poisson
    # 2D's recipe (32 x 3, 500 iterations): the chunk compiled in 1.8 s instead of 2.8 s, the
    # phase took 4.3 s instead of 5.5 s. Adam stays on the PyTree (splitting the vector each
    # step cost it 1.2x).
    line_search = _stores_linesearch(optimizer, params)
    user_callback = loop.callback
    first_loop = (
        loop
        if user_callback is None
        else dataclasses.replace(loop, callback=lambda n, p: user_callback(n, p[0]))
    )
    common = dict(key=key, ensemble=ensemble, throw=False)
    result = fit(
        objective,
        params,
        optimizer,
        steps=steps,
        extra=extra,
        update_extra=update if update.needed else None,
        loop=first_loop,
        reuse_linesearch=line_search and not update.needed,
        flat=line_search,
        **common,
    )
    phases = {"first": result.stats}
    history = result.history
    if lbfgs_steps and not result.result:
        phases["lbfgs_skipped"] = f"the first phase ended with {result.result.name}"
    elif lbfgs_steps:
        first_steps = result.stats["steps"]
        shifted = (
            None if user_callback is None else (lambda n, p: user_callback(first_steps + n, p[0]))
        )
        checkpoint = None if loop.checkpoint is None else _phase_path(loop.checkpoint, "lbfgs")
        second_loop = dataclasses.replace(loop, callback=shifted, checkpoint=checkpoint)
        # causal weights held at the first phase's last ones: a line search needs the
        # gradient of the loss's value, which live (stop-gradient) weights do not give
        freeze = eqx.filter_vmap if ensemble else (lambda f: f)
        extra = freeze(objective.freeze_causal)(result.params, result.state.extra)
        result = fit(
            objective,
            result.params,
            lbfgs.transformation(),
            steps=lbfgs_steps,
            extra=extra,
            loop=second_loop,
            reuse_linesearch=True,  # fixed points, deterministic loss: half the evaluations
            flat=True,
            **common,
        )
        phases["lbfgs"] = result.stats
        history = _joined(history, result.history)
    return result, phases, history


def _joined(first: dict, second: dict) -> dict:
    """Two phases' histories end to end (step is the last axis); a metric one phase lacks
    (`linesearch_steps` in an Adam phase) is 0 over its steps."""
    if not first or not second:  # a phase of no steps
        return first or second
    lengths = [next(iter(h.values())).shape for h in (first, second)]

    def column(h, shape, k):
        return h[k] if k in h else np.zeros(shape, np.asarray(first.get(k, second.get(k))).dtype)

    keys = list(first) + [k for k in second if k not in first]
    return {
        k: np.concatenate([column(first, lengths[0], k), column(second, lengths[1], k)], axis=-1)
        for k in keys
    }


def _balancing(weighting: Weighting, problem: Problem):
    """`weighting.balancing`, or `None` where NTK weights cannot change: with one term that has
    residuals at points (the residual; a normalisation has none and keeps its weight) its
    weight is `t / t` times its base weight, the weight it has. Nothing is then compiled or run
    for the update (the zoo's multiscale row, MLP 32 x 4, 400 Adam + 100 L-BFGS steps: 72 s
    against 91 s)."""
    balancing = weighting.balancing
    at_points = 1 + sum(isinstance(c, AbstractPointCondition) for c in problem.conditions)
    return None if isinstance(balancing, NTKWeighting) and at_points < 2 else balancing


def _stores_linesearch(optimizer, params) -> bool:
    """Whether `optimizer`'s state keeps the line search's `value` and `grad` (optax.lbfgs)."""
    state = jax.eval_shape(
        optax.with_extra_args_support(optimizer).init, eqx.filter(params, eqx.is_inexact_array)
    )
    return holds_linesearch_values(state)


def _phase_path(checkpoint, phase: str) -> str:
    """`run/ckpt.eqx` -> `run/ckpt_lbfgs.eqx`: each phase resumes from its own file."""
    stem, ext = os.path.splitext(os.fspath(checkpoint))
    return f"{stem}_{phase}{ext}"


def _merged_stats(phases: dict) -> dict:
    """One run's stats over its phases: steps and times add up, a failure keeps its global step."""
    first = phases["first"]
    if "lbfgs" not in phases:
        return {**first, "phases": phases}
    last = phases["lbfgs"]
    steps = first["steps"] + last["steps"]
    wall = first["wall_s"] + last["wall_s"]
    failed = last["failed_step"]
    return {
        **last,
        "steps": steps,
        "wall_s": wall,
        "compile_s": first["compile_s"] + last["compile_s"],
        "steps_per_s": steps / wall if wall > 0 else math.nan,
        "failed_step": None if failed is None else first["steps"] + failed,
        "phases": phases,
    }
