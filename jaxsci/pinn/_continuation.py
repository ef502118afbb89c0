"""`continuation`: a curriculum in a parameter, one `solve` per value, each from the last field."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from .._results import RESULTS, raise_if_failed
from ..pde import Problem
from ._fields import AbstractField, Constrained
from ._solution import PINNSolution
from ._solve import _check_key, _phase_path, solve


def continuation(
    problem: Problem,
    field: AbstractField,
    optimizer=None,
    *,
    key,
    param: str,
    path: Sequence[float],
    throw: bool = True,
    **options,
) -> PINNSolution:
    """Solve `problem` by way of easier problems: first with `problem.params[param]` set to
    each value of `path` in turn, then at its own value, every stage starting from the field the
    last one ended with (the curriculum of Krishnapriyan et al. 2021, "Characterizing possible
    failure modes in physics-informed neural networks").

    Where a plain `solve` settles on a wrong, smooth field, a path through values it can solve
    may carry the field to the right one. Measured on the zoo's convection rows (BENCHMARKS.md,
    "Curriculum in the parameter"), at the same total steps as a plain solve: on
    `zoo_convection_30` two of six runs end 6-11x lower (5.6e-2, 9.7e-2), the other four where
    a plain solve ends (0.57-0.61 against 0.60-0.75); on `zoo_convection_50` all three fail
    (0.75-0.81). A tool for a family of problems, not a fix for convection.

    **Arguments:**

    - `problem`, `field`, `optimizer`, `key`: as for `solve`.
    - `param`: the name of a scalar entry of `problem.params` (a dict), e.g. `"beta"`.
    - `path`: the values to solve at first, in order (the problem's own value comes last and
      is not repeated here), e.g. `(10.0, 20.0)` for `beta = 30`.
    - `throw`: as for `solve`; a stage that fails ends the path there (its solution, at its
      own value of `param`, is returned with `throw=False`).
    - `**options`: any other keyword of `solve` (`steps`, `sampling`, `weighting`, `lbfgs`,
      `hard_dirichlet`, `learn`, `ensemble`, `loop`), used by every stage: the cost is
      `len(path) + 1` solves. Learned parameters start from `problem`'s values at every stage.
      With `loop.checkpoint`, stage `i` of the path writes (and resumes from) its own file,
      `_stage<i>` before the extension; the last stage uses the path given.

    **Returns:** the last stage's `PINNSolution`; `stats["stages"]` holds each stage's value of
    `param` and its stats, and `stats["wall_s"]`, `stats["steps"]` are those of the whole path.
    """
    _check(problem, param, path, options.get("learn", ()))
    # before the first stage folds it: `key=0` gets solve's message, not an AttributeError
    _check_key(key, options.get("ensemble", False))
    loop = options.pop("loop", None)
    values = [float(v) for v in path] + [None]
    # a field `solve` constrained is passed on bare: the next stage constrains it again
    # instead of keeping the exact condition as a loss term
    pass_bare = not isinstance(field, Constrained)
    stages = []
    for i, value in enumerate(values):
        stage_problem = (
            problem
            if value is None
            # `full_like` keeps the parameter's dtype and weak type: every stage, the last
            # included, then reuses the first stage's compiled programs (a strong-typed value
            # recompiled the last stage: 25 s of its 33 on `zoo_convection_30`)
            else eqx.tree_at(
                lambda p: p.params[param],
                problem,
                jax.lax.full_like(jnp.asarray(problem.params[param]), value),
            )
        )
        stage_key = key if value is None else _fold(key, i)
        stage_loop = {} if loop is None else {"loop": _stage_loop(loop, i, value is None)}
        sol = solve(
            stage_problem,
            field,
            optimizer,
            key=stage_key,
            throw=False,
            **stage_loop,
            **options,
        )
        here = float(stage_problem.params[param])
        stages.append({"value": here, **{k: v for k, v in sol.stats.items() if k != "phases"}})
        if sol.result is not RESULTS.successful:
            break
        field = sol.field.field if pass_bare and isinstance(sol.field, Constrained) else sol.field
    stats = {
        **sol.stats,
        "stages": stages,
        "wall_s": sum(st["wall_s"] for st in stages),
        "steps": sum(st["steps"] for st in stages),
    }
    sol = dataclasses.replace(sol, stats=stats)
    where = f"at stage {len(stages) - 1} ({param} = {stages[-1]['value']:g})"
    failed = sol.stats["failed_step"]
    return raise_if_failed(
        "continuation", sol.result, f"{where}, first at step {failed}", sol, throw
    )


def _check(problem: Problem, param, path, learn) -> None:
    if not isinstance(problem, Problem):
        raise TypeError(f"continuation: `problem` must be a Problem, got {type(problem).__name__}")
    params = problem.params
    if not isinstance(params, dict) or param not in params:
        names = sorted(params) if isinstance(params, dict) else []
        raise ValueError(
            f"continuation: `param` must name an entry of `problem.params`; problem "
            f"{problem.name!r} has {names}, got {param!r}"
        )
    if jnp.ndim(params[param]) != 0:
        raise ValueError(
            f"continuation: `param` must name a scalar parameter; {param!r} has shape "
            f"{jnp.shape(params[param])}"
        )
    if param in tuple(learn):
        raise ValueError(f"continuation: `param` {param!r} cannot also be learned (`learn`)")
    if isinstance(path, (str, bytes)) or not isinstance(path, Sequence) or len(path) == 0:
        raise ValueError(
            f"continuation: `path` must be a non-empty sequence of numbers, got {path!r}"
        )
    for v in path:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(
                f"continuation: every value of `path` must be a finite number, got {v!r}"
            )


def _fold(key, i: int):
    """Stage `i`'s key: `fold_in(key, i)`, member by member for a batch of keys."""
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    single = jnp.ndim(key) == (0 if typed else 1)
    return jr.fold_in(key, i) if single else jax.vmap(lambda k: jr.fold_in(k, i))(key)


def _stage_loop(loop, i: int, last: bool):
    if last or loop.checkpoint is None:
        return loop
    return dataclasses.replace(loop, checkpoint=_phase_path(loop.checkpoint, f"stage{i}"))
