"""Strategy objects for `solve`: loss balancing, causal weighting, adaptive resampling."""

from __future__ import annotations

import equinox as eqx

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
