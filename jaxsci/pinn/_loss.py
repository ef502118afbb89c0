"""The physics-informed loss and the per-step update of its points and weights."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array

from ..pde import Problem
from ._options import Sampling
from ._strategies import CausalWeighting, GradientBalancing


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
        lower, upper = problem.domain.lower[-1], problem.domain.upper[-1]
        return causal.loss(sq, points[:, -1], lower, upper)

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
    sampling: Sampling
    balancing: GradientBalancing | None
    base_weights: Array

    def init_extra(self, key):
        problem, s = self.objective.problem, self.sampling
        keys = jr.split(key, len(problem.conditions) + 1)
        return {
            "interior": problem.domain.sample(keys[0], s.n_interior, method=s.method),
            "conditions": [
                c.sample(k, problem.domain, s.n_boundary, method=s.condition_method)
                for c, k in zip(problem.conditions, keys[1:], strict=True)
            ],
            "weights": self.base_weights,
        }

    @property
    def needed(self) -> bool:
        """Whether `extra` changes during training at all."""
        return self.sampling.moves_points or self.balancing is not None

    def __call__(self, trainable, extra, key, step):
        domain, s = self.objective.problem.domain, self.sampling
        k_res, k_rar = jr.split(key)
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
                lambda w: self.balanced(trainable, extra, w),
                lambda w: w,
                extra["weights"],
            )
        return extra

    def refine(self, trainable, pts, key):
        adaptive = self.sampling.adaptive
        cand = self.objective.problem.domain.sample(key, adaptive.n_candidates)
        residual = lambda x: self.objective.point_residuals(trainable, x)  # noqa: E731
        return adaptive.update(pts, residual(pts), cand, residual(cand))

    def balanced(self, trainable, extra, w):
        params, static = eqx.partition(trainable, eqx.is_inexact_array)
        n_terms = w.shape[0]
        jac = jax.jacrev(lambda p: self.objective.terms(eqx.combine(p, static), extra))(params)
        norms = jnp.sqrt(
            sum(
                jnp.sum(g.reshape(n_terms, -1) ** 2, axis=1) for g in jax.tree_util.tree_leaves(jac)
            )
        )
        return self.balancing.update(w, norms, self.base_weights)
