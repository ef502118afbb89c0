"""Strategy objects for `solve`: loss balancing, causal weighting, adaptive resampling.

Each holds its settings and its behaviour as pure functions of arrays (in the manner of optax's
transformations): `GradientBalancing.update(weights, grad_norms, base_weights)`,
`NTKWeighting.update(weights, traces, base_weights)`, `MagnitudeWeighting.weights(zero_losses,
base_weights)`, `CausalWeighting.loss(squared_residuals, times, t0, t1)`,
`AdaptiveResampling.update(points, residuals, candidates, candidate_residuals)`,
`ResidualDensityResampling.update(points, residuals, candidates, candidate_residuals, key)`.
`solve` decides when they run (every `every` steps) and feeds them what the loss computed;
they work on one member, `vmap` outside. Under an ensemble (`vmap`) the step counter is per
member, so the conditional that runs an update every `every` steps becomes a select: the
update is computed at every step (same result, more work).
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


class NTKWeighting(eqx.Module):
    """Neural-tangent-kernel trace weights (Wang, Yu & Perdikaris 2022, "When and why PINNs
    fail to train: a neural tangent kernel perspective", Algorithm 1): every `every` steps,
    weight term `i` by `sum_j tr(K_j) / tr(K_i)` (times its base weight), smoothed as
    `w <- momentum w + (1 - momentum) w_new`.

    `K_i = J_i J_i^T` is the empirical NTK of term `i`'s residuals (`J_i` their Jacobian in the
    field's parameters) at `n_points` of its training points, drawn at random without
    replacement (all of them when it has fewer). Each trace is divided by its number of
    residual entries, so terms with different point counts compare per point (as the loss
    terms, which are means); with equal counts the weights are `pinn.diagnose`'s
    `ntk_weights`. A condition with no residual per point (a normalisation) has no NTK here:
    it keeps its base weight and is left out of the sum. The update costs one Jacobian of
    `n_points` residuals per term.
    """

    every: int = eqx.field(static=True, default=100)
    n_points: int = eqx.field(static=True, default=64)
    momentum: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        check_int(self.every, "every", "NTKWeighting")
        check_int(self.n_points, "n_points", "NTKWeighting")
        if check_float(self.momentum, "momentum", "NTKWeighting", non_negative=True) >= 1:
            raise ValueError(f"NTKWeighting: `momentum` must be in [0, 1), got {self.momentum!r}")

    def update(
        self,
        weights: Float[Array, " terms"],
        traces: Float[Array, " terms"],
        base_weights: Float[Array, " terms"],
    ) -> Float[Array, " terms"]:
        """The term weights after one update: `sum_j tr_j / tr_i` (times each term's base
        weight), smoothed with the current ones by `momentum`. A term whose trace is zero or
        below machine epsilon of the traces' sum (the field cannot move it: a condition the
        field satisfies by construction, as `PeriodicEmbedding` a `Periodic` one, leaves a
        residual of rounding, whose trace is ~1e-15 of the others') keeps its weight."""
        positive = traces > jnp.finfo(traces.dtype).eps * jnp.sum(traces)
        new = jnp.sum(traces) / jnp.where(positive, traces, 1.0) * base_weights
        new = jnp.where(positive, new.astype(weights.dtype), weights)
        return self.momentum * weights + (1 - self.momentum) * new


class MagnitudeWeighting(eqx.Module):
    """Each loss term scaled once, before training, by the natural size of its data: term `i`'s
    weight is `base_i / max(L_i(0), floor)`, `L_i(0)` its loss at the zero field (for a linear
    problem, the mean square of the source or of the boundary data). A source of size 1e3
    against boundary data of size 1 weighs the residual by 1e-6; terms whose data are below
    `floor` keep their base weight."""

    floor: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        check_float(self.floor, "floor", "MagnitudeWeighting", positive=True)

    def weights(
        self, zero_losses: Float[Array, " terms"], base_weights: Float[Array, " terms"]
    ) -> Float[Array, " terms"]:
        """`base_weights / max(zero_losses, floor)`."""
        return base_weights / jnp.maximum(zero_losses, self.floor).astype(base_weights.dtype)


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

    def slabs(
        self, squared: Float[Array, " n"], times: Float[Array, " n"], t0: float, t1: float
    ) -> tuple[Float[Array, " n_chunks"], Float[Array, " n_chunks"]]:
        """The slab means `L_i` of squared residuals `squared` at `times` in `[t0, t1]`, and
        their weights `w_i = exp(-tolerance sum_{k<i} L_k)`, held constant for the gradient."""
        n = self.n_chunks
        slab = jnp.clip(((times - t0) / (t1 - t0) * n).astype(jnp.int32), 0, n - 1)
        total = jax.ops.segment_sum(squared, slab, n)
        count = jax.ops.segment_sum(jnp.ones_like(squared), slab, n)
        per_slab = total / jnp.maximum(count, 1)
        w = jax.lax.stop_gradient(jnp.exp(-self.tolerance * (jnp.cumsum(per_slab) - per_slab)))
        return per_slab, w

    def loss(
        self,
        squared: Float[Array, " n"],
        times: Float[Array, " n"],
        t0: float,
        t1: float,
        weights: Float[Array, " n_chunks"] | None = None,
    ) -> Float[Array, ""]:
        """The causally weighted residual loss: the mean over slabs of `w_i L_i` (`slabs`).
        `weights`: fixed slab weights to use instead of the current ones. With the current
        ones the gradient is not the gradient of the loss's value (the weights are held
        constant for it), which a line search cannot work with: `solve`'s L-BFGS phase holds
        the weights the first phase ended with (`_Objective.freeze_causal`)."""
        per_slab, w = self.slabs(squared, times, t0, t1)
        return jnp.mean((w if weights is None else weights) * per_slab)


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


class ResidualDensityResampling(eqx.Module):
    """Residual-based adaptive distribution (Wu et al. 2023, "A comprehensive study of
    non-adaptive and residual-based adaptive sampling for PINNs", RAD, eq. 2; the fixed-size
    form of their RAR-D): every `every` steps, draw `n_candidates` uniform points and replace
    all the collocation points by a draw without replacement from the candidates with
    probability `p(x) ~ |r(x)|^exponent / mean |r|^exponent + constant`. Their recommended
    `exponent=1, constant=1` is the default. The point count never changes, so nothing
    recompiles."""

    every: int = eqx.field(static=True, default=500)
    n_candidates: int = eqx.field(static=True, default=10000)
    exponent: float = eqx.field(static=True, default=1.0)
    constant: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        check_int(self.every, "every", "ResidualDensityResampling")
        check_int(self.n_candidates, "n_candidates", "ResidualDensityResampling")
        check_float(self.exponent, "exponent", "ResidualDensityResampling", non_negative=True)
        check_float(self.constant, "constant", "ResidualDensityResampling", non_negative=True)

    def density(self, residuals: Float[Array, " m"]) -> Float[Array, " m"]:
        """The sampling probabilities of candidates with `residuals`: `|r|^k / mean |r|^k + c`,
        normalised to sum to one (uniform when every residual is zero)."""
        rk = jnp.abs(residuals) ** self.exponent
        mean = jnp.mean(rk)
        p = jnp.where(mean > 0, rk / jnp.where(mean > 0, mean, 1.0), 0.0) + self.constant
        p = jnp.where(jnp.sum(p) > 0, p, 1.0)
        return p / jnp.sum(p)

    def update(
        self,
        points: Float[Array, "n dim"],
        residuals: Float[Array, " n"],
        candidates: Float[Array, "m dim"],
        candidate_residuals: Float[Array, " m"],
        key,
    ) -> Float[Array, "n dim"]:
        """`n` points drawn without replacement from `candidates` with `density` (`n` the
        number of `points`; their residuals are not used)."""
        n, m = points.shape[0], candidates.shape[0]
        if m < n:
            raise ValueError(
                f"ResidualDensityResampling: `n_candidates` ({m}) must be at least the number "
                f"of collocation points ({n})"
            )
        chosen = jax.random.choice(key, m, (n,), replace=False, p=self.density(candidate_residuals))
        return candidates[chosen].astype(points.dtype)
