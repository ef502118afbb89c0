"""Strategy objects for `solve`: loss balancing, causal weighting, adaptive resampling.

Each holds its settings and its behaviour as pure functions of arrays (in the manner of optax's
transformations): `GradientBalancing.update(weights, grad_norms, base_weights)`,
`CausalWeighting.loss(squared_residuals, times, t0, t1)`, `AdaptiveResampling.update(points,
residuals, candidates, candidate_residuals)`. `solve` decides when they run (every `every`
steps) and feeds them what the loss computed; they work on one member, `vmap` outside.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_float, check_int


class GradientBalancing(eqx.Module):
    """Gradient-norm loss balancing (Wang, Teng & Perdikaris 2021; Wang et al. 2023, "An expert's
    guide to training PINNs", eq. 7): every `every` steps, weight term `i` by
    `sum_j ||grad L_j|| / ||grad L_i||`, smoothed as `w <- momentum w + (1 - momentum) w_new`."""

    every: int = eqx.field(static=True, default=100)
    momentum: float = eqx.field(static=True, default=0.9)

    def __check_init__(self):
        check_int(self.every, "every", "GradientBalancing")
        if check_float(self.momentum, "momentum", "GradientBalancing", non_negative=True) >= 1:
            raise ValueError(
                f"GradientBalancing: `momentum` must be in [0, 1), got {self.momentum!r}"
            )

    def update(
        self,
        weights: Float[Array, " terms"],
        grad_norms: Float[Array, " terms"],
        base_weights: Float[Array, " terms"],
    ) -> Float[Array, " terms"]:
        """The term weights after one balancing update: `sum_j |g_j| / |g_i|` (times each
        term's base weight), smoothed with the current ones by `momentum`."""
        new = jnp.sum(grad_norms) / jnp.maximum(grad_norms, 1e-12) * base_weights
        return self.momentum * weights + (1 - self.momentum) * new.astype(weights.dtype)


class CausalWeighting(eqx.Module):
    """Causal training for evolution equations (Wang, Sankaran & Perdikaris 2022): split time into
    `n_chunks` slabs; weight the residual loss of slab `i` by
    `exp(-tolerance * sum_{k<i} L_k)`, without gradient, so later times train only once
    earlier ones are resolved."""

    n_chunks: int = eqx.field(static=True, default=16)
    tolerance: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        check_int(self.n_chunks, "n_chunks", "CausalWeighting")
        check_float(self.tolerance, "tolerance", "CausalWeighting", non_negative=True)

    def loss(
        self, squared: Float[Array, " n"], times: Float[Array, " n"], t0: float, t1: float
    ) -> Float[Array, ""]:
        """The causally weighted residual loss of points at `times` in `[t0, t1]` with squared
        residuals `squared`: the mean over slabs of `w_i L_i`, `L_i` the mean of slab `i`,
        `w_i = exp(-tolerance sum_{k<i} L_k)` held constant for the gradient."""
        n = self.n_chunks
        slab = jnp.clip(((times - t0) / (t1 - t0) * n).astype(jnp.int32), 0, n - 1)
        total = jax.ops.segment_sum(squared, slab, n)
        count = jax.ops.segment_sum(jnp.ones_like(squared), slab, n)
        per_slab = total / jnp.maximum(count, 1)
        w = jax.lax.stop_gradient(jnp.exp(-self.tolerance * (jnp.cumsum(per_slab) - per_slab)))
        return jnp.mean(w * per_slab)


class AdaptiveResampling(eqx.Module):
    """Residual-based adaptive refinement at fixed size (Lu et al. 2021, RAR; Wu et al. 2023):
    every `every` steps, draw `n_candidates` uniform points and let the `n_replace` with the
    largest residual replace the current points with the smallest. The point count never
    changes, so nothing recompiles."""

    every: int = eqx.field(static=True, default=500)
    n_candidates: int = eqx.field(static=True, default=10000)
    n_replace: int = eqx.field(static=True, default=200)

    def __check_init__(self):
        check_int(self.every, "every", "AdaptiveResampling")
        check_int(self.n_candidates, "n_candidates", "AdaptiveResampling")
        check_int(self.n_replace, "n_replace", "AdaptiveResampling")

    def update(
        self,
        points: Float[Array, "n dim"],
        residuals: Float[Array, " n"],
        candidates: Float[Array, "m dim"],
        candidate_residuals: Float[Array, " m"],
    ) -> Float[Array, "n dim"]:
        """`points` with the `n_replace` of smallest residual replaced by the candidates of
        largest residual (at most as many as there are points and candidates)."""
        k = min(self.n_replace, points.shape[0], candidates.shape[0])
        _, worst = jax.lax.top_k(candidate_residuals, k)
        _, best = jax.lax.top_k(-residuals, k)
        return points.at[best].set(candidates[worst])
