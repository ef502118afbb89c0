"""The physics-informed loss and the per-step update of its points and weights."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array

from ..pde import AbstractPointCondition, Problem
from ._diagnose import mean_ntk_trace
from ._options import Sampling
from ._strategies import (
    CausalWeighting,
    GradientBalancing,
    MagnitudeWeighting,
    NTKWeighting,
    ResidualDensityResampling,
)


class _ZeroField(eqx.Module):
    """The zero function with `field`'s output shape: the loss terms at it are the sizes of
    the problem's data (`MagnitudeWeighting`)."""

    field: eqx.Module

    def __call__(self, x):
        return 0.0 * self.field(x)


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

    def _squared(self, u, points, params):
        r = jax.vmap(lambda x: self.problem.residual(u, x, params))(points)
        sq = jnp.abs(r) ** 2
        return sq.reshape(sq.shape[0], -1).mean(axis=1)

    def _in_time(self, sq, points):
        """The arguments of `CausalWeighting`'s methods: squared residuals, their points' times
        and the time interval."""
        domain = self.problem.domain
        return sq, points[:, -1], domain.lower[-1], domain.upper[-1]

    def residual_loss(self, u, points, params, causal_weights=None):
        """The residual term; with `causal`, causally weighted, by `causal_weights` where given
        (fixed slab weights) and by the current ones otherwise."""
        sq = self._squared(u, points, params)
        if self.causal is None:
            return jnp.mean(sq)
        return self.causal.loss(*self._in_time(sq, points), causal_weights)

    def freeze_causal(self, trainable, extra):
        """`extra` with the causal slab weights of `trainable` on its points stored
        (`"causal"`), so that the loss uses them as constants: a loss whose gradient is the
        gradient of its value, as a line search needs. Unchanged without `causal`."""
        if self.causal is None:
            return extra
        u, learned = trainable
        sq = self._squared(u, extra["interior"], self.all_params(learned))
        return {**extra, "causal": self.causal.slabs(*self._in_time(sq, extra["interior"]))[1]}

    def terms(self, trainable, extra):
        u, learned = trainable
        params = self.all_params(learned)
        out = [self.residual_loss(u, extra["interior"], params, extra.get("causal"))]
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
    """Per-step update of the non-trained state: resampling, adaptive refinement, balancing.

    `extra` holds the points, the term `"weights"` and, with `magnitude`, the weights it set
    (`"base"`), which a balancing multiplies; all are PyTree leaves of the training state, so
    an update changes values, never the compiled step."""

    objective: _Objective
    sampling: Sampling
    balancing: GradientBalancing | NTKWeighting | None
    base_weights: Array
    magnitude: MagnitudeWeighting | None = None

    def init_extra(self, key, field=None):
        """The training points and term weights; `field` (its structure) is needed only for
        `magnitude`, which evaluates the terms at the zero field."""
        problem, s = self.objective.problem, self.sampling
        keys = jr.split(key, len(problem.conditions) + 1)
        extra = {
            "interior": problem.domain.sample(keys[0], s.n_interior, method=s.method),
            "conditions": [
                c.sample(k, problem.domain, s.n_boundary, method=s.condition_method)
                for c, k in zip(problem.conditions, keys[1:], strict=True)
            ],
            "weights": self.base_weights,
        }
        if self.magnitude is not None:
            if field is None:
                raise ValueError("_Update.init_extra: `field` is needed with `magnitude`")
            zero = self.objective.terms((_ZeroField(field), {}), extra)
            extra["base"] = self.magnitude.weights(jax.lax.stop_gradient(zero), self.base_weights)
            extra["weights"] = extra["base"]
        return extra

    @property
    def needed(self) -> bool:
        """Whether `extra` changes during training at all."""
        return self.sampling.moves_points or self.balancing is not None

    def __call__(self, trainable, extra, key, step):
        domain, s = self.objective.problem.domain, self.sampling
        k_res, k_rar, k_bal = jr.split(key, 3)
        extra = dict(extra)
        if s.resample_every:
            due = (step + 1) % s.resample_every == 0
            fresh = domain.sample(k_res, s.n_interior, method=s.method)
            extra["interior"] = jnp.where(due, fresh, extra["interior"])
            conditions = self.objective.problem.conditions
            if s.resample_boundary and conditions:  # fixed data: the same points back
                keys = jr.split(jr.fold_in(k_res, 1), len(conditions))
                method = s.condition_method
                extra["conditions"] = [
                    jnp.where(due, c.sample(k, domain, s.n_boundary, method=method), pts)
                    for c, k, pts in zip(conditions, keys, extra["conditions"], strict=True)
                ]
        if s.adaptive is not None:
            extra["interior"] = jax.lax.cond(
                (step + 1) % s.adaptive.every == 0,
                lambda pts: self.refine(trainable, pts, k_rar),
                lambda pts: pts,
                extra["interior"],
            )
        if self.balancing is not None:
            extra["weights"] = jax.lax.cond(
                (step + 1) % self.balancing.every == 0,
                lambda w: self.balanced(trainable, extra, w, k_bal),
                lambda w: w,
                extra["weights"],
            )
        return extra

    def refine(self, trainable, pts, key):
        adaptive = self.sampling.adaptive
        domain = self.objective.problem.domain
        residual = lambda x: self.objective.point_residuals(trainable, x)  # noqa: E731
        if isinstance(adaptive, ResidualDensityResampling):
            k_cand, k_draw = jr.split(key)
            cand = domain.sample(k_cand, adaptive.n_candidates)
            return adaptive.update(pts, None, cand, residual(cand), k_draw)
        cand = domain.sample(key, adaptive.n_candidates)
        return adaptive.update(pts, residual(pts), cand, residual(cand))

    def balanced(self, trainable, extra, w, key):
        base = extra.get("base", self.base_weights)
        if isinstance(self.balancing, NTKWeighting):
            return self.balancing.update(w, self.ntk_traces(trainable, extra, key), base)
        params, static = eqx.partition(trainable, eqx.is_inexact_array)
        n_terms = w.shape[0]
        jac = jax.jacrev(lambda p: self.objective.terms(eqx.combine(p, static), extra))(params)
        norms = jnp.sqrt(
            sum(
                jnp.sum(g.reshape(n_terms, -1) ** 2, axis=1) for g in jax.tree_util.tree_leaves(jac)
            )
        )
        return self.balancing.update(w, norms, base)

    def ntk_traces(self, trainable, extra, key):
        """Each term's NTK trace per residual entry at up to `n_points` of its points (a
        random subset without replacement), in the field's parameters."""
        u, learned = trainable
        problem = self.objective.problem
        params = self.objective.all_params(learned)
        terms = [(problem.residual, extra["interior"])]
        terms += [
            (c.residual if isinstance(c, AbstractPointCondition) else None, pts)
            for c, pts in zip(problem.conditions, extra["conditions"], strict=True)
        ]
        keys = jr.split(key, len(terms))
        traces = []
        for (residual_at, pts), k in zip(terms, keys, strict=True):
            if residual_at is None:  # no residual per point (a normalisation): keeps its weight
                traces.append(jnp.zeros((), extra["weights"].dtype))
                continue
            n = self.balancing.n_points
            if n < pts.shape[0]:
                pts = pts[jr.choice(k, pts.shape[0], (n,), replace=False)]
            traces.append(mean_ntk_trace(residual_at, u, params, pts))
        return jnp.stack(traces).astype(extra["weights"].dtype)
