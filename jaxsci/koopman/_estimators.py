"""Koopman estimators (DMD, EDMD, kernel EDMD, reduced-rank regression) and `fit`.

Convention (row snapshots): `Psi_X[i] = psi(x_i)`, `Psi_Y[i] = psi(y_i)` with `y_i = F(x_i)`;
the Koopman matrix K (N x N) solves `min ||W^{1/2} (Psi_X K - Psi_Y)||_F`, i.e. K = G^+ A with
G = Psi_X^* W Psi_X and A = Psi_X^* W Psi_Y (Williams, Kevrekidis, Rowley 2015, eq. 11).
An eigenpair K v = lambda v gives the eigenfunction phi(x) = psi(x) . v.
"""

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float, Inexact

from ._dictionaries import AbstractDictionary, features
from ._eig import eig, warn_if_single


class KoopmanModel(eqx.Module):
    """A fitted Koopman model: matrix, eigenvalues, eigenvectors (in feature coordinates), modes.

    - `eigenfunctions(x)`: phi_j(x) = psi(x) . v_j at one point (vmap outside).
    - `predict(x0, n_steps)`: x_n ~ Re sum_j lambda_j^n phi_j(x0) xi_j.
    """

    dictionary: AbstractDictionary
    matrix: Inexact[Array, "n n"]
    eigenvalues: Complex[Array, " r"]
    eigenvectors: Complex[Array, "n r"]
    modes: Complex[Array, "r dim"]

    def eigenfunctions(self, x: Float[Array, " dim"]) -> Complex[Array, " r"]:
        return self.dictionary(x).astype(self.eigenvectors.dtype) @ self.eigenvectors

    def predict(self, x0: Float[Array, " dim"], n_steps: int) -> Float[Array, "n_steps+1 dim"]:
        """Forecast from one new initial state (vmap outside for many)."""
        phi = self.eigenfunctions(x0)
        powers = self.eigenvalues[None, :] ** jnp.arange(n_steps + 1)[:, None]
        return jnp.real((powers * phi[None]) @ self.modes)


class AbstractEstimator(eqx.Module):
    """Strategy object for `fit`: builds a `KoopmanModel` from snapshot pairs."""

    @abc.abstractmethod
    def fit_pairs(self, x, y, weights) -> KoopmanModel:
        """Fit on validated `(X, Y)` with quadrature weights `weights` (shape `(m,)`)."""


def _lstsq_koopman(psi_x, psi_y, weights, rcond):
    # K from the QR of W^{1/2} Psi_X rather than from G^{-1} A: forming G squares the condition
    # number of the dictionary, QR does not (this is what reaches 1e-10 on invariant subspaces).
    sw = jnp.sqrt(weights).astype(psi_x.dtype)[:, None]
    q, r = jnp.linalg.qr(sw * psi_x)
    rhs = jnp.conj(q.T) @ (sw * psi_y)
    return jnp.linalg.pinv(r, rtol=rcond) @ rhs, q, r, sw


def _eigen_model(dictionary, kmat, q, r, sw, x, rcond):
    lam, v = eig(kmat)
    # modes: regress the state on the dictionary, then rotate into the eigenbasis
    b = jnp.linalg.pinv(r, rtol=rcond) @ (jnp.conj(q.T) @ (sw * x.astype(q.dtype)))
    modes = jnp.linalg.solve(v, b.astype(v.dtype))
    return KoopmanModel(dictionary, kmat, lam, v, modes)


class EDMD(AbstractEstimator):
    """Extended DMD on a dictionary (Williams, Kevrekidis, Rowley 2015).

    `method="qr"` (default) solves the least-squares problem from the QR of W^{1/2} Psi_X
    (accurate to ~eps cond(Psi)); `method="gram"` forms G and A by matrix products (the fastest
    path for M >> N, one GEMM) and uses the eigendecomposition pseudo-inverse of G, accurate only
    to ~eps cond(Psi)^2.
    """

    dictionary: AbstractDictionary
    rcond: float | None = eqx.field(static=True, default=None)
    method: str = eqx.field(static=True, default="qr")

    def __check_init__(self):
        if self.method not in ("qr", "gram"):
            raise ValueError(f"`method` must be 'qr' or 'gram', got {self.method!r}.")

    def fit_pairs(self, x, y, weights):
        psi_x, psi_y = features(self.dictionary, x), features(self.dictionary, y)
        if psi_x.shape[0] < psi_x.shape[1]:
            import warnings

            warnings.warn(
                f"{psi_x.shape[0]} snapshots for {psi_x.shape[1]} features: the least-squares "
                "problem is underdetermined and residuals on the training data collapse to zero; "
                "use more snapshots and evaluate residuals on held-out data.",
                UserWarning,
                stacklevel=3,
            )
        if self.method == "gram":
            w = weights.astype(psi_x.dtype)[:, None]
            g = jnp.conj(psi_x.T) @ (w * psi_x)
            a = jnp.conj(psi_x.T) @ (w * jnp.concatenate([psi_y, x.astype(psi_x.dtype)], 1))
            ginv = jnp.linalg.pinv(g, rtol=self.rcond, hermitian=True)
            kb = ginv @ a
            n = psi_x.shape[1]
            kmat, b = kb[:, :n], kb[:, n:]
            lam, v = eig(kmat)
            modes = jnp.linalg.solve(v, b.astype(v.dtype))
            return KoopmanModel(self.dictionary, kmat, lam, v, modes)
        kmat, q, r, sw = _lstsq_koopman(psi_x, psi_y, weights, self.rcond)
        return _eigen_model(self.dictionary, kmat, q, r, sw, x, self.rcond)


class _Projection(AbstractDictionary):
    basis: Float[Array, "dim r"]

    def __call__(self, x):
        return x @ self.basis


class DMD(AbstractEstimator):
    """Dynamic mode decomposition with rank truncation (Schmid 2010; Tu et al. 2014).

    `exact=True` gives exact DMD modes Y V Sigma^{-1} w / lambda; `exact=False` projected modes U w.
    Eigenvalues are those of A~ = U^* Y V Sigma^{-1} in both cases.
    """

    rank: int | None = eqx.field(static=True, default=None)
    exact: bool = eqx.field(static=True, default=True)

    def fit_pairs(self, x, y, weights):
        sw = jnp.sqrt(weights).astype(x.dtype)[:, None]
        xc, yc = (sw * x).T, (sw * y).T  # columns are snapshots
        u, s, vh = jnp.linalg.svd(xc, full_matrices=False)
        r = s.shape[0] if self.rank is None else self.rank
        u, s, vh = u[:, :r], s[:r], vh[:r]
        atilde = jnp.conj(u.T) @ yc @ jnp.conj(vh.T) / s[None, :]
        lam, w = eig(atilde)
        if self.exact:
            modes = (yc @ jnp.conj(vh.T) / s[None, :]).astype(w.dtype) @ w / lam[None, :]
        else:
            modes = u.astype(w.dtype) @ w
        # features psi(x) = x U; K (row convention) = A~^T, eigenvectors = rows of w^{-1}
        left = jnp.linalg.inv(w).T
        return KoopmanModel(_Projection(jnp.conj(u)), atilde.T, lam, left, modes.T)


def gaussian_kernel(lengthscale: float) -> Callable:
    """k(x, y) = exp(-|x - y|^2 / (2 lengthscale^2)) at one pair of points."""
    return lambda a, b: jnp.exp(-jnp.sum((a - b) ** 2) / (2 * lengthscale**2))


def polynomial_kernel(degree: int, offset: float = 1.0) -> Callable:
    """k(x, y) = (offset + x . y)^degree: its native space is the polynomials of degree <= degree."""
    return lambda a, b: (offset + jnp.dot(a, b)) ** degree


def _gram(kernel, a, b):
    return jax.vmap(lambda p: jax.vmap(lambda q: kernel(p, q))(b))(a)


class KernelFeatures(AbstractDictionary):
    """psi(x) = k(x, centres) @ projection: the implicit dictionary of kernel EDMD / Nystroem."""

    kernel: Callable
    centres: Float[Array, "m dim"]
    projection: Float[Array, "m r"]

    def __call__(self, x):
        return jax.vmap(lambda c: self.kernel(x, c))(self.centres) @ self.projection


class KernelEDMD(AbstractEstimator):
    """Kernel EDMD (Williams, Rowley, Kevrekidis 2015, J. Comput. Dyn., Alg. 1).

    With K_XX = Q Sigma^2 Q^T (rank r), K_hat = (Sigma^+ Q^T) K_YX (Q Sigma^+), which is EDMD on
    the implicit dictionary psi(x) = k(x, X) Q Sigma^+. With `n_landmarks`, the Nystroem
    dictionary psi(x) = k(x, L) K_LL^{-1/2} on landmark points L (a strided subset) is used
    instead, costing O(M m^2) rather than O(M^2 r).
    """

    kernel: Callable
    rank: int = eqx.field(static=True)
    n_landmarks: int | None = eqx.field(static=True, default=None)

    def _dictionary(self, x):
        if self.n_landmarks is None:
            kxx = _gram(self.kernel, x, x)
            s2, qm = jnp.linalg.eigh(kxx)
            s2, qm = s2[::-1][: self.rank], qm[:, ::-1][:, : self.rank]
            return KernelFeatures(self.kernel, x, qm / jnp.sqrt(jnp.maximum(s2, 1e-300)))
        landmarks = x[:: max(1, x.shape[0] // self.n_landmarks)][: self.n_landmarks]
        s2, qm = jnp.linalg.eigh(_gram(self.kernel, landmarks, landmarks))
        s2, qm = s2[::-1][: self.rank], qm[:, ::-1][:, : self.rank]
        return KernelFeatures(self.kernel, landmarks, qm / jnp.sqrt(jnp.maximum(s2, 1e-300)))

    def fit_pairs(self, x, y, weights):
        return EDMD(self._dictionary(x), method="gram").fit_pairs(x, y, weights)


class ReducedRank(AbstractEstimator):
    """Reduced-rank regression on a dictionary (Kostic et al. 2022, NeurIPS, eq. 9):
    K = G_gamma^{-1/2} [[G_gamma^{-1/2} A]]_rank, the rank-truncated SVD of the whitened
    cross-covariance, with Tikhonov regularisation G_gamma = G + gamma I. Use `KernelEDMD`'s
    Nystroem `KernelFeatures` as `dictionary` for kernel RRR with the Nystroem option."""

    dictionary: AbstractDictionary
    rank: int = eqx.field(static=True)
    regularisation: float = 1e-8

    def fit_pairs(self, x, y, weights):
        psi_x, psi_y = features(self.dictionary, x), features(self.dictionary, y)
        w = weights.astype(psi_x.dtype)[:, None]
        g = jnp.conj(psi_x.T) @ (w * psi_x)
        a = jnp.conj(psi_x.T) @ (w * psi_y)
        evals, evecs = jnp.linalg.eigh(g + self.regularisation * jnp.eye(g.shape[0], dtype=g.dtype))
        isqrt = (evecs / jnp.sqrt(evals)[None]) @ jnp.conj(evecs.T)
        u, s, vh = jnp.linalg.svd(isqrt @ a)
        kmat = isqrt @ (u[:, : self.rank] * s[None, : self.rank]) @ vh[: self.rank]
        sw = jnp.sqrt(weights).astype(psi_x.dtype)[:, None]
        q, r = jnp.linalg.qr(sw * psi_x)
        return _eigen_model(self.dictionary, kmat, q, r, sw, x, None)


def validate_pairs(x, y, weights=None, *, names=("x", "y")):
    """Checks shapes, dtypes and finiteness of snapshot pairs; returns arrays and weights."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"`{names[0]}` and `{names[1]}` must be 2-d (m, dim), got {x.shape} and {y.shape}.")
    if x.shape != y.shape:
        raise ValueError(f"`{names[0]}` and `{names[1]}` must have the same shape, got {x.shape} and {y.shape}.")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"`{names[0]}` must be floating point, got {x.dtype}.")
    if not isinstance(x, jax.core.Tracer) and not isinstance(y, jax.core.Tracer):
        if not (bool(jnp.isfinite(x).all()) and bool(jnp.isfinite(y).all())):
            raise ValueError(f"`{names[0]}` and `{names[1]}` must be finite (found NaN or inf).")
    m = x.shape[0]
    if weights is None:
        weights = jnp.full((m,), 1.0 / m, x.dtype)  # Monte Carlo quadrature
    weights = jnp.asarray(weights, x.dtype)
    if weights.shape != (m,):
        raise ValueError(f"`weights` must have shape ({m},), got {weights.shape}.")
    warn_if_single(x, names[0])
    return x, y, weights


def fit(
    estimator: AbstractEstimator,
    x: Float[Array, "m dim"],
    y: Float[Array, "m dim"],
    *,
    weights: Float[Array, " m"] | None = None,
) -> KoopmanModel:
    """Fit a Koopman model to snapshot pairs: the one entry point of `jaxsci.koopman`.

    **Arguments:**

    - `estimator`: `DMD`, `EDMD`, `KernelEDMD` or `ReducedRank`.
    - `x`, `y`: snapshots `(m, dim)` with `y[i]` one step after `x[i]`.
    - `weights`: quadrature weights `(m,)`; Monte Carlo `1/m` by default.

    **Returns:** a `KoopmanModel`. Float64 input is expected (float32 warns). Works under
    `eqx.filter_jit`; not differentiable (the eigenproblem runs on the host).
    """
    if not isinstance(estimator, AbstractEstimator):
        raise TypeError(f"`estimator` must be an AbstractEstimator, got {type(estimator).__name__}.")
    x, y, weights = validate_pairs(x, y, weights)
    return estimator.fit_pairs(x, y, weights)


