"""Strategy objects for `solve`: loss balancing, causal weighting, adaptive resampling."""

from __future__ import annotations

import equinox as eqx


class GradientBalancing(eqx.Module):
    """Gradient-norm loss balancing (Wang, Teng & Perdikaris 2021; Wang et al. 2023, "An expert's
    guide to training PINNs", eq. 7): every `every` steps, weight term `i` by
    `sum_j ||grad L_j|| / ||grad L_i||`, smoothed as `w <- momentum w + (1 - momentum) w_new`."""

    every: int = eqx.field(static=True, default=100)
    momentum: float = eqx.field(static=True, default=0.9)

    def __check_init__(self):
        if self.every < 1 or not 0 <= self.momentum < 1:
            raise ValueError("GradientBalancing: need `every >= 1` and `0 <= momentum < 1`")


class CausalWeighting(eqx.Module):
    """Causal training for evolution equations (Wang, Sankaran & Perdikaris 2022): split time into
    `n_chunks` slabs; weight the residual loss of slab `i` by
    `exp(-tolerance * sum_{k<i} L_k)`, without gradient, so later times train only once
    earlier ones are resolved."""

    n_chunks: int = eqx.field(static=True, default=16)
    tolerance: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if self.n_chunks < 1 or self.tolerance < 0:
            raise ValueError("CausalWeighting: need `n_chunks >= 1` and `tolerance >= 0`")


class AdaptiveResampling(eqx.Module):
    """Residual-based adaptive refinement at fixed size (Lu et al. 2021, RAR; Wu et al. 2023):
    every `every` steps, draw `n_candidates` uniform points and let the `n_replace` with the
    largest residual replace the current points with the smallest. The point count never
    changes, so nothing recompiles."""

    every: int = eqx.field(static=True, default=500)
    n_candidates: int = eqx.field(static=True, default=10000)
    n_replace: int = eqx.field(static=True, default=200)

    def __check_init__(self):
        if self.every < 1 or self.n_candidates < 1 or self.n_replace < 1:
            raise ValueError(
                "AdaptiveResampling: `every`, `n_candidates`, `n_replace` must be >= 1"
            )
