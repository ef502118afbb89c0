"""Kernel EDMD (full Gram and Nystroem) and the kernels it uses."""

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, check_optional_int
from ._dictionaries import AbstractDictionary
from ._eig import eig
from ._estimators import EDMD, AbstractEstimator, gram_model, warn_if_underdetermined
from ._gram import gram_products
from ._model import KoopmanModel


class AbstractKernel(eqx.Module):
    """A positive-definite kernel k(a, b) evaluated at one pair of points."""

    @abc.abstractmethod
    def __call__(self, a: Float[Array, " dim"], b: Float[Array, " dim"]) -> Float[Array, ""]:
        """k(a, b)."""

    def gram(self, a: Float[Array, "m dim"], b: Float[Array, "n dim"]) -> Float[Array, "m n"]:
        """The matrix k(a_i, b_j)."""
        return jax.vmap(lambda p: jax.vmap(lambda q: self(p, q))(b))(a)


class GaussianKernel(AbstractKernel):
    """k(a, b) = exp(-|a - b|^2 / (2 lengthscale^2)) (scikit-learn's `RBF(lengthscale)`)."""

    lengthscale: float | Float[Array, ""]

    def __call__(self, a, b):
        return jnp.exp(-jnp.sum((a - b) ** 2) / (2 * self.lengthscale**2))


class PolynomialKernel(AbstractKernel):
    """k(a, b) = (offset + a . b)^degree; its native space: the polynomials of degree <= degree."""

    degree: int = eqx.field(static=True)
    offset: float | Float[Array, ""] = 1.0

    def __call__(self, a, b):
        return (self.offset + jnp.dot(a, b)) ** self.degree


def gaussian_kernel(lengthscale: float) -> GaussianKernel:
    """Shorthand for `GaussianKernel(lengthscale)`."""
    return GaussianKernel(lengthscale)


def polynomial_kernel(degree: int, offset: float = 1.0) -> PolynomialKernel:
    """Shorthand for `PolynomialKernel(degree, offset)`."""
    return PolynomialKernel(degree, offset)


class KernelFeatures(AbstractDictionary):
    """psi(x) = k(x, centres) @ projection: the implicit dictionary of kernel EDMD / Nystroem."""

    kernel: AbstractKernel
    centres: Float[Array, "m dim"]
    projection: Float[Array, "m r"]

    def __call__(self, x):
        return jax.vmap(lambda c: self.kernel(x, c))(self.centres) @ self.projection


def _top_eigh(matrix, rank):
    s2, q = jnp.linalg.eigh(matrix)
    s2, q = s2[::-1][:rank], q[:, ::-1][:, :rank]
    # eigenvalues below rounding of the Gram matrix carry no information; clamping keeps the
    # division finite (choose `rank` below the numerical rank to avoid amplifying noise)
    return jnp.maximum(s2, jnp.finfo(s2.dtype).eps * s2[0]), q


def nystroem_features(
    kernel: AbstractKernel, x: Float[Array, "m dim"], *, n_landmarks: int, rank: int
) -> KernelFeatures:
    """The Nystroem dictionary psi(x) = k(x, L) Q_L Lambda_L^{-1/2} on `n_landmarks` landmarks L
    (a strided subset of `x`; K_LL = Q_L Lambda_L Q_L^T, top `rank` pairs), whose Gram matrix
    approximates the kernel's (Williams and Seeger 2001). Use it with `EDMD` or `ReducedRank`
    (kernel reduced-rank regression with the Nystroem option, Meanti et al. 2023).
    """
    m = x.shape[0]
    if not (0 < rank <= n_landmarks <= m):
        raise ValueError(
            f"need 0 < rank <= n_landmarks <= m; got rank={rank}, n_landmarks={n_landmarks}, m={m}."
        )
    landmarks = x[:: max(1, m // n_landmarks)][:n_landmarks]
    s2, q = _top_eigh(kernel.gram(landmarks, landmarks), rank)
    return KernelFeatures(kernel, landmarks, q / jnp.sqrt(s2)[None])


class KernelEDMD(AbstractEstimator):
    """Kernel EDMD (Williams, Rowley, Kevrekidis 2015, J. Comput. Dyn., Sec. 3 and Alg. 1).

    With the weighted Gram matrix W^{1/2} K_XX W^{1/2} = Q Sigma^2 Q^T (top `rank` pairs), the
    Koopman matrix is K = Sigma^{-1} Q^T (W^{1/2} K_YX W^{1/2}) Q Sigma^{-1}, (K_YX)_ij =
    k(y_i, x_j): EDMD on the implicit dictionary psi(x) = k(x, X) W^{1/2} Q Sigma^{-1}, in which
    G = Sigma^2. Cost O(M^2 (dim + rank)) and O(M^2) memory.

    With `n_landmarks`, the Nystroem dictionary psi(x) = k(x, L) Q_L Lambda_L^{-1/2} on
    `n_landmarks` landmark points L (a strided subset of X; K_LL = Q_L Lambda_L Q_L^T, top `rank`
    pairs) is used with `EDMD(method=method)` instead: O(M n_landmarks (dim + rank)), no M x M
    matrix.

    **Arguments:** `kernel` (an `AbstractKernel`), `rank`, `n_landmarks` (optional),
    `method` (`"qr"` or `"gram"`, Nystroem only).
    """

    kernel: AbstractKernel
    rank: int = eqx.field(static=True)
    n_landmarks: int | None = eqx.field(static=True, default=None)
    method: str = eqx.field(static=True, default="qr")

    def __check_init__(self):
        if not isinstance(self.kernel, AbstractKernel):
            raise TypeError(
                f"`kernel` must be an AbstractKernel, got {type(self.kernel).__name__}."
            )
        check_int(self.rank, "rank", "KernelEDMD")
        check_optional_int(self.n_landmarks, "n_landmarks", "KernelEDMD")
        check_choice(self.method, "method", ("qr", "gram"), "KernelEDMD")

    def fit_pairs(self, x, y, weights):
        m = x.shape[0]
        if self.n_landmarks is not None:
            dictionary = nystroem_features(
                self.kernel, x, n_landmarks=self.n_landmarks, rank=self.rank
            )
            landmarks, projection = dictionary.centres, dictionary.projection
            if self.method == "qr":
                return EDMD(dictionary, method="qr").fit_pairs(x, y, weights)
            # Gram route without forming the M x rank features: G = P^T (K_XL^T W K_XL) P etc.,
            # two M x n_landmarks^2 products instead of four
            warn_if_underdetermined(m, self.rank)
            kxl, kyl = self.kernel.gram(x, landmarks), self.kernel.gram(y, landmarks)
            gl, al, axl = gram_products(kxl, kyl, x.astype(kxl.dtype), weights=weights)
            g = projection.T @ gl @ projection
            a = projection.T @ al @ projection
            ax = projection.T @ axl
            return gram_model(dictionary, g, a, ax)
        if self.rank > m:
            raise ValueError(f"`rank` must be <= m = {m}, got {self.rank}.")
        warn_if_underdetermined(m, self.rank)
        sw = jnp.sqrt(weights).astype(x.dtype)
        kxx = sw[:, None] * self.kernel.gram(x, x) * sw[None, :]
        s2, q = _top_eigh(kxx, self.rank)
        s = jnp.sqrt(s2)
        kyx = sw[:, None] * self.kernel.gram(y, x) * sw[None, :]
        kmat = (q.T @ kyx @ q) / s[:, None] / s[None, :]
        coeff = (q.T @ (sw[:, None] * x)) / s[:, None]  # x ~ psi(x) coeff
        lam, v = eig(kmat)
        dictionary = KernelFeatures(self.kernel, x, sw[:, None] * q / s[None])
        return KoopmanModel(dictionary, kmat, lam, v, jnp.linalg.solve(v, coeff.astype(v.dtype)))
