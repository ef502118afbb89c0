"""`solve`: train a neural field on a `Problem` by minimising its physics-informed loss."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, PyTree

from ..pde import Dirichlet, Problem, relative_l2
from ..train import fit
from ..train._loop import Keys, holds_linesearch_values
from ._fields import AbstractField, Constrained, dirichlet_transform
from ._strategies import AdaptiveResampling, CausalWeighting, GradientBalancing

_SAMPLERS = ("uniform", "halton", "hammersley", "latin", "grid")
_DETERMINISTIC = ("hammersley", "grid")  # the same points for every key


def _condition_method(sampler):
    # a grid is for the interior: the conditions' points are then i.i.d.
    return "uniform" if sampler == "grid" else sampler


def evaluation_points(problem: Problem, per_axis: int | None = None) -> Array:
    """The uniform grid `PINNSolution.error` evaluates on: `per_axis` points per axis (default
    1001 in 1D, 201 in 2D, 41 in 3D, 11 above)."""
    per_axis = per_axis or {1: 1001, 2: 201, 3: 41}.get(problem.dim, 11)
    return problem.domain.grid((per_axis,) * problem.dim)


def solution_error(pred: Array, true: Array, problem: Problem) -> Array:
    """Relative L2 error of `pred` against `true`; for an eigenproblem, up to the sign."""
    err = relative_l2(pred, true)
    return err if problem.eigenvalue is None else jnp.minimum(err, relative_l2(-pred, true))


class PINNSolution(eqx.Module):
    """The result of `solve`.

    - `field`: the trained field (final iterate, or the last finite one if training failed).
    - `params`: the problem parameters after training (learned entries updated).
    - `problem`: the problem solved, with `params` in place.
    - `history`: per-step `loss`, each loss term and each learned scalar parameter (its
      trajectory, under the parameter's name; `name[i]` per entry of a small array parameter),
      as NumPy arrays.
    - `stats`: `steps`, `wall_s`, `steps_per_s`, `compile_s`, `failed_step`.
    - `points`: the interior collocation points at the end (moved by adaptive resampling).
    - `members`: the number of ensemble members (`solve(..., ensemble=True)`), else `None`.
      Every array of an ensemble solution carries a leading member axis; `sol(points)` and
      `sol.error()` then give one result per member, and `sol.member(i)` the single solution
      of member `i`.

    A solution is an `equinox.Module` holding arrays, so it is not a hashable static argument:
    jit code that takes it (or `sol.field`) as an argument, `eqx.filter_jit(lambda s, x: s(x))`,
    rather than `jax.jit(sol)`.
    """

    field: AbstractField
    params: PyTree
    problem: Problem
    points: Array
    history: dict[str, np.ndarray]
    stats: dict[str, Any]
    learned: tuple[str, ...] = eqx.field(static=True, default=())
    members: int | None = eqx.field(static=True, default=None)

    def __call__(self, points: ArrayLike) -> Array:
        """The field at `points`, shape `(n, dim)` (any array-like): shape `(n, ...)`, or
        `(members, n, ...)` for an ensemble."""
        self.problem.domain.check_points(points, "points")
        points = jnp.asarray(points)
        if self.members is not None:
            return eqx.filter_vmap(lambda f: jax.vmap(f)(points))(self.field)
        return jax.vmap(self.field)(points)

    def member(self, i: int) -> PINNSolution:
        """The single-field `PINNSolution` of ensemble member `i` (history and stats included)."""
        if self.members is None:
            raise ValueError(
                "member: this solution is not an ensemble (`solve(..., ensemble=True)`)"
            )
        if (
            isinstance(i, bool)
            or not isinstance(i, (int, np.integer))
            or not -self.members <= i < self.members
        ):
            raise ValueError(f"member: `i` must be an int in [0, {self.members}), got {i!r}")
        take = lambda a: a[i] if eqx.is_array(a) else a  # noqa: E731
        params = dict(self.params) if isinstance(self.params, dict) else self.params
        if self.learned:
            params.update({n: params[n][i] for n in self.learned})
        problem = (
            self.problem
            if not self.learned
            else eqx.tree_at(lambda p: p.params, self.problem, params)
        )
        history = {k: np.asarray(v)[i] for k, v in self.history.items()}
        return PINNSolution(
            jax.tree_util.tree_map(take, self.field),
            params,
            problem,
            self.points[i],
            history,
            dict(self.stats),
            self.learned,
            None,
        )

    def evaluation_points(self, per_axis: int | None = None) -> Array:
        return evaluation_points(self.problem, per_axis)

    def error(self, points: ArrayLike | None = None) -> float | np.ndarray:
        """Relative L2 error of the field against the problem's exact (or reference) solution on
        `points` (default: a uniform grid). For an eigenproblem, up to the sign of `u`. An
        ensemble gives a NumPy array of one error per member."""
        if self.members is not None:
            return np.asarray([self.member(i).error(points) for i in range(self.members)])
        points = self.evaluation_points() if points is None else points
        pred = self(points)
        true = self.problem.exact_values(points, self.params).reshape(pred.shape)
        return float(solution_error(pred, true, self.problem))

    def rayleigh_quotient(self, per_axis: int = 20000) -> float:
        """For an eigenproblem whose residual is `H u - E u` with `H` symmetric, the Rayleigh
        quotient `<u, H u> / <u, u>` of the trained field (midpoint rule on a grid of
        `per_axis` cells per axis). Its error is second order in the error of `u`, so it is
        usually a sharper eigenvalue estimate than the trained parameter; it is computed from
        the residual with the eigenvalue set to zero."""
        name = self.problem.eigenvalue
        if name is None:
            raise ValueError(
                f"rayleigh_quotient: problem {self.problem.name!r} is not an eigenproblem"
            )
        dom = self.problem.domain
        pts = dom.sample(None, per_axis**dom.dim, method="grid", dtype=self.points.dtype)
        params = {**self.params, name: jnp.zeros_like(self.params[name])}
        hu = jax.vmap(lambda x: self.problem.residual(self.field, x, params))(pts)
        u = jax.vmap(self.field)(pts)
        return float(jnp.sum(u * hu) / jnp.sum(u * u))


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


def _check_positive(n, name, allow_zero=False):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < (0 if allow_zero else 1):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"solve: `{name}` must be a {kind} int, got {n!r}")


# One default object, so that repeated `solve` calls share the compiled step.
_DEFAULT_OPTIMIZER = optax.adam(optax.exponential_decay(1e-3, 1000, 0.9))


class _Objective(eqx.Module):
    """The physics-informed loss: weighted residual and condition terms."""

    problem: Problem
    learn: tuple[str, ...] = eqx.field(static=True)
    causal: CausalWeighting | None

    @property
    def names(self):
        return ["residual"] + [f"{c.name}{i}" for i, c in enumerate(self.problem.conditions)]

    def all_params(self, learned):
        return {**self.problem.params, **learned} if self.learn else self.problem.params

    def residual_loss(self, u, points, params):
        problem, causal = self.problem, self.causal
        r = jax.vmap(lambda x: problem.residual(u, x, params))(points)
        sq = jnp.abs(r) ** 2
        sq = sq.reshape(sq.shape[0], -1).mean(axis=1)
        if causal is None:
            return jnp.mean(sq)
        t0, t1 = problem.domain.lower[-1], problem.domain.upper[-1]
        slab = jnp.clip(
            ((points[:, -1] - t0) / (t1 - t0) * causal.n_chunks).astype(jnp.int32),
            0,
            causal.n_chunks - 1,
        )
        total = jax.ops.segment_sum(sq, slab, causal.n_chunks)
        count = jax.ops.segment_sum(jnp.ones_like(sq), slab, causal.n_chunks)
        per_slab = total / jnp.maximum(count, 1)
        # weight of slab i: exp(-tol * sum_{k<i} L_k), held constant for the gradient
        w = jax.lax.stop_gradient(jnp.exp(-causal.tolerance * (jnp.cumsum(per_slab) - per_slab)))
        return jnp.mean(w * per_slab)

    def terms(self, trainable, extra):
        u, learned = trainable
        params = self.all_params(learned)
        out = [self.residual_loss(u, extra["interior"], params)]
        out += [
            c.loss(u, pts, params)
            for c, pts in zip(self.problem.conditions, extra["conditions"], strict=True)
        ]
        return jnp.stack(out)

    def __call__(self, trainable, extra, key):
        t = self.terms(trainable, extra)
        metrics = dict(zip(self.names, t, strict=True))
        # the trajectory of each learned parameter (inverse problems, eigenvalues) goes into the
        # history with the loss terms: scalars under their name, small arrays entry by entry
        for name, value in trainable[1].items():
            value = jax.lax.stop_gradient(value)
            if name in metrics or name == "loss":  # never shadow the loss or a loss term
                name = f"param_{name}"
            if value.ndim == 0:
                metrics[name] = value
            elif value.size <= 16:
                metrics.update({f"{name}[{i}]": v for i, v in enumerate(value.ravel())})
        return jnp.sum(extra["weights"] * t), metrics

    def point_residuals(self, trainable, points):
        u, learned = trainable
        params = self.all_params(learned)
        r = jax.vmap(lambda x: self.problem.residual(u, x, params))(points)
        return jnp.abs(r).reshape(points.shape[0], -1).sum(-1)


class _Update(eqx.Module):
    """Per-step update of the non-trained state: resampling, adaptive refinement, balancing."""

    objective: _Objective
    n_interior: int = eqx.field(static=True)
    sampler: str = eqx.field(static=True)
    resample_every: int = eqx.field(static=True)
    resample_boundary: bool = eqx.field(static=True)
    n_boundary: int = eqx.field(static=True)
    adaptive: AdaptiveResampling | None
    balancing: GradientBalancing | None
    base_weights: Array

    def init_extra(self, key, n_boundary):
        problem = self.objective.problem
        keys = jr.split(key, len(problem.conditions) + 1)
        return {
            "interior": problem.domain.sample(keys[0], self.n_interior, method=self.sampler),
            "conditions": [
                c.sample(k, problem.domain, n_boundary, method=_condition_method(self.sampler))
                for c, k in zip(problem.conditions, keys[1:], strict=True)
            ],
            "weights": self.base_weights,
        }

    def __call__(self, trainable, extra, key, step):
        domain = self.objective.problem.domain
        k_res, k_rar = jr.split(key)
        extra = dict(extra)
        if self.resample_every:
            due = (step + 1) % self.resample_every == 0
            fresh = domain.sample(k_res, self.n_interior, method=self.sampler)
            extra["interior"] = jnp.where(due, fresh, extra["interior"])
            conditions = self.objective.problem.conditions
            if self.resample_boundary and conditions:  # fixed data: the same points back
                keys = jr.split(jr.fold_in(k_res, 1), len(conditions))
                method = _condition_method(self.sampler)
                extra["conditions"] = [
                    jnp.where(due, c.sample(k, domain, self.n_boundary, method=method), pts)
                    for c, k, pts in zip(conditions, keys, extra["conditions"], strict=True)
                ]
        if self.adaptive is not None:
            extra["interior"] = jax.lax.cond(
                (step + 1) % self.adaptive.every == 0,
                lambda pts: self.refine(trainable, pts, k_rar),
                lambda pts: pts,
                extra["interior"],
            )
        if self.balancing is not None:
            extra["weights"] = jax.lax.cond(
                (step + 1) % self.balancing.every == 0,
                lambda w: self.balanced(trainable, extra, w),
                lambda w: w,
                extra["weights"],
            )
        return extra

    def refine(self, trainable, pts, key):
        a = self.adaptive
        cand = self.objective.problem.domain.sample(key, a.n_candidates)
        rc = self.objective.point_residuals(trainable, cand)
        rp = self.objective.point_residuals(trainable, pts)
        k = min(a.n_replace, pts.shape[0], a.n_candidates)
        _, worst_cand = jax.lax.top_k(rc, k)
        _, best_pts = jax.lax.top_k(-rp, k)
        return pts.at[best_pts].set(cand[worst_cand])

    def balanced(self, trainable, extra, w):
        params, static = eqx.partition(trainable, eqx.is_inexact_array)
        n_terms = w.shape[0]
        jac = jax.jacrev(lambda p: self.objective.terms(eqx.combine(p, static), extra))(params)
        norms = jnp.sqrt(
            sum(
                jnp.sum(g.reshape(n_terms, -1) ** 2, axis=1) for g in jax.tree_util.tree_leaves(jac)
            )
        )
        new = jnp.sum(norms) / jnp.maximum(norms, 1e-12) * self.base_weights
        m = self.balancing.momentum
        return m * w + (1 - m) * new.astype(w.dtype)


def solve(
    problem: Problem,
    field: AbstractField,
    optimizer: optax.GradientTransformation | None = None,
    *,
    key: Keys,
    steps: int = 5000,
    lbfgs_steps: int | None = None,
    lbfgs_memory: int = 100,
    hard_dirichlet: bool | None = None,
    n_interior: int = 2000,
    n_boundary: int = 256,
    sampler: str = "halton",
    resample_every: int = 0,
    resample_boundary: bool = False,
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
    mesh: jax.sharding.Mesh | None = None,
    callback: Callable[[int, AbstractField], None] | None = None,
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
    - `steps`: training steps of `optimizer`.
    - `lbfgs_steps`: L-BFGS steps after them, on the same collocation points (fixed: no
      resampling, adaptive refinement or balancing in this phase). Default: `steps // 4` with
      the default optimiser, 0 with one of your own.
    - `lbfgs_memory`: pairs `(s, y)` kept by that L-BFGS (`optax.lbfgs(memory_size=...)`).
    - `hard_dirichlet`: impose a zero Dirichlet condition on all spatial faces exactly, by
      training `Constrained(field, dirichlet_transform(domain))` without that loss term.
      Default (`None`): wherever the problem allows it (a condition `Dirichlet(0.0)` on every
      spatial face, no component); `True` insists (error if not possible);
      `False` keeps every condition a loss term. The returned `field` is the constrained one.
    - `n_interior`, `n_boundary`: collocation points in the domain and per condition.
    - `sampler`: `"halton"` (default), `"uniform"`, `"hammersley"`, `"latin"` or `"grid"`: how
      the interior points are drawn, and the conditions' points on their faces or slices too
      (i.i.d. for `"grid"`). `"hammersley"` is DeepXDE's default set, deterministic, so it
      cannot be redrawn (`resample_every`): on Burgers its Adam phase ends 3.5x lower than with
      shifted Halton points (5.7e-2 against 2.0e-1, 6 seeds), on Helmholtz the whole recipe
      1.7x higher (BENCHMARKS.md, "The same points on both sides").
    - `resample_every`: draw fresh interior points every this many steps (0: fixed points).
    - `resample_boundary`: redraw the points of every condition (boundary, initial) at the same
      steps too (conditions with fixed data keep theirs). A local field (`PIG`) can fit fixed
      boundary points exactly and be wrong between them; the published PIG code redraws all.
    - `residual_weight`: weight of the residual term.
    - `balancing`: `GradientBalancing()` to adapt the term weights by gradient norms.
    - `causal`: `CausalWeighting()` for evolution problems.
    - `adaptive`: `AdaptiveResampling()` to move points where the residual is large.
    - `learn`: names of `problem.params` entries to learn (inverse problems); an eigenproblem's
      eigenvalue is always learned.
    - `chunk_size`, `checkpoint`, `resume`, `progress`: passed to `jaxsci.train.fit`.
    - `ensemble`: train a batch of independent fields at once (one vmapped step).
    - `mesh`: a device mesh (`jaxsci.train.data_mesh()`) for data-parallel training: the
      collocation points are split across the devices, the field replicated (the members, for
      an ensemble); passed to `jaxsci.train.fit`.
    - `callback`: `callback(steps_done, field)`, called on the host after every chunk of
      either phase (e.g. to record the error along training).

    Why these defaults (measured in BENCHMARKS.md, "What a bare `pinn.solve` gives"): on Poisson
    2D the exact Dirichlet condition alone lowers the error 120x (a soft one at weight 1 leaves
    a boundary-limited error); Halton points lowered the Helmholtz error 3x against i.i.d.
    uniform ones at the same count (and cost nothing on Poisson); an L-BFGS phase with
    PyTorch's history of 100 pairs keeps lowering the loss after Adam has stalled (optax's
    default history of 10 gains ~3x less in the same steps). From the same point on the same
    loss, its iterations gain what PyTorch's `LBFGS` (DeepXDE's) gains; on fixed points a step
    takes the value and gradient its line search computed (`train.fit(reuse_linesearch=True)`),
    about one evaluation per iteration, so a step costs little more than an Adam step; hence a
    phase of a quarter of the Adam steps.

    **Returns:** a `PINNSolution` (`stats["phases"]` holds each phase's own stats).
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
    _check_key(key, ensemble)
    for n, name in [(steps, "steps")]:
        _check_positive(n, name, allow_zero=True)
    _check_positive(n_interior, "n_interior")
    _check_positive(n_boundary, "n_boundary")
    _check_positive(resample_every, "resample_every", allow_zero=True)
    if sampler not in _SAMPLERS:
        raise ValueError(f"solve: unknown `sampler` {sampler!r}; expected one of {_SAMPLERS}")
    if resample_every and sampler in _DETERMINISTIC:
        raise ValueError(
            f"solve: `resample_every` needs a random `sampler` (uniform, halton, latin); "
            f"{sampler!r} draws the same points every time"
        )
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
    if lbfgs_steps is None:
        lbfgs_steps = steps // 4 if optimizer is None else 0
    _check_positive(lbfgs_steps, "lbfgs_steps", allow_zero=True)
    _check_positive(lbfgs_memory, "lbfgs_memory")
    if hard_dirichlet not in (None, True, False):
        raise ValueError(
            f"solve: `hard_dirichlet` must be None, True or False, got {hard_dirichlet!r}"
        )
    if optimizer is None:
        optimizer = _DEFAULT_OPTIMIZER
    given_problem = problem
    exact_face = _zero_dirichlet(problem) if not isinstance(field, Constrained) else None
    if hard_dirichlet and exact_face is None:
        raise ValueError(
            f"solve: `hard_dirichlet=True` needs a `Dirichlet(0.0)` condition on every spatial "
            f"face (no `faces`, no `component`) and a field that is not already "
            f"`Constrained`; problem {problem.name!r} has none"
        )
    if exact_face is not None and hard_dirichlet is not False:
        field = Constrained(field, dirichlet_transform(problem.domain))
        kept = [c for i, c in enumerate(problem.conditions) if i != exact_face]
        problem = eqx.tree_at(lambda p: p.conditions, problem, tuple(kept))

    base_weights = jnp.asarray(
        [residual_weight] + [c.weight for c in problem.conditions], jnp.result_type(float)
    )
    objective = _Objective(problem, learn, causal)
    update = _Update(
        objective,
        n_interior,
        sampler,
        resample_every,
        bool(resample_boundary),
        n_boundary,
        adaptive,
        balancing,
        base_weights,
    )
    init_extra = update.init_extra
    learned0 = {n: jnp.asarray(problem.params[n], jnp.result_type(float)) for n in learn}
    if ensemble:
        keys = jnp.asarray(key)
        kx = jax.vmap(lambda k: jr.split(k)[0])(keys)
        kr = jax.vmap(lambda k: jr.split(k)[1])(keys)
        extra = jax.vmap(lambda k: init_extra(k, n_boundary))(kx)
        n_members = kx.shape[0]
        learned0 = jax.tree_util.tree_map(
            lambda v: jnp.broadcast_to(v, (n_members,) + v.shape), learned0
        )
    else:
        kx, kr = jr.split(key)
        extra = init_extra(kx, n_boundary)
    needs_update = bool(resample_every) or adaptive is not None or balancing is not None
    # the loss is deterministic: on fixed points, a line-search optimiser's step can take the
    # value and gradient its line search left at the accepted point (train.fit)
    line_search = _stores_linesearch(optimizer, (field, learned0))
    reuse = not needs_update and line_search
    # L-BFGS (this phase's if `optimizer` has a line search, and the second phase) runs on one
    # flat parameter vector (`train.fit(flat=True)`): its two-loop recursion and line-search
    # state are a few long array operations instead of a few per leaf. Poisson 2D's recipe
    # (32 x 3, 500 iterations): the chunk compiled in 1.8 s instead of 2.8 s, the phase took
    # 4.3 s instead of 5.5 s. Adam stays on the PyTree (splitting the vector each step cost it
    # 1.2x).
    common = dict(key=kr, chunk_size=chunk_size, progress=progress, ensemble=ensemble, mesh=mesh)
    tracked = None if callback is None else (lambda n, p: callback(n, p[0]))
    result = fit(
        objective,
        (field, learned0),
        optimizer,
        steps=steps,
        extra=extra,
        update_extra=update if needs_update else None,
        checkpoint=checkpoint,
        resume=resume,
        callback=tracked,
        reuse_linesearch=reuse,
        flat=line_search,
        **common,
    )
    phases = {"first": result.stats}
    history = result.history
    if lbfgs_steps and result.stats["failed_step"] is None:
        # the second phase: L-BFGS on the points the first one ended with, its own checkpoint
        first_steps = result.stats["steps"]
        shifted = None if callback is None else (lambda n, p: callback(first_steps + n, p[0]))
        result = fit(
            objective,
            result.params,
            _lbfgs(lbfgs_memory),
            steps=lbfgs_steps,
            extra=result.state.extra,
            checkpoint=None if checkpoint is None else _phase_path(checkpoint, "lbfgs"),
            resume=resume,
            callback=shifted,
            reuse_linesearch=True,  # fixed points, deterministic loss: half the evaluations
            flat=True,
            **common,
        )
        phases["lbfgs"] = result.stats
        history = {k: np.concatenate([history[k], v], axis=-1) for k, v in result.history.items()}
    trained_field, learned = result.params
    params = objective.all_params(learned)
    solved = given_problem if not learn else eqx.tree_at(lambda p: p.params, given_problem, params)
    points = result.state.extra["interior"]
    return PINNSolution(
        trained_field,
        params,
        solved,
        points,
        history,
        _merged_stats(phases),
        learn,
        int(kx.shape[0]) if ensemble else None,
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


_LBFGS: dict[int, optax.GradientTransformation] = {}


def _lbfgs(memory: int) -> optax.GradientTransformation:
    # one object per memory size, so that repeated `solve` calls share the compiled step
    return _LBFGS.setdefault(memory, optax.lbfgs(memory_size=memory))


def _merged_stats(phases: dict[str, dict]) -> dict:
    """One run's stats over its phases: steps and times add up, a failure keeps its global step."""
    first = phases["first"]
    if len(phases) == 1:
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
