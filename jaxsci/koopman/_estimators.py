"""Koopman estimators (DMD, EDMD, reduced-rank regression), input validation and `fit`.

Convention (row snapshots): `Psi_X[i] = psi(x_i)`, `Psi_Y[i] = psi(y_i)` with `y_i = F(x_i)`;
the Koopman matrix K (N x N) solves `min ||W^{1/2} (Psi_X K - Psi_Y)||_F`, i.e. K = G^+ A with
G = Psi_X^* W Psi_X and A = Psi_X^* W Psi_Y (Williams, Kevrekidis, Rowley 2015, eq. 11).
An eigenpair K v = lambda v gives the eigenfunction phi(x) = psi(x) . v.
"""

import abc
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_bool, check_choice, check_int, check_optional_int
from .._precision import full_precision
from ._dictionaries import AbstractDictionary, Identity, features
from ._eig import eig, eigh, warn_if_single
from ._gram import gram_products
from ._model import AbstractKoopmanModel, KoopmanModel


class AbstractEstimator(eqx.Module):
    """Strategy object for `fit`: builds a fitted model from validated snapshot pairs."""

    @abc.abstractmethod
    def fit_pairs(self, x, y, weights) -> AbstractKoopmanModel:
        """Fit on validated `(X, Y)` with quadrature weights `weights` (shape `(m,)`)."""

    @property
    def checks_finite_products(self) -> bool:
        """True where `fit_pairs` checks finiteness on its Gram products itself, so that `fit`
        skips its own pass over the data (see `EDMD`)."""
        return False


def warn_if_underdetermined(m, n):
    if m < n:
        warnings.warn(
            f"{m} snapshots for {n} features: the least-squares problem is underdetermined and "
            "residuals on the training data collapse to zero; use more snapshots and evaluate "
            "residuals on held-out data.",
            UserWarning,
            stacklevel=4,
        )


def _state_coefficients(q, r_pinv, sw, x):
    # regress the state on the dictionary: x ~ psi(x) b, b = R^+ Q^* W^{1/2} X
    return r_pinv @ (jnp.conj(q.T) @ (sw * x.astype(q.dtype)))


def _full_model(dictionary, kmat, b):
    lam, v = eig(kmat)
    return KoopmanModel(dictionary, kmat, lam, v, jnp.linalg.solve(v, b.astype(v.dtype)))


class EDMD(AbstractEstimator):
    """Extended DMD on a dictionary (Williams, Kevrekidis, Rowley 2015, J. Nonlinear Sci.).

    **Arguments:**

    - `dictionary`: any `AbstractDictionary`.
    - `rcond`: relative cut-off for small singular values of W^{1/2} Psi_X (default N eps).
    - `method`: `"qr"` (default) solves the least-squares problem from the QR of W^{1/2} Psi_X,
      accurate to ~eps cond(Psi); `"gram"` forms G and A by matrix products (`gram_products`:
      the host BLAS on the CPU backend; the fastest path for M >> N) and is accurate only to
      ~eps cond(Psi)^2.
    - `rank`: if given, the projected (principal-component) estimator: K is restricted to the
      `rank` leading right singular vectors V_r of W^{1/2} Psi_X and the `rank` eigenpairs come
      from the small matrix V_r^* K V_r. This is the regularisation PyDMD (`svd_rank`) and
      kooplearn (principal component regression, `rank`) use.
    """

    dictionary: AbstractDictionary
    rcond: float | None = eqx.field(static=True, default=None)
    method: str = eqx.field(static=True, default="qr")
    rank: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        check_choice(self.method, "method", ("qr", "gram"), "EDMD")
        check_optional_int(self.rank, "rank", "EDMD")

    @property
    def checks_finite_products(self):
        # With the `Identity` dictionary (features given, the large-M case) the Gram products
        # read the data unchanged, and IEEE arithmetic carries every NaN or inf into them: a
        # non-finite Psi_X[m, i] makes G_ii = sum_m w_m Psi_X[m, i]^2 non-finite, and then (with
        # Psi_X finite) a non-finite Psi_Y[m, j] makes the whole column A[:, j] non-finite
        # (inf * 0 and inf - inf are NaN). So the check reads N x N numbers after the products
        # instead of a separate pass over the 2 M N inputs (0.09 s of a 0.9 s fit at M = 1e5,
        # N = 501). Other dictionaries may map inf to finite features (exp(-inf) = 0), so they
        # keep the check on the data.
        return self.method == "gram" and isinstance(self.dictionary, Identity)

    def fit_pairs(self, x, y, weights):
        psi_x, psi_y = features(self.dictionary, x), features(self.dictionary, y)
        m, n = psi_x.shape
        warn_if_underdetermined(m, n)
        if self.rank is not None and self.rank > min(m, n):
            raise ValueError(f"`rank` must be <= min(m, N) = {min(m, n)}, got {self.rank}.")
        if self.method == "gram":
            # the O(M N^2) work: host BLAS on the CPU backend, XLA elsewhere (`gram_products`)
            g, a, ax = gram_products(psi_x, psi_y, x.astype(psi_x.dtype), weights=weights)
            if self.checks_finite_products:
                ok = jnp.isfinite(jnp.diagonal(g)).all() & jnp.isfinite(a).all()
                overflow = " (or so large that their Gram products overflow)"
                g = require(g, ok, _FINITE.format("x", "y") + overflow)
            return gram_model(self.dictionary, g, a, ax, rank=self.rank, rcond=self.rcond)
        # K from the QR of W^{1/2} Psi_X rather than from G^+ A: forming G squares the condition
        # number of the dictionary, QR does not (this is what reaches 1e-10 on invariant subspaces).
        sw = jnp.sqrt(weights).astype(psi_x.dtype)[:, None]
        q, r = jnp.linalg.qr(sw * psi_x)
        c = jnp.conj(q.T) @ (sw * psi_y)
        if self.rank is None:
            r_pinv = jnp.linalg.pinv(r, rtol=self.rcond)
            return _full_model(self.dictionary, r_pinv @ c, _state_coefficients(q, r_pinv, sw, x))
        # R = P S V^*: K_r = V_r S_r^{-1} P_r^* C, and V_r^* K_r V_r = S_r^{-1} P_r^* C V_r
        p, s, vh = jnp.linalg.svd(r)
        p, s, basis = p[:, : self.rank], s[: self.rank], jnp.conj(vh[: self.rank].T)
        left = jnp.conj(p.T) / s[:, None]
        small = left @ c @ basis
        kmat = basis @ left @ c
        coeff = left @ (jnp.conj(q.T) @ (sw * x.astype(q.dtype)))
        return _reduced_model(self.dictionary, kmat, small, basis, coeff)


def gram_model(dictionary, g, a, ax, *, rank=None, rcond=None):
    """EDMD from the Gram matrices G = Psi_X^* W Psi_X, A = Psi_X^* W Psi_Y and
    Psi_X^* W X (K = G^+ A, state coefficients G^+ Psi_X^* W X), full or rank-truncated."""
    n = g.shape[0]
    evals, evecs = eigh(g)
    if rank is None:
        tol = rcond if rcond is not None else n * jnp.finfo(g.dtype).eps
        keep = evals > tol * evals[-1]
        inv = jnp.where(keep, 1 / jnp.where(keep, evals, 1), 0)
        ginv = (evecs * inv[None]) @ jnp.conj(evecs.T)
        return _full_model(dictionary, ginv @ a, ginv @ ax)
    basis, s2 = evecs[:, ::-1][:, :rank], evals[::-1][:rank]
    small = (jnp.conj(basis.T) @ a @ basis) / s2[:, None]
    kmat = basis @ small @ jnp.conj(basis.T)
    return _reduced_model(dictionary, kmat, small, basis, (jnp.conj(basis.T) @ ax) / s2[:, None])


def _reduced_model(dictionary, kmat, small, basis, coeff):
    # eigenpairs of the r x r matrix small = V_r^* K V_r lift to K (V_r u) = lambda (V_r u);
    # modes: x ~ psi(x) V_r coeff = sum_j phi_j(x) xi_j with xi = u^{-1} coeff
    lam, u = eig(small)
    vecs = basis.astype(u.dtype) @ u
    return KoopmanModel(dictionary, kmat, lam, vecs, jnp.linalg.solve(u, coeff.astype(u.dtype)))


class _Projection(AbstractDictionary):
    basis: Float[Array, "dim r"]

    def __call__(self, x):
        return x @ self.basis


class DMD(AbstractEstimator):
    """Dynamic mode decomposition with rank truncation (Schmid 2010; Tu et al. 2014, J. Comput.
    Dyn., Alg. 2).

    `exact=True` gives exact DMD modes Y V Sigma^{-1} w / lambda; `exact=False` projected modes U w.
    Eigenvalues are those of A~ = U^* Y V Sigma^{-1} in both cases.
    """

    rank: int | None = eqx.field(static=True, default=None)
    exact: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        check_optional_int(self.rank, "rank", "DMD")
        check_bool(self.exact, "exact", "DMD")

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


class ReducedRank(AbstractEstimator):
    """Reduced-rank regression on a dictionary (Kostic et al. 2022, NeurIPS, eq. 9 and Thm. 2):
    K = G_gamma^{-1/2} [[G_gamma^{-1/2} A]]_rank, the rank-truncated SVD of the whitened
    cross-covariance, with Tikhonov regularisation G_gamma = G + gamma I.

    Writing U = G_gamma^{-1/2} P_r (P_r the leading left singular vectors), K = U U^* A, and the
    `rank` eigenpairs come from the small matrix U^* A U. With
    `dictionary=nystroem_features(kernel, x, ...)` this is kernel RRR with the Nystroem option.
    """

    dictionary: AbstractDictionary
    rank: int = eqx.field(static=True)
    regularisation: float = 1e-8

    def __check_init__(self):
        check_int(self.rank, "rank", "ReducedRank")

    def fit_pairs(self, x, y, weights):
        psi_x, psi_y = features(self.dictionary, x), features(self.dictionary, y)
        if self.rank > psi_x.shape[1]:
            raise ValueError(f"`rank` must be <= N = {psi_x.shape[1]}, got {self.rank}.")
        g, a, ax = gram_products(psi_x, psi_y, x.astype(psi_x.dtype), weights=weights)
        evals, evecs = eigh(g + self.regularisation * jnp.eye(g.shape[0], dtype=g.dtype))
        isqrt = (evecs / jnp.sqrt(evals)[None]) @ jnp.conj(evecs.T)
        p = jnp.linalg.svd(isqrt @ a)[0][:, : self.rank]
        proj = isqrt @ p  # U, with U^* G_gamma U = I
        small = jnp.conj(proj.T) @ a @ proj
        lam, u = eig(small)
        vecs = proj.astype(u.dtype) @ u
        # modes: G_gamma-orthogonal projection of the state regression onto span(U)
        modes = jnp.linalg.solve(u, (jnp.conj(proj.T) @ ax).astype(u.dtype))
        return KoopmanModel(self.dictionary, proj @ jnp.conj(proj.T) @ a, lam, vecs, modes)


_FINITE = "`{}` and `{}` must be finite (found NaN or inf)"


def require(value, ok, msg):
    """`value`, after checking the boolean `ok`: a `ValueError` with `msg` when `ok` is concrete
    and false, an `equinox` runtime error under a trace (`jit`, `vmap`)."""
    if isinstance(ok, jax.core.Tracer):
        return eqx.error_if(value, ~ok, msg)
    if not bool(ok):
        raise ValueError(msg)
    return value


def validate_pairs(x, y, weights=None, *, names=("x", "y"), finite=True):
    """Checks shapes, dtypes and (if `finite`) finiteness of snapshot pairs; returns arrays and
    weights.

    Non-finite data raise a `ValueError` eagerly and an `equinox` runtime error under `jit`.
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    nx, ny = names
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"`{nx}` and `{ny}` must be 2-d (m, dim), got {x.shape} and {y.shape}.")
    if x.shape != y.shape:
        raise ValueError(
            f"`{nx}` and `{ny}` must have the same shape, got {x.shape} and {y.shape}."
        )
    for name, arr in ((nx, x), (ny, y)):
        if not jnp.issubdtype(arr.dtype, jnp.floating):
            raise TypeError(f"`{name}` must be floating point, got {arr.dtype}.")
    m = x.shape[0]
    if weights is None:
        weights = jnp.full((m,), 1.0 / m, x.dtype)  # Monte Carlo quadrature
    weights = jnp.asarray(weights, x.dtype)
    if weights.shape != (m,):
        raise ValueError(f"`weights` must have shape ({m},), got {weights.shape}.")
    if finite:
        # attached to the (m,) weights, which every estimator reads before its host
        # eigensolver: attached to `x` it would copy the (m, dim) data through the check
        ok = jnp.isfinite(x).all() & jnp.isfinite(y).all()
        weights = require(weights, ok, _FINITE.format(nx, ny) + ".")
    warn_if_single(x, nx)
    return x, y, weights


@full_precision
def fit(
    estimator: AbstractEstimator,
    x: Float[Array, "m dim"],
    y: Float[Array, "m dim"],
    *,
    weights: Float[Array, " m"] | None = None,
) -> AbstractKoopmanModel:
    """Fit a Koopman model to snapshot pairs: the one entry point of `jaxsci.koopman`.

    **Arguments:**

    - `estimator`: `DMD`, `EDMD`, `KernelEDMD`, `ReducedRank`, `MPEDMD` (discrete time) or
      `GeneratorEDMD` (continuous time).
    - `x`, `y`: snapshots `(m, dim)` with `y[i]` one step after `x[i]`; for `GeneratorEDMD`,
      `y[i]` is the time derivative (drift) at `x[i]`.
    - `weights`: quadrature weights `(m,)`; Monte Carlo `1/m` by default.

    **Returns:** a `KoopmanModel` (`MPEDMDModel`, `GeneratorModel` for those estimators).
    Float64 input is expected (float32 warns). Works under `eqx.filter_jit` and `jax.vmap`
    (e.g. over seeds), and differentiable through `eig` (distinct eigenvalues; see `eig`).
    Non-finite data are checked on the device before the host eigensolver runs (by the
    estimator on its Gram products where those see the data unchanged,
    `estimator.checks_finite_products`, else by a pass over the data); under
    `eqx.filter_jit` the check's message is the error raised, under plain `jax.jit` JAX wraps it
    (`INTERNAL: CpuCallback error ...`, the message on its last line).
    """
    if not isinstance(estimator, AbstractEstimator):
        raise TypeError(
            f"`estimator` must be an AbstractEstimator, got {type(estimator).__name__}."
        )
    x, y, weights = validate_pairs(x, y, weights, finite=not estimator.checks_finite_products)
    return estimator.fit_pairs(x, y, weights)
