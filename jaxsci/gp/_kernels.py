"""Stationary kernels of one pair of scalars, their products over dimensions, and derivative
kernels by autodiff.

Notation (Fang et al., ICLR 2024, eq. 6-8): a spectral-mixture component has weight `w_q`
(`weights`), mean frequency `mu_q` (`frequencies`, in cycles per unit length) and envelope
`rho_q` (`scales`, an inverse length). Positive parameters are stored as logs so that gradient
steps keep them positive; constructors take the natural values and check them.

Every kernel evaluates one pair `(x, y)` of scalars; a `Product` evaluates one pair of points of
shape `(dim,)`. Batch with `vmap` (see `gram`).
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Scalar


def _positive(value, name: str, where: str) -> Array:
    v = jnp.asarray(value)
    if not jnp.issubdtype(v.dtype, jnp.floating):
        v = v.astype(jnp.result_type(float))
    if not bool(jnp.all(v > 0)):
        raise ValueError(f"{where}: `{name}` must be positive, got {value!r}")
    return jnp.log(v)


@jax.custom_jvp
def _abs(d):
    return jnp.abs(d)


@_abs.defjvp
def _abs_jvp(primals, tangents):
    # |d| with the one-sided derivative +1 at d = 0 (jnp.abs uses 0 there). The Matern kernels
    # are functions of |d| whose even derivatives are continuous at 0; with sign(0) = 0 autodiff
    # would return k''(0) = 0 on the diagonal instead of the true value.
    (d,), (t,) = primals, tangents
    return jnp.abs(d), jnp.where(d >= 0, 1.0, -1.0).astype(t.dtype) * t


def _matern52(r, lengthscale):
    a = jnp.sqrt(5.0) * r / lengthscale
    return (1.0 + a + a**2 / 3.0) * jnp.exp(-a)


def _matern32(r, lengthscale):
    a = jnp.sqrt(3.0) * r / lengthscale
    return (1.0 + a) * jnp.exp(-a)


class AbstractKernel(eqx.Module):
    """A stationary kernel `k(x, y) = k(x - y)` of one pair of scalars (or of points, for
    `Product`). Concrete kernels implement `__call__`."""

    def __call__(self, x: Scalar, y: Scalar) -> Scalar:
        raise NotImplementedError


class SquaredExponential(AbstractKernel):
    """`k(d) = variance * exp(-d^2 / (2 lengthscale^2))`."""

    log_lengthscale: Array
    log_variance: Array

    def __init__(self, lengthscale: ArrayLike = 1.0, variance: ArrayLike = 1.0):
        self.log_lengthscale = _positive(lengthscale, "lengthscale", "SquaredExponential")
        self.log_variance = _positive(variance, "variance", "SquaredExponential")

    def __call__(self, x, y):
        d = x - y
        ell = jnp.exp(self.log_lengthscale)
        return jnp.exp(self.log_variance) * jnp.exp(-0.5 * d**2 / ell**2)


class Matern32(AbstractKernel):
    """`k(d) = variance * (1 + a) exp(-a)`, `a = sqrt(3) |d| / lengthscale` (once differentiable
    paths: derivative kernels up to order (1, 1) and (2, 0))."""

    log_lengthscale: Array
    log_variance: Array

    def __init__(self, lengthscale: ArrayLike = 1.0, variance: ArrayLike = 1.0):
        self.log_lengthscale = _positive(lengthscale, "lengthscale", "Matern32")
        self.log_variance = _positive(variance, "variance", "Matern32")

    def __call__(self, x, y):
        r = _abs(x - y)
        return jnp.exp(self.log_variance) * _matern32(r, jnp.exp(self.log_lengthscale))


class Matern52(AbstractKernel):
    """`k(d) = variance * (1 + a + a^2/3) exp(-a)`, `a = sqrt(5) |d| / lengthscale`."""

    log_lengthscale: Array
    log_variance: Array

    def __init__(self, lengthscale: ArrayLike = 1.0, variance: ArrayLike = 1.0):
        self.log_lengthscale = _positive(lengthscale, "lengthscale", "Matern52")
        self.log_variance = _positive(variance, "variance", "Matern52")

    def __call__(self, x, y):
        r = _abs(x - y)
        return jnp.exp(self.log_variance) * _matern52(r, jnp.exp(self.log_lengthscale))


def _mixture_args(weights, frequencies, scales, where):
    frequencies = jnp.atleast_1d(jnp.asarray(frequencies, jnp.result_type(float)))
    q = frequencies.shape[0]
    weights = jnp.broadcast_to(jnp.atleast_1d(jnp.asarray(weights, frequencies.dtype)), (q,))
    scales = jnp.broadcast_to(jnp.atleast_1d(jnp.asarray(scales, frequencies.dtype)), (q,))
    if frequencies.ndim != 1:
        raise ValueError(f"{where}: `frequencies` must be 1D, got shape {frequencies.shape}")
    if not bool(jnp.all(frequencies >= 0)):
        raise ValueError(f"{where}: `frequencies` must be non-negative, got {frequencies}")
    return (
        _positive(weights, "weights", where),
        frequencies,
        _positive(scales, "scales", where),
    )


class _AbstractMixture(AbstractKernel):
    """`k(d) = sum_q w_q envelope_q(d) cos(2 pi mu_q d)`: a spectral mixture whose components
    differ only in the envelope (the Fourier transform of each spectral peak's shape)."""

    log_weights: eqx.AbstractVar[Float[Array, " q"]]
    frequencies: eqx.AbstractVar[Float[Array, " q"]]
    log_scales: eqx.AbstractVar[Float[Array, " q"]]

    def _envelope(self, d, rho):
        raise NotImplementedError

    def __call__(self, x, y):
        d = x - y
        rho = jnp.exp(self.log_scales)
        terms = self._envelope(d, rho) * jnp.cos(2 * jnp.pi * self.frequencies * d)
        return jnp.dot(jnp.exp(self.log_weights), terms)


class SpectralMixture(_AbstractMixture):
    """Gaussian spectral mixture `k(d) = sum_q w_q exp(-rho_q^2 d^2) cos(2 pi mu_q d)`
    (Wilson & Adams 2013; Fang et al. 2024, eq. 7). `weights` `w_q > 0`, `frequencies`
    `mu_q >= 0` (cycles per unit length), `scales` `rho_q > 0` (scalars broadcast)."""

    log_weights: Float[Array, " q"]
    frequencies: Float[Array, " q"]
    log_scales: Float[Array, " q"]

    def __init__(self, weights: ArrayLike, frequencies: ArrayLike, scales: ArrayLike):
        self.log_weights, self.frequencies, self.log_scales = _mixture_args(
            weights, frequencies, scales, "SpectralMixture"
        )

    def _envelope(self, d, rho):
        return jnp.exp(-(rho**2) * d**2)


class StudentTMixture(_AbstractMixture):
    """Student-t spectral mixture, the Matern-envelope form of Fang et al. (2024, eq. 8):
    `k(d) = sum_q w_q Matern52(|d|; lengthscale 1/rho_q) cos(2 pi mu_q d)` (the inverse Fourier
    transform of a mixture of Student-t densities with 5 degrees of freedom)."""

    log_weights: Float[Array, " q"]
    frequencies: Float[Array, " q"]
    log_scales: Float[Array, " q"]

    def __init__(self, weights: ArrayLike, frequencies: ArrayLike, scales: ArrayLike):
        self.log_weights, self.frequencies, self.log_scales = _mixture_args(
            weights, frequencies, scales, "StudentTMixture"
        )

    def _envelope(self, d, rho):
        return _matern52(_abs(d), 1.0 / rho)


class Product(AbstractKernel):
    """`k(x, y) = prod_i k_i(x_i, y_i)` over dimensions: the kernel of points of shape `(dim,)`
    whose Gram matrix on a tensor grid is the Kronecker product of the per-dimension ones."""

    kernels: tuple[AbstractKernel, ...]

    def __init__(self, kernels: Sequence[AbstractKernel]):
        kernels = tuple(kernels)
        if not kernels or not all(
            isinstance(k, AbstractKernel) and not isinstance(k, Product) for k in kernels
        ):
            raise TypeError("Product: `kernels` must be a non-empty sequence of 1D kernels")
        self.kernels = kernels

    @property
    def dim(self) -> int:
        return len(self.kernels)

    def __call__(self, x, y):
        vals = [k(x[i], y[i]) for i, k in enumerate(self.kernels)]
        out = vals[0]
        for v in vals[1:]:
            out = out * v
        return out


def derivative_kernel(kernel: AbstractKernel, a: int, b: int = 0):
    """`(x, y) -> d^a/dx^a d^b/dy^b k(x, y)` for a 1D kernel, by nested forward-mode autodiff."""
    if a < 0 or b < 0:
        raise ValueError(f"derivative_kernel: orders must be non-negative, got ({a}, {b})")

    def dx(f):
        return lambda x, y: jax.jvp(lambda s: f(s, y), (x,), (jnp.ones_like(x),))[1]

    def dy(f):
        return lambda x, y: jax.jvp(lambda s: f(x, s), (y,), (jnp.ones_like(y),))[1]

    f = kernel.__call__
    for _ in range(a):
        f = dx(f)
    for _ in range(b):
        f = dy(f)
    return f


def gram(
    kernel: AbstractKernel, x: Float[Array, " n"], y: Float[Array, " m"], a: int = 0, b: int = 0
) -> Float[Array, "n m"]:
    """The matrix `[d^a_x d^b_y k(x_i, y_j)]` of a 1D kernel."""
    f = derivative_kernel(kernel, a, b)
    return jax.vmap(lambda xi: jax.vmap(lambda yj: f(xi, yj))(y))(x)
