"""`solve`: train a neural field on a `Problem` by minimising its physics-informed loss."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, PRNGKeyArray, PyTree

from ..pde import AbstractDomain, Problem, relative_l2
from ..train import fit
from ._fields import AbstractField
from ._strategies import AdaptiveResampling, CausalWeighting, GradientBalancing

_SAMPLERS = ("uniform", "halton", "latin", "grid")


class PINNSolution(eqx.Module):
    """The result of `solve`.

    - `field`: the trained field (final iterate, or the last finite one if training failed).
    - `params`: the problem parameters after training (learned entries updated).
    - `problem`: the problem solved, with `params` in place.
    - `history`: per-step `loss` and each loss term (NumPy arrays).
    - `stats`: `steps`, `wall_s`, `steps_per_s`, `compile_s`, `failed_step`.
    - `points`: the interior collocation points at the end (moved by adaptive resampling).
    """

    field: AbstractField
    params: PyTree
    problem: Problem
    points: Array
    history: dict[str, np.ndarray]
    stats: dict[str, Any]

    def __call__(self, points: Array) -> Array:
        """The field at `points`, shape `(n, dim)`."""
        self.problem.domain.check_points(points, "points")
        return jax.vmap(self.field)(points)

    def evaluation_points(self, per_axis: int | None = None) -> Array:
        dim = self.problem.dim
        per_axis = per_axis or {1: 1001, 2: 201, 3: 41}.get(dim, 11)
        return self.problem.domain.grid((per_axis,) * dim)

    def error(self, points: Array | None = None) -> float:
        """Relative L2 error of the field against the problem's exact (or reference) solution on
        `points` (default: a uniform grid). For an eigenproblem, up to the sign of `u`."""
        points = self.evaluation_points() if points is None else points
        pred = self(points)
        true = self.problem.exact_values(points, self.params).reshape(pred.shape)
        err = relative_l2(pred, true)
        if self.problem.eigenvalue is not None:
            err = jnp.minimum(err, relative_l2(-pred, true))
        return float(err)


def _check_positive(n, name, allow_zero=False):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"solve: `{name}` must be a {kind} int, got {n!r}")


def _sample_interior(key, domain: AbstractDomain, n, sampler):
    return domain.sample(key, n, method=sampler)


def solve(
    problem: Problem,
    field: AbstractField,
    optimizer: optax.GradientTransformation | None = None,
    *,
    key: PRNGKeyArray,
    steps: int = 5000,
    n_interior: int = 2000,
    n_boundary: int = 256,
    sampler: str = "uniform",
    resample_every: int = 0,
    residual_weight: float = 1.0,
    balancing: GradientBalancing | None = None,
    causal: CausalWeighting | None = None,
    adaptive: AdaptiveResampling | None = None,
    learn: Sequence[str] = (),
    chunk_size: int = 500,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = False,
    ensemble: bool = False,
) -> PINNSolution:
    """Train `field` to solve `problem` with a physics-informed loss.

    The loss is `residual_weight * mean |residual|^2` over `n_interior` collocation points plus,
    for each condition, `weight * condition loss` over `n_boundary` points of its own.

    **Arguments:**

    - `problem`: the `Problem`.
    - `field`: an `AbstractField` with `in_size == problem.dim` (for an `ensemble`, a batch
      of fields from `eqx.filter_vmap(make_field)(keys)`).
    - `optimizer`: an optax optimiser; default Adam with learning rate 1e-3 decaying by 0.9
      every 1000 steps. `optax.lbfgs()` works too.
    - `key`: PRNG key (a batch of keys for an ensemble).
    - `steps`: training steps.
    - `n_interior`, `n_boundary`: collocation points in the domain and per condition.
    - `sampler`: `"uniform"`, `"halton"`, `"latin"` or `"grid"` for interior points.
    - `resample_every`: draw fresh interior points every this many steps (0: fixed points).
    - `residual_weight`: weight of the residual term.
    - `balancing`: `GradientBalancing()` to adapt the term weights by gradient norms.
    - `causal`: `CausalWeighting()` for evolution problems.
    - `adaptive`: `AdaptiveResampling()` to move points where the residual is large.
    - `learn`: names of `problem.params` entries to learn (inverse problems); an eigenproblem's
      eigenvalue is always learned.
    - `chunk_size`, `checkpoint`, `resume`, `progress`: passed to `jaxsci.train.fit`.
    - `ensemble`: train a batch of independent fields at once (one vmapped step).

    **Returns:** a `PINNSolution`.
    """
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
    for n, name in [(steps, "steps")]:
        _check_positive(n, name, allow_zero=True)
    _check_positive(n_interior, "n_interior")
    _check_positive(n_boundary, "n_boundary")
    _check_positive(resample_every, "resample_every", allow_zero=True)
    if sampler not in _SAMPLERS:
        raise ValueError(f"solve: unknown `sampler` {sampler!r}; expected one of {_SAMPLERS}")
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
    if causal is not None and not problem.domain.time_dependent:
        raise ValueError("solve: `causal` weighting needs a time-dependent problem")
    if optimizer is None:
        optimizer = optax.adam(optax.exponential_decay(1e-3, 1000, 0.9))

    domain, conditions = problem.domain, problem.conditions
    n_terms = 1 + len(conditions)
    base_weights = jnp.asarray([residual_weight] + [c.weight for c in conditions], jnp.float32)

    def all_params(learned):
        return {**problem.params, **learned} if learn else problem.params

    def residual_loss(u, points, params):
        r = jax.vmap(lambda x: problem.residual(u, x, params))(points)
        sq = jnp.abs(r) ** 2
        sq = sq.reshape(sq.shape[0], -1).mean(axis=1)
        if causal is None:
            return jnp.mean(sq)
        t0, t1 = domain.lower[-1], domain.upper[-1]
        slab = jnp.clip(((points[:, -1] - t0) / (t1 - t0) * causal.n_chunks).astype(jnp.int32),
                        0, causal.n_chunks - 1)
        total = jax.ops.segment_sum(sq, slab, causal.n_chunks)
        count = jax.ops.segment_sum(jnp.ones_like(sq), slab, causal.n_chunks)
        per_slab = total / jnp.maximum(count, 1)
        w = jax.lax.stop_gradient(
            jnp.exp(-causal.tolerance * (jnp.cumsum(per_slab) - per_slab))
        )
        return jnp.mean(w * per_slab)

    def terms(trainable, extra):
        u, learned = trainable
        params = all_params(learned)
        out = [residual_loss(u, extra["interior"], params)]
        out += [c.loss(u, pts, params) for c, pts in zip(conditions, extra["conditions"])]
        return jnp.stack(out)

    def loss_fn(trainable, extra, key):
        if resample_every:
            pass  # points are refreshed in update_extra
        t = terms(trainable, extra)
        loss = jnp.sum(extra["weights"] * t)
        names = ["residual"] + [f"{c.name}{i}" for i, c in enumerate(conditions)]
        return loss, {n: v for n, v in zip(names, t)}

    def update_extra(trainable, extra, key, step):
        k_res, k_rar = jr.split(key)
        extra = dict(extra)
        if resample_every:
            fresh = _sample_interior(k_res, domain, n_interior, sampler)
            extra["interior"] = jnp.where(
                (step + 1) % resample_every == 0, fresh, extra["interior"]
            )
        if adaptive is not None:
            extra["interior"] = jax.lax.cond(
                (step + 1) % adaptive.every == 0,
                lambda pts: _refine(trainable, pts, k_rar),
                lambda pts: pts,
                extra["interior"],
            )
        if balancing is not None:
            extra["weights"] = jax.lax.cond(
                (step + 1) % balancing.every == 0,
                lambda w: _balanced(trainable, extra, w),
                lambda w: w,
                extra["weights"],
            )
        return extra

    def _refine(trainable, pts, key):
        u, learned = trainable
        params = all_params(learned)
        cand = domain.sample(key, adaptive.n_candidates)
        rc = jnp.abs(jax.vmap(lambda x: problem.residual(u, x, params))(cand)).reshape(
            adaptive.n_candidates, -1).sum(-1)
        rp = jnp.abs(jax.vmap(lambda x: problem.residual(u, x, params))(pts)).reshape(
            pts.shape[0], -1).sum(-1)
        k = min(adaptive.n_replace, pts.shape[0], adaptive.n_candidates)
        _, worst_cand = jax.lax.top_k(rc, k)
        _, best_pts = jax.lax.top_k(-rp, k)
        return pts.at[best_pts].set(cand[worst_cand])

    def _balanced(trainable, extra, w):
        params, static = eqx.partition(trainable, eqx.is_inexact_array)
        jac = jax.jacrev(lambda p: terms(eqx.combine(p, static), extra))(params)
        norms = jnp.sqrt(sum(jnp.sum(g.reshape(n_terms, -1) ** 2, axis=1)
                             for g in jax.tree_util.tree_leaves(jac)))
        new = jnp.sum(norms) / jnp.maximum(norms, 1e-12)
        new = new * base_weights  # user weights scale the balanced ones
        return balancing.momentum * w + (1 - balancing.momentum) * new.astype(w.dtype)

    def init_extra(key):
        keys = jr.split(key, len(conditions) + 1)
        return {
            "interior": _sample_interior(keys[0], domain, n_interior, sampler),
            "conditions": [c.sample(k, domain, n_boundary) for c, k in zip(conditions, keys[1:])],
            "weights": base_weights,
        }

    learned0 = {n: jnp.asarray(problem.params[n], jnp.result_type(float)) for n in learn}
    if ensemble:
        keys = jnp.asarray(key)
        kx = jax.vmap(lambda k: jr.split(k)[0])(keys)
        kr = jax.vmap(lambda k: jr.split(k)[1])(keys)
        extra = jax.vmap(init_extra)(kx)
        n_members = kx.shape[0]
        learned0 = jax.tree_util.tree_map(lambda v: jnp.broadcast_to(v, (n_members,) + v.shape),
                                          learned0)
    else:
        kx, kr = jr.split(key)
        extra = init_extra(kx)
    needs_update = bool(resample_every) or adaptive is not None or balancing is not None
    result = fit(
        loss_fn,
        (field, learned0),
        optimizer,
        steps=steps,
        key=kr,
        extra=extra,
        update_extra=update_extra if needs_update else None,
        chunk_size=chunk_size,
        checkpoint=checkpoint,
        resume=resume,
        progress=progress,
        ensemble=ensemble,
    )
    trained_field, learned = result.params
    params = all_params(learned)
    solved = problem if not learn else eqx.tree_at(lambda p: p.params, problem, params)
    points = result.state.extra["interior"]
    return PINNSolution(trained_field, params, solved, points, result.history, result.stats)
