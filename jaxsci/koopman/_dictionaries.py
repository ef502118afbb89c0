"""Dictionaries of observables psi: R^d -> R^N (one point in, `vmap` outside)."""

import abc
import itertools
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_int


class AbstractDictionary(eqx.Module):
    """A feature map `psi(x) -> (n_features,)` evaluated at one point."""

    @abc.abstractmethod
    def __call__(self, x: Float[Array, " dim"]) -> Float[Array, " n_features"]:
        """Features at one state."""


def _check_point(x, dim, name="x"):
    if x.ndim != 1 or (dim is not None and x.shape[0] != dim):
        raise ValueError(
            f"`{name}` must be one point of shape ({dim},), got {x.shape}; vmap outside."
        )


def monomial_exponents(dim: int, degree: int, weights=None) -> np.ndarray:
    """All exponent vectors e in N^dim with sum_i weights_i e_i <= degree (weights default 1).

    Example: `monomial_exponents(2, d, weights=(1, 2))` gives the x^a y^b, a + 2b <= d, that span a
    Koopman-invariant subspace of the slow-manifold system.
    """
    where = "monomial_exponents"
    dim = check_int(dim, "dim", where)
    degree = check_int(degree, "degree", where, minimum=0)
    if weights is None:
        weights = (1,) * dim
    elif isinstance(weights, np.ndarray | jax.Array):
        weights = np.asarray(weights).tolist()
    if np.ndim(weights) != 1 or len(weights) != dim:
        raise ValueError(f"{where}: `weights` must be {dim} positive ints, got {weights!r}")
    weights = np.asarray([check_int(w, "weights", where) for w in weights])
    exps = [
        e
        for e in itertools.product(*(range(degree // w + 1) for w in weights))
        if int(np.dot(e, weights)) <= degree
    ]
    exps.sort(key=lambda e: (int(np.dot(e, weights)), tuple(-np.asarray(e))))
    return np.asarray(exps, dtype=np.int32)


class Monomials(AbstractDictionary):
    """Monomials x^e for a table of exponents (total degree <= `degree` by default)."""

    exponents: tuple = eqx.field(
        static=True, converter=lambda e: tuple(map(tuple, np.asarray(e, int).tolist()))
    )

    @classmethod
    def of_degree(cls, dim: int, degree: int, weights=None) -> "Monomials":
        return cls(monomial_exponents(dim, degree, weights))

    def __call__(self, x):
        exps = np.asarray(self.exponents, np.int32)
        _check_point(x, exps.shape[1])
        # integer powers (lax.integer_pow) stay exact for negative x, unlike x ** float
        cols = [jnp.prod(jnp.stack([x[j] ** int(e[j]) for j in range(len(e))])) for e in exps]
        return jnp.stack(cols)


def _tensor_index(dim, degree):
    return monomial_exponents(dim, degree)


class _AbstractOrthogonalPolynomials(AbstractDictionary):
    """Tensor products of a family of 1D polynomials, total degree <= `degree`, on the box
    [lower, upper] (mapped affinely to [-1, 1]^dim). A final subclass gives the fields and
    the family's three-term recurrence (`_basis_1d`)."""

    lower: eqx.AbstractVar[Float[Array, " dim"]]
    upper: eqx.AbstractVar[Float[Array, " dim"]]
    degree: eqx.AbstractVar[int]

    def __check_init__(self):
        check_int(self.degree, "degree", type(self).__name__, minimum=0)
        if jnp.shape(self.lower) != jnp.shape(self.upper) or jnp.ndim(self.lower) != 1:
            raise ValueError("`lower` and `upper` must be 1-d arrays of the same shape.")
        if isinstance(self.lower, jax.core.Tracer) or isinstance(self.upper, jax.core.Tracer):
            return  # built inside a transform: the bounds are checked where they are concrete
        lo, hi = np.asarray(self.lower), np.asarray(self.upper)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all() and (lo < hi).all()):
            raise ValueError(
                f"{type(self).__name__}: need finite bounds with `lower` < `upper` in every "
                f"coordinate, got lower={lo.tolist()}, upper={hi.tolist()}."
            )

    @abc.abstractmethod
    def _basis_1d(self, t, degree):
        """The polynomials of degree 0..`degree` at one `t` in [-1, 1], shape `(degree + 1,)`."""

    def __call__(self, x):
        _check_point(x, self.lower.shape[0])
        t = 2 * (x - self.lower) / (self.upper - self.lower) - 1
        table = jax.vmap(lambda s: self._basis_1d(s, self.degree))(t)  # (dim, degree + 1)
        idx = _tensor_index(x.shape[0], self.degree)
        return jnp.prod(table[jnp.arange(x.shape[0])[None, :], idx], axis=1)


class Legendre(_AbstractOrthogonalPolynomials):
    """Tensor Legendre polynomials of total degree <= `degree` on the box [lower, upper]."""

    lower: Float[Array, " dim"]
    upper: Float[Array, " dim"]
    degree: int = eqx.field(static=True)

    def _basis_1d(self, t, degree):
        ps = [jnp.ones_like(t), t]
        for n in range(1, degree):  # Bonnet's recurrence (stable on [-1, 1])
            ps.append(((2 * n + 1) * t * ps[n] - n * ps[n - 1]) / (n + 1))
        return jnp.stack(ps[: degree + 1])


class Chebyshev(_AbstractOrthogonalPolynomials):
    """Tensor Chebyshev polynomials (first kind) of total degree <= `degree` on [lower, upper]."""

    lower: Float[Array, " dim"]
    upper: Float[Array, " dim"]
    degree: int = eqx.field(static=True)

    def _basis_1d(self, t, degree):
        ps = [jnp.ones_like(t), t]
        for n in range(1, degree):
            ps.append(2 * t * ps[n] - ps[n - 1])
        return jnp.stack(ps[: degree + 1])


class Fourier(AbstractDictionary):
    """Complex Fourier modes e^{i k . x / period * 2 pi}, |k_j| <= `n_modes` per axis.

    Complex features make rotations diagonal: the circle rotation by omega has EDMD matrix
    exactly diag(e^{i k omega}).
    """

    dim: int = eqx.field(static=True)
    n_modes: int = eqx.field(static=True)
    period: float = eqx.field(static=True, default=2 * np.pi)

    def wavenumbers(self) -> np.ndarray:
        r = range(-self.n_modes, self.n_modes + 1)
        return np.asarray(list(itertools.product(r, repeat=self.dim)), dtype=np.int32)

    def __call__(self, x):
        _check_point(x, self.dim)
        k = jnp.asarray(self.wavenumbers(), x.dtype)
        return jnp.exp(1j * (2 * jnp.pi / self.period) * (k @ x))


class RadialBasis(AbstractDictionary):
    """Gaussian radial basis functions exp(-|x - c|^2 / (2 width^2)), optionally with a constant."""

    centres: Float[Array, "n dim"]
    width: float | Float[Array, ""]
    constant: bool = eqx.field(static=True, default=True)

    def __call__(self, x):
        _check_point(x, self.centres.shape[1])
        f = jnp.exp(-jnp.sum((x[None] - self.centres) ** 2, -1) / (2 * self.width**2))
        return jnp.concatenate([jnp.ones((1,), f.dtype), f]) if self.constant else f


def kmeans_centres(
    points: Float[Array, "m dim"], n_centres: int, *, key: PRNGKeyArray, n_iters: int = 25
) -> Float[Array, "n_centres dim"]:
    """k-means (Lloyd) centres for `RadialBasis`, initialised from random data points."""
    points = jnp.asarray(points)
    if points.ndim != 2 or points.shape[0] < n_centres:
        raise ValueError(
            f"`points` must have shape (m >= n_centres={n_centres}, dim), got {points.shape}."
        )
    init = points[jr.choice(key, points.shape[0], (n_centres,), replace=False)]

    def body(c, _):
        d2 = jnp.sum(points**2, 1)[:, None] - 2 * points @ c.T + jnp.sum(c**2, 1)[None]
        onehot = jax.nn.one_hot(jnp.argmin(d2, 1), n_centres, dtype=points.dtype)
        counts = onehot.sum(0)
        new = (onehot.T @ points) / jnp.maximum(counts, 1)[:, None]
        return jnp.where(counts[:, None] > 0, new, c), None

    return jax.lax.scan(body, init, None, length=n_iters)[0]


class RandomFourierFeatures(AbstractDictionary):
    """sqrt(2/N) cos(W x + b): random features of the Gaussian kernel with `lengthscale`
    (Rahimi and Recht 2007)."""

    frequencies: Float[Array, "n dim"]
    phases: Float[Array, " n"]

    @classmethod
    def sample(cls, dim: int, n_features: int, lengthscale: float, *, key, dtype=float):
        k1, k2 = jr.split(key)
        w = jr.normal(k1, (n_features, dim), dtype) / lengthscale
        b = jr.uniform(k2, (n_features,), dtype, 0, 2 * jnp.pi)
        return cls(w, b)

    def __call__(self, x):
        _check_point(x, self.frequencies.shape[1])
        n = self.frequencies.shape[0]
        return jnp.sqrt(2.0 / n) * jnp.cos(self.frequencies @ x + self.phases)


class TimeDelays(AbstractDictionary):
    """Delay coordinates: applied to a Hankel row (x_t, ..., x_{t+q-1}) returns it (optionally
    with a constant), optionally composed with an inner dictionary applied to each delay."""

    delays: int = eqx.field(static=True)
    inner: AbstractDictionary | None = None
    constant: bool = eqx.field(static=True, default=False)

    def __call__(self, x):
        if x.ndim != 1 or x.shape[0] % self.delays:
            raise ValueError(f"`x` must be a Hankel row of length delays*dim, got {x.shape}.")
        rows = x.reshape(self.delays, -1)
        f = (jax.vmap(self.inner)(rows) if self.inner is not None else rows).reshape(-1)
        return jnp.concatenate([jnp.ones((1,), f.dtype), f]) if self.constant else f


class FunctionDictionary(AbstractDictionary):
    """Any user function `psi(x) -> (n_features,)`."""

    fn: Callable

    def __call__(self, x):
        out = self.fn(x)
        if jnp.ndim(out) != 1:
            raise ValueError(f"`fn` must return shape (n_features,), got {jnp.shape(out)}.")
        return out


class Identity(AbstractDictionary):
    """The state itself (DMD's dictionary), optionally with a constant."""

    constant: bool = eqx.field(static=True, default=False)

    def __call__(self, x):
        _check_point(x, None)
        return jnp.concatenate([jnp.ones((1,), x.dtype), x]) if self.constant else x


def features(dictionary: AbstractDictionary, points: Float[Array, "m dim"]) -> Array:
    """The feature matrix Psi with rows psi(x_i): `jax.vmap(dictionary)(points)`."""
    return jax.vmap(dictionary)(jnp.asarray(points))
