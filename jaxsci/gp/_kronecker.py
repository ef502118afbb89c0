"""Kronecker algebra on tensor grids: `K = K_1 (x) ... (x) K_d` is never formed.

With `K_i = Q_i diag(l_i) Q_i^T` (one symmetric eigendecomposition per dimension, O(sum n_i^3)),
`K + jitter I = (Q_1 (x) ... (x) Q_d) (diag(l_1 (x) ... (x) l_d) + jitter) (Q_1 (x) ... )^T`, so
a solve or a log-determinant costs d tensor contractions (O(N sum n_i)) on top of the per-dimension
factorisations, and a matrix-vector product `(A_1 (x) ... (x) A_d) v` is d contractions of the
reshaped `v`, axis by axis. Float64 is expected: spectral-mixture Gram matrices have eigenvalues
spanning 16 orders of magnitude, and `jitter` (added to the full product's eigenvalues, default
1e-10 relative to the largest) is what keeps the solve finite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, Float


def kron_matvec(factors: Sequence[Array], v: Float[Array, " N"]) -> Float[Array, " M"]:
    """`(A_1 (x) ... (x) A_d) v` with `A_i` of shape `(m_i, n_i)` and `v` of length prod n_i
    (row-major order, the last dimension fastest, as `jnp.kron` and `meshgrid(indexing="ij")`)."""
    shape = tuple(a.shape[1] for a in factors)
    if v.shape != (math.prod(shape),):
        raise ValueError(f"kron_matvec: `v` must have shape ({'*'.join(map(str, shape))},)")
    t = v.reshape(shape)
    for i, a in enumerate(factors):
        t = jnp.moveaxis(jnp.tensordot(a, t, axes=([1], [i])), 0, i)
    return t.reshape(-1)


def kron_dense(factors: Sequence[Array]) -> Array:
    """The full Kronecker product (for checks and small grids only)."""
    out = factors[0]
    for a in factors[1:]:
        out = jnp.kron(out, a)
    return out


class KroneckerEig:
    """Per-dimension eigendecompositions of symmetric factors `K_i` with a jitter, giving
    `solve` and `logdet` of `K_1 (x) ... (x) K_d + jitter * max_eig * I`."""

    def __init__(self, factors: Sequence[Array], jitter: float = 1e-10):
        eigs = [jnp.linalg.eigh(k) for k in factors]
        self.vectors = [q for _, q in eigs]
        lam = eigs[0][0]
        for w, _ in eigs[1:]:
            lam = jnp.outer(lam, w).reshape(-1)
        self.eigenvalues = lam + jitter * jnp.max(jnp.abs(lam))

    def solve(self, v: Float[Array, " N"]) -> Float[Array, " N"]:
        z = kron_matvec([q.T for q in self.vectors], v)
        return kron_matvec(self.vectors, z / self.eigenvalues)

    def logdet(self) -> Array:
        return jnp.sum(jnp.log(self.eigenvalues))


def kron_solve(factors: Sequence[Array], v: Array, jitter: float = 1e-10) -> Array:
    """`(K_1 (x) ... (x) K_d + jitter I)^{-1} v` for symmetric positive semi-definite `K_i`."""
    return KroneckerEig(factors, jitter).solve(v)


def kron_logdet(factors: Sequence[Array], jitter: float = 1e-10) -> Array:
    """`log det(K_1 (x) ... (x) K_d + jitter I)` (jitter relative to the largest eigenvalue)."""
    return KroneckerEig(factors, jitter).logdet()


def operator_factors(orders, coefficients, grams) -> list[tuple[Array, list[Array]]]:
    """The operator `L = sum_k c_k D^{a_k}` applied to the first argument of a product kernel on
    a tensor grid, as a sum of Kronecker products: `[(c_k, [G_1^{(a_k1)}, ..., G_d^{(a_kd)}])]`,
    where `grams(i, a)` returns the `a`-th derivative Gram matrix of dimension `i`. The Laplacian
    in 2D is `K_1'' (x) K_2 + K_1 (x) K_2''`."""
    return [
        (c, [grams(i, int(o)) for i, o in enumerate(a)])
        for a, c in zip(orders, coefficients, strict=True)
    ]
